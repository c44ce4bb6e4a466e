"""RFC 9309 robots.txt: may a crawler fetch a URL, and which AI crawlers has a site opted out?

A training-data audit needs more than a yes or no: it records which group and which rule of the
site's robots.txt decided, so every opt-out can be shown to the site owner's own words. A file
is compiled once (:meth:`RobotsTxt.from_response`); :meth:`RobotsTxt.decide` and
:meth:`RobotsTxt.opted_out` only canonicalise the URL and compare. Compiled files hold plain
data and compiled patterns, so they pickle for worker processes.

Protego 0.7.0 (Scrapy's parser) was checked against RFC 9309 and is not used here. It merges
groups that name the same agent, lets Allow win a tie and decodes percent-encoded unreserved
characters, as the RFC says, but it also:

- picks a group by prefix, not by product token: ``User-agent: Applebot`` governs
  ``Applebot-Extended`` and ``User-agent: Claude`` governs ``ClaudeBot``, where 2.2.1 sends
  both to the ``*`` group;
- ends a group at any line other than Sitemap and Host, so ``Crawl-delay`` between two
  user-agent lines splits them (2.2.4: other records MUST NOT end a group);
- allows ``/dir/`` whenever ``/dir/index.html`` is allowed;
- also reads an anchoring ``$`` as a literal one, so ``Disallow: /foo$`` blocks ``/foo$bar``;
- decodes percent-encoded reserved characters (``/a%3Db`` equals ``/a=b``), which 2.2.2
  forbids, and misses the second row of the 2.2.2 table (``?baz=https://foo.bar`` against
  ``?baz=https%3A%2F%2Ffoo.bar``);
- ends lines at every Unicode line boundary, not only CR and LF (``Disallow: /`` followed by
  U+2028 becomes ``Disallow: /``), and reads a file starting with a byte-order mark as if its
  first line were absent;
- knows nothing of status codes or of the 2.5 parsing limit, and cannot say which group or
  rule decided.

Those parts are its parser and matcher, which its public API does not separate, so this module
implements both; protego is the reference that ``tests/test_robots.py`` and
``benchmarks/robots_speed.py`` compare against. Choices where the RFC leaves room:

- Fetch results (2.3.1): 2xx is parsed; 4xx is "unavailable" (allow all). A 3xx reaching here
  was not followed by the collector, so the file was never obtained: also "unavailable" (2.3.1.2
  allows that after too many redirects). 5xx, no response at all (``status=None``) and any
  status outside 200-599 are "unreachable": complete disallow.
- Only the first 512,000 bytes (500 KiB, 2.5) are parsed; a line the limit cuts is dropped
  rather than read as a shorter, different rule.
- A user-agent value is compared up to its first space or slash, case-insensitively, so
  ``GPTBot/1.0`` and ``Brightbot 1.0`` name ``GPTBot`` and ``Brightbot``. Digits and dots are
  accepted in tokens (``AI2Bot``, ``bigsur.ai``) although the 2.2.1 grammar has none: real
  crawlers use them. Misspelt keys (``Dissallow``) are not rules: 2.2.4 only allows leniency for
  other records.
- Percent-encoding (2.2.2, 2.2.3): both sides are brought to one canonical form. Encoded
  unreserved characters are decoded (``%62`` is ``b``); other escapes stay encoded with upper-case
  hex; non-ASCII, spaces and controls are encoded; reserved characters stay as written and never
  equal their escapes (``%2F`` is not ``/``), except ``*`` and ``$``, which a URL always carries
  as ``%2A`` and ``%24`` so that patterns can name them that way, and the query's data characters
  (all but ``& = + ;``), which are compared encoded as in the table's second row.
- The most specific match is the longest canonical pattern, ``*`` and ``$`` included; at equal
  length Allow wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

PARSE_LIMIT = 512_000
"""Bytes of a robots.txt that are parsed: the 500 KiB RFC 9309 2.5 requires at least."""


@dataclass(frozen=True, slots=True)
class RobotsDecision:
    """What robots.txt says about one URL for one crawler, and on what grounds.

    ``agent`` is the user-agent value of the group that decided, as written (``"*"`` for the
    catch-all), or None when no group or a fetch result decided. ``rule`` is the deciding line
    with its key spelt ``Allow`` or ``Disallow`` and its pattern as written, or None when no rule
    matched. ``reason`` is one of ``rule``, ``no-rule``, ``no-group``, ``unavailable-3xx``,
    ``unavailable-4xx``, ``unreachable-5xx``, ``unreachable`` and ``robots.txt-itself``.
    """

    allowed: bool
    agent: str | None
    rule: str | None
    reason: str


_ROBOTS_TXT_ITSELF = RobotsDecision(True, None, None, "robots.txt-itself")
_NO_GROUP = RobotsDecision(True, None, None, "no-group")

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_LINE_BREAK = re.compile(r"\r\n?|\n")
_WS = " \t"
"""The only whitespace of the 2.2 grammar: other Unicode spaces are part of a value."""


def _needs_escaping(kept: str) -> re.Pattern[str]:
    """Escapes, and every character but the unreserved ones and ``kept``."""
    return re.compile(rf"%[0-9A-Fa-f]{{2}}|[^A-Za-z0-9\-._~{kept}]")


# A path keeps RFC 3986's reserved characters as written, except "?" (the query starts), "#"
# (never reaches here) and "*" and "$" (pattern syntax, so a URL always has them encoded); a
# query keeps only the characters that delimit its fields: its other reserved ones are data.
_PATH = r"/:@!&'()+,;=\[\]"
_QUERY = "&=+;"
_URL_PARTS = (_needs_escaping(_PATH), _needs_escaping(_QUERY))
_PATTERN_PARTS = (_needs_escaping(_PATH + "*"), _needs_escaping(_QUERY + "*"))


def _escape(match: re.Match[str]) -> str:
    token = match.group()
    if len(token) == 3:  # "%XX"
        octet = int(token[1:], 16)
        return chr(octet) if octet in _UNRESERVED else f"%{token[1:].upper()}"
    return "".join(f"%{octet:02X}" for octet in token.encode("utf-8", "surrogatepass"))


def _canonical(text: str, wildcards: bool) -> str:
    """``text`` (a path and query, or a pattern without its ``$`` anchor) in canonical form, so
    that equivalent spellings compare equal octet by octet. ``wildcards`` keeps ``*`` as is."""
    path, question, query = text.partition("?")
    in_path, in_query = _PATTERN_PARTS if wildcards else _URL_PARTS
    return in_path.sub(_escape, path) + question + in_query.sub(_escape, query)


def _target(url: str) -> str:
    """The canonical path and query of ``url``: a full URL, or anything starting at the path.
    The fragment is dropped; a value without scheme or leading ``/`` is taken from the root."""
    url = url.partition("#")[0]
    if not url.startswith("/"):
        authority = _AUTHORITY.match(url)
        if authority:
            url = url[authority.end() :]
        if not url.startswith("/"):
            url = "/" + url
    return _canonical(url, wildcards=False)


def _is_robots_txt(target: str) -> bool:
    return target == "/robots.txt" or target.startswith("/robots.txt?")


@lru_cache(maxsize=4096)
def _agent_key(agent: str) -> str:
    """What a user-agent value or a crawler's name is compared by: its first word up to any
    ``/``, lower-cased (see the module docstring)."""
    words = agent.split(maxsplit=1)
    return words[0].partition("/")[0].lower() if words else ""


@lru_cache(maxsize=256)
def _agent_positions(agents: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    """The keys of ``agents`` in order, and the first position of each key: callers ask about the
    same agent list for every URL, so this is worked out once per list."""
    keys = tuple(_agent_key(agent) for agent in agents)
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
    literal = _canonical(value[:-1] if anchored else value, wildcards=True)
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
            f"{'Allow' if allow else 'Disallow'}: {value}",
        )
        for allow, value, pattern in sorted(
            ((allow, value, _pattern(value)) for allow, value in values),
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
    a line the limit cuts, invalid UTF-8 replaced and a byte-order mark dropped."""
    if len(body) > PARSE_LIMIT:
        line_complete = body[PARSE_LIMIT : PARSE_LIMIT + 1] in (b"\n", b"\r")
        body = body[:PARSE_LIMIT]
        if not line_complete:
            body = body[: max(body.rfind(b"\n"), body.rfind(b"\r")) + 1]
    return body.decode("utf-8", "replace").removeprefix("\ufeff")


def _parse(text: str) -> tuple[dict[str, _Group], _Group | None]:
    """Groups by user-agent key (2.2.1: groups naming the same agent merge) and the ``*`` group."""
    values: dict[str, list[tuple[bool, str]]] = {}
    written: dict[str, str] = {}
    current: list[str] = []
    in_rules = False
    for line in _LINE_BREAK.split(text):
        key, colon, value = line.partition("#")[0].partition(":")
        if not colon:
            continue
        key, value = key.strip(_WS).lower(), value.strip(_WS)
        if key == "user-agent":
            if in_rules:
                current, in_rules = [], False
            agent = _agent_key(value)
            if agent and agent not in current:
                current.append(agent)
                written.setdefault(agent, value)
                values.setdefault(agent, [])
        elif key in ("allow", "disallow"):
            in_rules = True
            if value:  # an empty value matches nothing (2.2.2): "Disallow:" allows all
                for agent in current:
                    values[agent].append((key == "allow", value))
    groups = {
        agent: _Group(written[agent], _rules(tuple(dict.fromkeys(rules)))) for agent, rules in values.items()
    }
    return groups, groups.pop("*", None)


class RobotsTxt:
    """One site's compiled robots.txt, or the verdict its fetch result imposes. Build it with
    :meth:`from_response`."""

    __slots__ = ("_groups", "_star", "_verdict")

    def __init__(
        self, groups: dict[str, _Group], star: _Group | None, verdict: RobotsDecision | None
    ) -> None:
        self._groups = groups
        self._star = star
        self._verdict = verdict

    @classmethod
    def from_response(cls, status: int | None, body: bytes | None) -> RobotsTxt:
        """Compile a fetched robots.txt. ``status`` is the final HTTP status, None when the host
        could not be reached at all; ``body`` is only read for 2xx. See the module docstring for
        how each status class is treated."""
        if status is None or not 200 <= status <= 599:
            return cls({}, None, RobotsDecision(False, None, None, "unreachable"))
        if status >= 500:
            return cls({}, None, RobotsDecision(False, None, None, "unreachable-5xx"))
        if status >= 400:
            return cls({}, None, RobotsDecision(True, None, None, "unavailable-4xx"))
        if status >= 300:
            return cls({}, None, RobotsDecision(True, None, None, "unavailable-3xx"))
        return cls(*_parse(_decode(body or b"")), None)

    def decide(self, url: str, agent: str) -> RobotsDecision:
        """May the crawler whose product token is ``agent`` fetch ``url`` (a full URL, or a path
        with any query)? ``"*"`` asks for the catch-all group."""
        target = _target(url)
        if _is_robots_txt(target):
            return _ROBOTS_TXT_ITSELF
        if self._verdict is not None:
            return self._verdict
        group = self._groups.get(_agent_key(agent), self._star)
        return _NO_GROUP if group is None else group.decide(target)

    def opted_out(self, url: str, agents: Sequence[str]) -> RobotsDecision | None:
        """The decision for the first of ``agents`` that may not fetch ``url``, None when all may.

        Equivalent to calling :meth:`decide` for each agent in turn, but each group is consulted
        at most once: agents the file does not name all share the ``*`` group, and of each group
        only the agent listed first matters.
        """
        target = _target(url)
        if _is_robots_txt(target):
            return None
        if self._verdict is not None:
            return None if self._verdict.allowed else self._verdict
        keys, first = _agent_positions(tuple(agents))
        candidates = [(first[key], self._groups[key]) for key in self._groups.keys() & first.keys()]
        if self._star is not None:
            for position, key in enumerate(keys):
                if key not in self._groups:
                    candidates.append((position, self._star))
                    break
        candidates.sort()  # positions are distinct, so groups are never compared
        for _, group in candidates:
            decision = group.decide(target)
            if not decision.allowed:
                return decision
        return None
