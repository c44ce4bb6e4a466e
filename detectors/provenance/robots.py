"""RFC 9309 robots.txt, read as Google's reference parser reads it: may a crawler fetch a URL, and
which AI crawlers has a site opted out?

A training-data audit needs more than a yes or no: it records which group and which rule of the
site's robots.txt decided, so every opt-out can be shown to the site owner's own words. A file
is compiled once (:meth:`RobotsTxt.from_response`); :meth:`RobotsTxt.decide` and
:meth:`RobotsTxt.opted_out` only canonicalise the URL and compare. Compiled files hold plain
data and compiled patterns, so they pickle for worker processes.

:meth:`RobotsTxt.decide` is graded by Google's 400 compliance cases (google/robotstxt-spec-test,
``tests/data/google_robots_cases.json``) and passes all of them. Where RFC 9309 leaves room, or
Google's parser reads more than the RFC grammar, it follows Google, because that is how the
sites' own tools test their files:

- A user-agent value names the product token made of its leading letters, ``-`` and ``_``
  (``GPTBot/1.0``, ``Brightbot 1.0`` and ``GPTBot*`` all name ``GPTBot``); ``*`` alone, or followed
  by a space, names the catch-all group. The crawler is compared whole, case-insensitively: a
  crawler called ``Foo Bar`` is not the ``Foo Bar`` group, whose token is ``Foo``.
- Keys are read by prefix, case-insensitively, with Google's frequent misspellings
  (``useragent``, ``user agent``, ``dissallow``, ``dissalow``, ``disalow``, ``diasllow``,
  ``disallaw``), and a missing colon is accepted when the line is exactly a key and a value
  (``disallow /``). Other records, such as ``Crawl-delay`` and ``Sitemap``, never end a group.
- A full or partial UTF-8 byte-order mark (``EF``, ``EF BB``, ``EF BB BF``) before the first line
  is skipped, so it cannot hide the first group; lines end at CR, LF or CRLF only, and a line is
  read up to its first 16,663 characters (Google's 8 × 2083 − 1 bytes).
- ``Allow: /dir/index.htm...`` also allows ``/dir/`` itself.
- ``/robots.txt`` has no exemption: RFC 9309 lets a crawler fetch the rules, which is not leave
  to train on the file.
- Percent-encoding (2.2.2): a pattern's non-ASCII characters are encoded as UTF-8, escapes are
  compared with upper-case hex and never decoded (``%62`` is not ``b``), and reserved characters
  never equal their escapes, except ``*`` and ``$``, which a URL always carries as ``%2A`` and
  ``%24`` so that patterns can name them that way, and the query's data characters (all but
  ``& = + ;``), which are compared encoded, as in the second row of the RFC's table. A URL passed
  to :meth:`decide` is taken as sent on the wire: a raw non-ASCII character in it stays as it is
  and does not equal its escape.
- The most specific match is the longest canonical pattern, ``*`` and ``$`` included; at equal
  length Allow wins.

:meth:`RobotsTxt.opted_out` answers the audit's question for a list of crawler tokens as
ai.robots.txt writes them. It reads the same groups, with three differences that keep an
opt-out from being missed: a crawler is named by its first word before any ``/``
(``iaskspider/2.0`` is ``iaskspider``); a group written for a token with characters outside
Google's alphabet (``User-agent: AI2Bot``, ``bigsur.ai``) is that crawler's group, where Google
would read ``AI``; and a URL as a corpus records it is first encoded as a crawler would send it
(``/wiki/中国`` becomes ``/wiki/%E4%B8%AD%E5%9B%BD``).

Fetch results (2.3.1): 2xx is parsed; 4xx is "unavailable" (allow all). A 3xx reaching here was
not followed by the collector, so the file was never obtained: also "unavailable" (2.3.1.2
allows that after too many redirects). 5xx, no response at all (``status=None``) and any status
outside 200-599 are "unreachable": complete disallow. Only the first 512,000 bytes (500 KiB, 2.5)
are parsed; a line the limit cuts is dropped rather than read as a shorter, different rule.

Protego 0.7.0 (Scrapy's parser) was checked against the RFC and is not used here: it picks a group
by prefix (``User-agent: Claude`` governs ``ClaudeBot``), ends a group at records other than
Sitemap and Host, reads an anchoring ``$`` as a literal one too, decodes percent-encoded reserved
characters, ends lines at every Unicode line boundary, drops a first line that starts with a
byte-order mark, knows nothing of status codes or of the 2.5 parsing limit, and cannot say which
group or rule decided. ``tests/test_robots.py`` and ``benchmarks/robots_speed.py`` compare
against it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

PARSE_LIMIT = 512_000
"""Bytes of a robots.txt that are parsed: the 500 KiB RFC 9309 2.5 requires at least."""

LINE_LIMIT = 2083 * 8 - 1
"""Characters of a line that are read, as Google's parser keeps them."""


@dataclass(frozen=True, slots=True)
class RobotsDecision:
    """What robots.txt says about one URL for one crawler, and on what grounds.

    ``agent`` is the user-agent value of the group that decided, as written (``"*"`` for the
    catch-all), or None when no group or a fetch result decided. ``rule`` is the deciding line
    with its key spelt ``Allow`` or ``Disallow`` and its pattern as written, or None when no rule
    matched. ``reason`` is one of ``rule``, ``no-rule``, ``no-group``, ``unavailable-3xx``,
    ``unavailable-4xx``, ``unreachable-5xx`` and ``unreachable``.
    """

    allowed: bool
    agent: str | None
    rule: str | None
    reason: str


_NO_GROUP = RobotsDecision(True, None, None, "no-group")

_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_LINE_BREAK = re.compile(r"\r\n?|\n")
_WS = " \t"
"""The only whitespace of the 2.2 grammar: other Unicode spaces are part of a value."""
_BYTE_ORDER_MARKS = (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef")
_TOKEN = re.compile(r"[A-Za-z_-]*")
_KEYS = (
    ("user-agent", ("user-agent", "useragent", "user agent")),
    ("allow", ("allow",)),
    ("disallow", ("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw")),
)
"""Google's keys and the misspellings it accepts, each read as a prefix of the written key."""


def _needs_escaping(kept: str, non_ascii: bool) -> re.Pattern[str]:
    """Escapes, and every character but the unreserved ones and ``kept`` (and non-ASCII ones
    unless ``non_ascii``)."""
    raw = "" if non_ascii else "\x80-\U0010ffff"
    return re.compile(rf"%[0-9A-Fa-f]{{2}}|[^A-Za-z0-9\-._~{kept}{raw}]")


# A path keeps RFC 3986's reserved characters as written, except "?" (the query starts), "#"
# (never reaches here) and "*" and "$" (pattern syntax, so a URL always has them encoded); a
# query keeps only the characters that delimit its fields: its other reserved ones are data.
_PATH = r"/:@!&'()+,;=\[\]"
_QUERY = "&=+;"
_WIRE_URL_PARTS = (_needs_escaping(_PATH, False), _needs_escaping(_QUERY, False))
_URL_PARTS = (_needs_escaping(_PATH, True), _needs_escaping(_QUERY, True))
_PATTERN_PARTS = (_needs_escaping(_PATH + "*", True), _needs_escaping(_QUERY + "*", True))


def _escape(match: re.Match[str]) -> str:
    token = match.group()
    if len(token) == 3 and token[0] == "%":  # "%XX"
        return token.upper()
    return "".join(f"%{octet:02X}" for octet in token.encode("utf-8", "surrogatepass"))


def _canonical(text: str, parts: tuple[re.Pattern[str], re.Pattern[str]]) -> str:
    """``text`` (a path and query, or a pattern without its ``$`` anchor) in canonical form, so
    that equivalent spellings compare equal octet by octet."""
    path, question, query = text.partition("?")
    in_path, in_query = parts
    return in_path.sub(_escape, path) + question + in_query.sub(_escape, query)


def _target(url: str, wire: bool) -> str:
    """The canonical path and query of ``url``: a full URL, or anything starting at the path.
    The fragment is dropped; a value without scheme or leading ``/`` is taken from the root.
    ``wire`` leaves raw non-ASCII characters as they are (see the module docstring)."""
    url = url.partition("#")[0]
    if not url.startswith("/"):
        authority = _AUTHORITY.match(url)
        if authority:
            url = url[authority.end() :]
        if not url.startswith("/"):
            url = "/" + url
    return _canonical(url, _WIRE_URL_PARTS if wire else _URL_PARTS)


@lru_cache(maxsize=4096)
def _product_token(agent: str) -> str:
    """A crawler's name as :meth:`RobotsTxt.opted_out` compares it: its first word up to any
    ``/``, lower-cased."""
    words = agent.split(maxsplit=1)
    return words[0].partition("/")[0].lower() if words else ""


def _written_token(value: str) -> str:
    """A user-agent value's token as written: its first word up to any ``/``, without trailing
    ``*``, lower-cased."""
    return _product_token(value).rstrip("*")


@lru_cache(maxsize=256)
def _agent_positions(agents: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    """The tokens of ``agents`` in order, and the first position of each: callers ask about the
    same agent list for every URL, so this is worked out once per list."""
    keys = tuple(_product_token(agent) for agent in agents)
    first: dict[str, int] = {}
    for position, key in enumerate(keys):
        first.setdefault(key, position)
    return keys, first


class _Pattern(NamedTuple):
    literal: str
    """The canonical pattern without a ``$`` anchor: the whole test unless ``wildcard`` is set."""
    anchored: bool
    wildcard: re.Pattern[str] | None
    length: int
    """Octets of the canonical pattern, anchor included: the specificity of 2.2.2."""


@lru_cache(maxsize=65536)
def _pattern(value: str) -> _Pattern:
    """Compile one Allow/Disallow value. Sites share many values (``/``, ``/admin/``), so
    compiled patterns are shared across files."""
    anchored = value.endswith("$")
    literal = _canonical(value[:-1] if anchored else value, _PATTERN_PARTS)
    wildcard = None
    if "*" in literal:
        first, *rest = literal.split("*")
        last = rest.pop()
        # Atomic groups take the earliest occurrence of each piece and never retry it: that is
        # enough for "*" and keeps hostile patterns linear instead of backtracking.
        middle = "".join(f"(?>.*?{re.escape(piece)})" for piece in rest if piece)
        end = f".*{re.escape(last)}\\Z" if anchored else f"(?>.*?{re.escape(last)})"
        wildcard = re.compile(re.escape(first) + middle + end, re.DOTALL)
    return _Pattern(literal, anchored, wildcard, len(literal) + anchored)


class _Rule(NamedTuple):
    literal: str
    anchored: bool
    wildcard: re.Pattern[str] | None
    allow: bool
    written: str


class _Rules(NamedTuple):
    ordered: tuple[_Rule, ...]
    """Most specific first; Allow before Disallow at equal length."""
    prefixes: tuple[str, ...]
    """Literals of the plain prefix rules: a path starting with none of them can only match
    one of ``special``, which one ``startswith`` call decides."""
    special: tuple[_Rule, ...]


def _with_directories(values: tuple[tuple[bool, str], ...]) -> list[tuple[bool, str, str]]:
    """(allow, pattern, written line's value) for each rule, plus ``Allow: /dir/$`` for every
    ``Allow: /dir/index.htm...``, as Google's parser adds it."""
    rules = [(allow, value, value) for allow, value in values]
    for allow, value in values:
        slash = value.rfind("/")
        if allow and slash >= 0 and value.startswith("/index.htm", slash):
            rules.append((True, value[: slash + 1] + "$", value))
    return rules


@lru_cache(maxsize=16384)
def _rules(values: tuple[tuple[bool, str], ...]) -> _Rules:
    """Compile a group's (allow, value) rules. Many groups have the same ones (every agent of a
    group, ``Disallow: /`` on many sites), so compiled rules are shared."""
    ordered = tuple(
        _Rule(
            pattern.literal,
            pattern.anchored,
            pattern.wildcard,
            allow,
            f"{'Allow' if allow else 'Disallow'}: {written}",
        )
        for allow, written, pattern in sorted(
            ((allow, written, _pattern(value)) for allow, value, written in _with_directories(values)),
            key=lambda entry: (-entry[2].length, not entry[0]),
        )
    )
    plain = [rule.literal for rule in ordered if rule.wildcard is None and not rule.anchored]
    return _Rules(ordered, tuple(plain), tuple(r for r in ordered if r.wildcard is not None or r.anchored))


@dataclass(frozen=True, slots=True)
class _Group:
    """The merged rules for one user-agent, and its value as written."""

    agent: str
    rules: _Rules

    def decide(self, target: str) -> RobotsDecision:
        rules = self.rules
        for rule in rules.ordered if target.startswith(rules.prefixes) else rules.special:
            if rule.wildcard is not None:
                hit = rule.wildcard.match(target) is not None
            else:
                hit = target == rule.literal if rule.anchored else target.startswith(rule.literal)
            if hit:
                return RobotsDecision(rule.allow, self.agent, rule.written, "rule")
        return RobotsDecision(True, self.agent, None, "no-rule")


def _decode(body: bytes) -> str:
    """The parsed part of a robots.txt body as text: at most :data:`PARSE_LIMIT` bytes, without
    a line the limit cuts, a full or partial byte-order mark skipped and invalid UTF-8 replaced."""
    if len(body) > PARSE_LIMIT:
        line_complete = body[PARSE_LIMIT : PARSE_LIMIT + 1] in (b"\n", b"\r")
        body = body[:PARSE_LIMIT]
        if not line_complete:
            body = body[: max(body.rfind(b"\n"), body.rfind(b"\r")) + 1]
    for mark in _BYTE_ORDER_MARKS:
        if body.startswith(mark):
            body = body[len(mark) :]
            break
    return body.decode("utf-8", "replace")


def _key_and_value(line: str) -> tuple[str | None, str]:
    """The record a line holds: ``user-agent``, ``allow``, ``disallow`` or None for any other,
    and its value."""
    line = line[:LINE_LIMIT].partition("#")[0].strip(_WS)
    key, colon, value = line.partition(":")
    if not colon:  # "disallow /": accepted when the line is exactly two words
        key, _, value = line.replace("\t", " ").partition(" ")
        value = value.strip(_WS)
        if not value or any(space in value for space in _WS):
            return None, ""
    key = key.strip(_WS).lower()
    kind = next((name for name, spellings in _KEYS if key.startswith(spellings)), None)
    return kind, value.strip(_WS)


def _group_keys(value: str) -> tuple[str, str | None]:
    """The key a user-agent value is found by (``*`` for the catch-all, "" for none), and the
    token as written when Google's key is not the whole of it (``AI2Bot`` has key ``ai``)."""
    if value == "*" or (value[:1] == "*" and value[1:2] in tuple(_WS)):
        return "*", None
    key = _TOKEN.match(value).group().lower()  # type: ignore[union-attr]  # "*" matches ""
    written = _written_token(value)
    return key, written if written not in (key, "") else None


class _Parsed(NamedTuple):
    groups: dict[str, _Group]
    written: dict[str, _Group]
    star: _Group | None


def _parse(text: str) -> _Parsed:
    """Groups by Google's key and by written token (2.2.1: groups naming the same agent merge),
    and the ``*`` group."""
    values: dict[tuple[bool, str], list[tuple[bool, str]]] = {}
    spelt: dict[tuple[bool, str], str] = {}
    current: list[tuple[bool, str]] = []
    in_rules = False
    for line in _LINE_BREAK.split(text):
        kind, value = _key_and_value(line)
        if kind == "user-agent":
            if in_rules:
                current, in_rules = [], False
            key, written = _group_keys(value)
            for target in ((False, key), (True, written)):
                if target[1] and target not in current:
                    current.append(target)
                    spelt.setdefault(target, value)
                    values.setdefault(target, [])
        elif kind is not None:
            in_rules = True
            if value:  # an empty value matches nothing (2.2.2): "Disallow:" allows all
                for target in current:
                    values[target].append((kind == "allow", value))
    groups: tuple[dict[str, _Group], dict[str, _Group]] = ({}, {})
    for (is_written, key), rules in values.items():
        groups[is_written][key] = _Group(spelt[is_written, key], _rules(tuple(dict.fromkeys(rules))))
    by_key, written = groups
    return _Parsed(by_key, written, by_key.pop("*", None))


class RobotsTxt:
    """One site's compiled robots.txt, or the verdict its fetch result imposes. Build it with
    :meth:`from_response`."""

    __slots__ = ("_groups", "_star", "_verdict", "_written")

    def __init__(self, parsed: _Parsed, verdict: RobotsDecision | None) -> None:
        self._groups = parsed.groups
        self._written = parsed.written
        self._star = parsed.star
        self._verdict = verdict

    @classmethod
    def from_response(cls, status: int | None, body: bytes | None) -> RobotsTxt:
        """Compile a fetched robots.txt. ``status`` is the final HTTP status, None when the host
        could not be reached at all; ``body`` is only read for 2xx. See the module docstring for
        how each status class is treated."""
        if status is None or not 200 <= status <= 599:
            verdict = RobotsDecision(False, None, None, "unreachable")
        elif status >= 500:
            verdict = RobotsDecision(False, None, None, "unreachable-5xx")
        elif status >= 400:
            verdict = RobotsDecision(True, None, None, "unavailable-4xx")
        elif status >= 300:
            verdict = RobotsDecision(True, None, None, "unavailable-3xx")
        else:
            return cls(_parse(_decode(body or b"")), None)
        return cls(_Parsed({}, {}, None), verdict)

    def decide(self, url: str, agent: str) -> RobotsDecision:
        """May the crawler called ``agent`` fetch ``url`` (a full URL, or a path with any query,
        percent-encoded as sent)? ``"*"`` asks for the catch-all group."""
        if self._verdict is not None:
            return self._verdict
        group = self._groups.get(agent.lower(), self._star)
        return _NO_GROUP if group is None else group.decide(_target(url, wire=True))

    def opted_out(self, url: str, agents: Sequence[str]) -> RobotsDecision | None:
        """The decision for the first of ``agents`` (crawler tokens as ai.robots.txt writes them)
        that may not fetch ``url``, None when all may; read as the module docstring says.

        Each group is consulted at most once: agents the file does not name all share the ``*``
        group, and of each group only the agent listed first matters.
        """
        if self._verdict is not None:
            return None if self._verdict.allowed else self._verdict
        keys, first = _agent_positions(tuple(agents))
        candidates = [(first[key], self._written[key]) for key in self._written.keys() & first.keys()]
        candidates += [(first[key], self._groups[key]) for key in self._groups.keys() & first.keys()]
        if self._star is not None:
            for position, key in enumerate(keys):
                if key not in self._groups and key not in self._written:
                    candidates.append((position, self._star))
                    break
        candidates.sort()  # positions are distinct, so groups are never compared
        target = _target(url, wire=False)
        for _, group in candidates:
            decision = group.decide(target)
            if not decision.allowed:
                return decision
        return None
