"""Counter-speech: text that condemns discrimination, or names a slur only to reject it.

Classifiers trained on offensive-language data score such text like the abuse it answers: the words
are the same (``反对种族歧视``, ``请不要地域黑``, ``stop calling them ...``), and the data sets label
much of it offensive themselves (of the COLD training comments that carry a cue below, most are
labelled offensive, some rightly so: ``黑人不反对歧视，只是反对歧视黑人`` quotes the cue to mock it).
So the rule is explicit and narrow, and it only lowers a score, it never raises one:

* a **condemnation cue**: a negated call to discriminate (``不要歧视``, ``别地域黑``, ``不能以偏概全``),
  opposition to it (``反对/抵制/拒绝 ... 歧视``), a verdict on it (``歧视是错的``, ``地域黑要不得``), an
  appeal to equality (``人人平等``, ``一视同仁``, ``互相尊重``), ``别再说/叫``; in English ``stop calling``,
  ``is a slur``, ``against racism`` and the like;
* **not ironised**: no ``只是反对``, ``并不/从不/不是 反对``, ``不是不能``, ``嘴上说``, ``所谓``, ``圣母``,
  ``白左`` (the standard turns of the mocking reply), no ``not against``, and no ``但/可是/不过/然而/but``
  after the first cue (``反对地域歧视，可是...`` is a disclaimer before the attack);
* **no slur in use**: every keyword-library hit of a discrimination or profanity risk lies inside
  quotation marks (``「」『』“”‘’""``), where it is mentioned rather than used.

A document that passes gets ``harm.counter_speech`` true, and its classifier score and the weights
of its quoted hits are multiplied by :data:`DISCOUNT` before they combine, so a confident score falls
under the flag threshold while text that goes on to abuse (and so carries a listed term outside
quotes, or an ironising turn) keeps its full score; only a model certain of itself (probability
1, which halved still reaches 0.5) or term weights that add up still flag it. Measured on held-out
comments in ``MODEL_CARD.md``: a discount of 0.4 unflagged every comment the rule fires on, abusive
ones included; 0.5 keeps most of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DISCOUNT = 0.5
"""The factor a counter-speech document's classifier score and quoted term weights are multiplied by."""

_NEGATION = r"(?:不应该|不应|不该|不能|不要|不可以|不可|请勿|请不要|(?<!性)别|勿|停止|杜绝)"
_DISCRIMINATION = (
    r"(?:(?:种族|性别|地域|年龄|职业|民族|宗教|身材|外貌)?歧视|地域黑|地图炮|一竿子打(?:死|翻)|以偏概全"
    r"|贴标签|污名化|刻板印象|偏见|仇恨)"
)
_OPPOSE = r"(?:反对|抵制|拒绝|谴责|抗议)"
CONDEMNATION = re.compile(
    "|".join(
        (
            rf"{_NEGATION}(?:再|去|随便|这样|乱|搞|动不动就?){{0,2}}{_DISCRIMINATION}",
            rf"{_OPPOSE}(?:一切|任何|所有)?(?:形式的)?{_DISCRIMINATION}",
            rf"{_DISCRIMINATION}(?:本身)?(?:是|都是|就是)?(?:不对|错误|错的|可耻|要不得|不可取|没有道理|愚蠢|无知)",
            r"人人(?:生而)?平等|众生平等|(?<!不)一视同仁|(?<!不)平等对待|互相尊重|尊重每一个",
            r"(?:别再|不要再)(?:说|叫|骂)|不要(?:叫|骂)(?:人家|他们|她们)",
            r"\b(?:stop|quit|don'?t|do not|never)\s+(?:calling|call|using|use|saying|say)\b",
            r"\b(?:is|are|was|were)\s+(?:a\s+)?(?:racial\s+)?(?:slurs?|racist|sexist|homophobic|derogatory)\b",
            r"\b(?:against|oppose|condemn|reject)\s+(?:all\s+)?(?:racism|sexism|homophobia|bigotry|discrimination)\b",
        )
    ),
    re.IGNORECASE,
)
"""What condemning discrimination looks like (module docstring)."""
IRONY = re.compile(
    r"(?:只是|只|并不|从不|从来不|不是|不是真的|并非|不)(?:在)?(?:反对|抵制|拒绝)|只是不能|不是不能|嘴上"
    r"|所谓的?(?:反对|平等)|圣母|白左|\bnot\s+against\b",
    re.IGNORECASE,
)
"""Turns that quote a condemnation to mock it."""
BUT = re.compile(r"但是?|可是|不过|然而|\bbut\b", re.IGNORECASE)
"""A turn after the condemnation: "反对地域歧视，可是..." is a disclaimer before the attack."""
QUOTED = re.compile(r"「[^」]*」|『[^』]*』|“[^”]*”|‘[^’]*’|\"[^\"\n]*\"")
"""Quotation marks, Chinese and Western: a term between them is mentioned."""


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` spans of ``text`` between a pair of quotation marks, marks included."""
    return [match.span() for match in QUOTED.finditer(text)]


def inside(span: tuple[int, int], quotes: list[tuple[int, int]]) -> bool:
    """Whether ``span`` lies within one of ``quotes``."""
    return any(start <= span[0] and span[1] <= end for start, end in quotes)


def is_counter_speech(text: str, term_spans: Iterable[tuple[int, int]]) -> bool:
    """Whether ``text`` condemns discrimination, without irony, and uses none of the listed terms
    found at ``term_spans`` outside quotation marks (module docstring)."""
    condemnation = CONDEMNATION.search(text)
    if condemnation is None or IRONY.search(text) is not None:
        return False
    if BUT.search(text, condemnation.end()) is not None:
        return False
    quotes = quoted_spans(text)
    return all(inside(span, quotes) for span in term_spans)
