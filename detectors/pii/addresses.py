"""Postal addresses: English street addresses and Chinese addresses down to the street number.

An English street address is a house number, one to four capitalised name words (or an ordinal)
and a street type of the USPS list (``Street``, ``Ave``, ``Village``, ``Walks``...), then optionally
a unit (``Apt 4``, ``Suite 690``) and a town with a state and ZIP code (``, Adamsbury, OR 13900``).
Post-office boxes and US military addresses (``PSC 1234, Box 5678, APO AE 12345``) count too. A
number that reads as a year ("in 1861 Lincoln Park") does not start one.

A Chinese address is a chain of administrative units (省, 自治区, 市, 州, 区, 县, 旗, 镇, 乡,
街道), a street (路, 街, 大道, 巷, 弄, 胡同) and a number (``88号``), or a building (``B座``,
``3号楼2单元501室``) and an optional postcode. Names of units never hold the words that lead
into an address (在, 住, 寄到, 地址), so the match starts where the address does. A bare chain of
units without a street is a place, which NER reports as ``LOCATION``.
"""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

from detectors.pii.recognizers import ContextWords

STREET_TYPES = [
    "Alley",
    "Aly",
    "Annex",
    "Anx",
    "Arcade",
    "Arc",
    "Avenue",
    "Ave",
    "Av",
    "Bayou",
    "Beach",
    "Bend",
    "Bluffs?",
    "Bottom",
    "Boulevard",
    "Blvd",
    "Branch",
    "Bridge",
    "Brg",
    "Brooks?",
    "Burgs?",
    "Bypass",
    "Camp",
    "Canyon",
    "Cape",
    "Causeway",
    "Centers?",
    "Ctr",
    "Circles?",
    "Cir",
    "Cliffs?",
    "Close",
    "Club",
    "Commons?",
    "Corners?",
    "Course",
    "Courts?",
    "Ct",
    "Coves?",
    "Creek",
    "Crescent",
    "Cres",
    "Crest",
    "Crossing",
    "Xing",
    "Crossroads?",
    "Curve",
    "Dale",
    "Dam",
    "Divide",
    "Drives?",
    "Dr",
    "Estates?",
    "Expressway",
    "Expy",
    "Extensions?",
    "Ext",
    "Falls?",
    "Ferry",
    "Fields?",
    "Flats?",
    "Fords?",
    "Forest",
    "Forges?",
    "Forks?",
    "Fort",
    "Freeway",
    "Fwy",
    "Gardens?",
    "Gateway",
    "Glens?",
    "Greens?",
    "Groves?",
    "Harbors?",
    "Haven",
    "Heights",
    "Hts",
    "Highway",
    "Hwy",
    "Hills?",
    "Hollow",
    "Inlet",
    "Islands?",
    "Isle",
    "Junctions?",
    "Keys?",
    "Knolls?",
    "Lakes?",
    "Land",
    "Landing",
    "Lane",
    "Ln",
    "Lights?",
    "Loaf",
    "Locks?",
    "Lodge",
    "Loop",
    "Mall",
    "Manors?",
    "Meadows?",
    "Mews",
    "Mills?",
    "Mission",
    "Motorway",
    "Mount",
    "Mountains?",
    "Neck",
    "Orchard",
    "Oval",
    "Overpass",
    "Parks?",
    "Parkways?",
    "Pkwy",
    "Pass",
    "Passage",
    "Path",
    "Pike",
    "Pines?",
    "Place",
    "Pl",
    "Plains?",
    "Plaza",
    "Plz",
    "Points?",
    "Pt",
    "Ports?",
    "Prairie",
    "Radial",
    "Ramp",
    "Ranch",
    "Rapids?",
    "Rest",
    "Ridges?",
    "River",
    "Roads?",
    "Rd",
    "Route",
    "Rte",
    "Row",
    "Rue",
    "Run",
    "Shoals?",
    "Shores?",
    "Skyway",
    "Springs?",
    "Spurs?",
    "Squares?",
    "Sq",
    "Station",
    "Stravenue",
    "Stream",
    "Streets?",
    "St",
    "Summit",
    "Terrace",
    "Ter",
    "Throughway",
    "Trace",
    "Track",
    "Trafficway",
    "Trail",
    "Trl",
    "Trailer",
    "Tunnel",
    "Turnpike",
    "Underpass",
    "Unions?",
    "Valleys?",
    "Viaduct",
    "Views?",
    "Villages?",
    "Ville",
    "Vista",
    "Walks?",
    "Wall",
    "Ways?",
    "Wells?",
]
"""Street types (USPS Publication 28, Appendix C1, and British ones), plurals as ``s?``."""

_NAME_WORD = r"(?-i:[A-Z][A-Za-z'’-]*\.?|\d{1,3}(?:st|nd|rd|th))"
_DIRECTION = r"(?-i:(?:North|South|East|West|[NSEW]|NE|NW|SE|SW)\.?)"
_STREET_TYPE = r"(?-i:(?:" + "|".join(STREET_TYPES) + r")\b\.?)"
_UNIT = (
    r"(?:,?\s(?-i:Apt\.?|Apartment|Suite|Ste\.?|Unit|Floor|Fl\.?|Room|Rm\.?|Flat|\#)\s?\#?[A-Za-z0-9-]{1,6})"
)
_TOWN = r"(?-i:[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2})"
_STATE_ZIP = r"(?-i:[A-Z]{2})\s\d{5}(?:-\d{4})?"
_NOT_A_YEAR = r"(?<!\b(?:in|since|by|until|during|before|after|year|years|of|between|circa|c\.)\s)"
_HOUSE = _NOT_A_YEAR + r"\b\d{1,6}[A-Za-z]?(?:-\d{1,5})?"
_STREET = (
    rf"{_HOUSE}\s(?:{_DIRECTION}\s)?(?:{_NAME_WORD}\s){{1,4}}{_STREET_TYPE}"
    rf"(?:\s{_DIRECTION}(?![a-z]))?{_UNIT}?"
)
_MILITARY = (
    r"(?-i:(?:USNS|USNV|USS|USCGC)\s[A-Z][a-z]+|PSC\s\d{4},\sBox\s\d{4}|Unit\s\d{4}\sBox\s\d{4})"
    r",?\s(?-i:[AFD]PO\sA[AEP])\s\d{5}"
)
_PO_BOX = r"\b(?-i:P\.?\s?O\.?\s?Box|Post\sOffice\sBox)\s\d{1,6}"

# Chinese: a name part never holds the characters that lead into an address.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
"""Han characters as ranges: under the ASCII flag every pattern runs with, ``\\p{Han}`` matches none."""
_ZH_NAME = rf"(?:(?![在住是的到于我你他她们寄送从往及或请把去来给为了就也都还要址位处此该])[{_HAN}])"
_ZH_NUMBER = r"(?:\d{1,5}|[一二三四五六七八九十百零〇]{1,5})"
_ZH_UNITS = (
    rf"(?:{_ZH_NAME}{{2,7}}?(?:省|自治区|特别行政区)|北京|上海|天津|重庆)?"
    rf"(?:{_ZH_NAME}{{1,7}}?(?:市|自治州|州|盟|地区|区|县|旗|镇|乡|街道)){{0,4}}"
)
_ZH_STREET = rf"{_ZH_NAME}{{1,10}}?(?:大道|大街|路|街|巷|弄|胡同|道)(?:[东西南北中]段)?"
_ZH_PLACE = (
    rf"(?:{_ZH_NUMBER}(?:-\d{{1,4}})?号(?:院)?|[A-Za-z\d]{{1,4}}座)"
    rf"(?:{_ZH_NUMBER}(?:号楼|栋|幢|座|单元|层|楼|室|号)|[A-Za-z]座){{0,4}}"
)
_ZH_POSTCODE = r"(?:\s?\d{6}(?!\d))?"


class StreetAddressRecognizer(ContextWords, PatternRecognizer):
    """English street, box and military addresses; with a town, state and ZIP code scored higher."""

    negative_context: ClassVar[list[str]] = []
    CONTEXT: ClassVar[list[str]] = [
        "address", "live at", "lives at", "located at", "ship to", "deliver", "mail", "residence", "reside",
        "home", "office", "street", "地址", "住址",
    ]  # fmt: skip

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            patterns=[
                Pattern("street, town, state and ZIP", rf"{_STREET},?\s{{1,2}}{_TOWN},\s{_STATE_ZIP}\b", 0.9),
                Pattern(
                    "military or box, town",
                    rf"(?:{_MILITARY}|{_PO_BOX}(?:,?\s{_TOWN},\s{_STATE_ZIP})?)\b",
                    0.85,
                ),
                Pattern("street", _STREET, 0.7),
            ],
            context=self.CONTEXT,
            supported_language=supported_language,
        )


class CnAddressRecognizer(ContextWords, PatternRecognizer):
    """Chinese addresses from the administrative units to the number or building."""

    negative_context: ClassVar[list[str]] = []
    CONTEXT: ClassVar[list[str]] = ["地址", "住址", "住在", "位于", "寄到", "送到", "收货", "address"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            patterns=[
                Pattern(
                    "units, street and number", rf"{_ZH_UNITS}{_ZH_STREET}{_ZH_PLACE}{_ZH_POSTCODE}", 0.85
                ),
            ],
            context=self.CONTEXT,
            supported_language=supported_language,
        )

    def validate_result(self, pattern_text: str) -> bool:
        """A street and number alone is enough; an empty street name ("路1号") is not."""
        return len(pattern_text) >= 5
