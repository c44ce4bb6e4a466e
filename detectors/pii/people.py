"""Titles with a name, and dates of birth: what a sentence says about a person, found by its words.

A title (``Mr``, ``Dr.``, ``Prof``; ``先生``, ``女士``, ``老师`` after a surname) is a ``TITLE`` only
when a name goes with it, and the name after an English title (or the surname before a Chinese one)
is a ``PERSON`` at a lower score than NER's, so the model's own span wins where it has one; so is
the capitalised name a greeting or sign-off addresses ("Dear Ann", "Thanks, Tom").

A date is a ``DATE_OF_BIRTH`` when a birth word leads into it ("born on", "DOB:", "date of birth",
"出生于", "出生日期", "生日") or, in Chinese, follows it (``1990年5月3日出生``); any other date is
left to NER and Presidio's numeric date patterns as ``DATE_TIME``.
"""

from __future__ import annotations

from typing import ClassVar

import regex
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import DateRecognizer

from detectors.pii.recognizers import ContextWords

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
DATE = (
    rf"(?:{_YEAR}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
    rf"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:{_YEAR}|\d\d)"
    rf"|{_MONTH}\s{_DAY},?\s{_YEAR}|{_DAY}\s(?:of\s)?{_MONTH},?\s{_YEAR}|{_MONTH},?\s{_YEAR}"
    rf"|{_YEAR}\s?年\s?(?:0?[1-9]|1[0-2])\s?月(?:\s?(?:0?[1-9]|[12]\d|3[01])\s?[日号])?)(?!\d)"
)
"""A calendar date: numeric (year first or last), with an English month name, or Chinese."""
_EN_BIRTH = (
    r"\b(?:born(?:\son)?|date\sof\sbirth|birth\s?date|birthday|d\.?o\.?b\.?|b\.)"
    r"(?:\s?(?:is|was|:|-|on|in))?\s{0,2}"
)
_ZH_BIRTH_BEFORE = r"(?:出生于|出生日期|出生年月日?|出生时间|出生在|生于|生日|出生)(?:是|为|：|:)?\s?"
_ZH_BIRTH_AFTER = r"\s?(?:出生|生人|生)(?![日意物产活])"
_DOB = regex.compile(
    rf"(?:{_EN_BIRTH}|{_ZH_BIRTH_BEFORE})(?P<date>{DATE})|(?P<before>{DATE})(?={_ZH_BIRTH_AFTER})",
    regex.IGNORECASE,
)

_EN_TITLE = (
    r"(?-i:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Madam|Mme|Mlle|Rev|Fr|Hon|Capt|Col|Gen|Lt|Sgt|"
    r"Lady|Lord|Doctor|Mister|Missus)"
)
_EN_NAME_WORD = r"(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?|[A-Z]\.)"
_EN_NAME = rf"(?-i:{_EN_NAME_WORD}(?:\s{_EN_NAME_WORD}){{0,2}})"
_EN_TITLED = regex.compile(rf"\b(?P<title>{_EN_TITLE}\.?)\s(?P<name>{_EN_NAME})(?![A-Za-z])")
_EN_ADDRESSED = regex.compile(
    r"(?:^|(?<=[\s,.!(]))(?i:dear|hi|hello|hey|thanks|thank\s+you|congrats\s+to|welcome|regards,|sincerely,"
    rf"|cheers,|best,|signed,|love,)\s+(?P<name>{_EN_NAME})(?![A-Za-z])"
)
_BAIJIAXING = (
    "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马"
    "苗凤花方俞任袁柳酆鲍史唐费廉岑薛雷贺倪汤滕殷罗毕郝邬安常乐于时傅皮卞齐康伍余元卜顾孟平黄和穆萧尹姚邵湛汪"
    "祁毛禹狄米贝明臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田"
    "樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封"
    "芮羿储靳汲邴糜松井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶"
    "郜黎蓟薄印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍却璩桑桂濮牛寿通边"
    "扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚"
    "越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公"
)
"""The single surnames of the Baijiaxing."""
_WORDLIKE_SURNAMES = (
    "和家平明成常时全万文国东公后相那能通都从于应解经计空养终别双班乐史水云花山谷车干强路危支单包左吉曲羊富巴弓牧"
    "仰秋宁暴幸司印宿苍党申扶却边农温充连习艾鱼容向古易慎步居满匡广利越隆师融冷简沙须丰关查红游权盖益"
)
ZH_SURNAMES = "".join(ch for ch in _BAIJIAXING if ch not in _WORDLIKE_SURNAMES)
"""Those a title follows in a name, less the ones more often part of a word ("历史老师", "大家好")."""
_ZH_DOUBLE_SURNAMES = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|长孙|宇文|司徒|令狐"
_ZH_TITLE = r"先生|女士|小姐|太太|夫人|老师|医生|大夫|教授|律师|博士|经理|主任|同学|师傅|阿姨|叔叔"
_ZH_TITLED = regex.compile(
    rf"(?P<name>(?:{_ZH_DOUBLE_SURNAMES}|[{ZH_SURNAMES}])\p{{Han}}{{0,2}}?)(?P<title>{_ZH_TITLE}|总(?![统结共部是算体之而]))"
)


ROLE_WORDS = frozenset(
    {
        "speaker",
        "president",
        "vice president",
        "chairman",
        "chairwoman",
        "secretary",
        "sir",
        "madam",
        "chief justice",
        "justice",
        "mayor",
        "governor",
        "senator",
        "all",
        "everyone",
        "friends",
        "colleagues",
        "team",
        "customer",
        "members",
        "sir or madam",
    }
)
"""What a title or greeting addresses that is an office or a crowd, not a name."""


class _RegexRecognizer(LocalRecognizer):
    """A recogniser from one compiled pattern whose named groups are the entities."""

    SCORES: ClassVar[dict[str, tuple[str, float]]] = {}
    """Group name -> (entity type, score)."""
    PATTERN: ClassVar[regex.Pattern[str]]

    def __init__(self, supported_language: str) -> None:
        super().__init__(
            supported_entities=sorted({kind for kind, _ in self.SCORES.values()}),
            supported_language=supported_language,
        )

    def load(self) -> None:
        """Nothing to load: the pattern is compiled with the module."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for match in self.PATTERN.finditer(text):
            if "name" in self.SCORES and match.group("name").lower() in ROLE_WORDS:
                continue  # "Mr. Speaker", "Dear Sir", "Mr. Vice President"
            for group, (kind, score) in self.SCORES.items():
                if match.group(group) is not None and kind in entities:
                    results.append(
                        RecognizerResult(
                            kind,
                            match.start(group),
                            match.end(group),
                            score,
                            recognition_metadata={
                                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                            },
                        )
                    )
        return results


class DateOfBirthRecognizer(_RegexRecognizer):
    """Dates a birth word leads into or, in Chinese, follows; above NER's score, so they win."""

    SCORES: ClassVar[dict[str, tuple[str, float]]] = {
        "date": ("DATE_OF_BIRTH", 0.95),
        "before": ("DATE_OF_BIRTH", 0.95),
    }
    PATTERN = _DOB


class EnglishTitleRecognizer(_RegexRecognizer):
    """``Mr``/``Dr.``/``Prof`` before a capitalised name: the title, and the name below NER's score."""

    SCORES: ClassVar[dict[str, tuple[str, float]]] = {"title": ("TITLE", 0.85), "name": ("PERSON", 0.6)}
    PATTERN = _EN_TITLED


class AddressedNameRecognizer(_RegexRecognizer):
    """The capitalised name a greeting or sign-off addresses ("Dear Ann,", "Regards,\\nTom Lee"),
    below NER's score."""

    SCORES: ClassVar[dict[str, tuple[str, float]]] = {"name": ("PERSON", 0.6)}
    PATTERN = _EN_ADDRESSED


class ChineseTitleRecognizer(_RegexRecognizer):
    """A surname (and up to two more characters) before ``先生``, ``女士``, ``老师``...: both parts."""

    SCORES: ClassVar[dict[str, tuple[str, float]]] = {"title": ("TITLE", 0.85), "name": ("PERSON", 0.6)}
    PATTERN = _ZH_TITLED


class DatePatternRecognizer(ContextWords, DateRecognizer):
    """Presidio's numeric date patterns (``2021-03-04``, ``04/03/2021``, ``4-Mar-21``) as ``DATE_TIME``,
    for the dates an NER model leaves out; no number context lowers them."""

    negative_context: ClassVar[list[str]] = []

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_language=supported_language)
