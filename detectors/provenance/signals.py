"""Machine-readable reservations a page carries itself or its site publishes, read as their specs say.

- ``X-Robots-Tag`` header and ``<meta name="robots">``: comma-separated directives, optionally
  scoped to one crawler (``GPTBot: noai``). ``noai`` reserves the text against AI training;
  ``noimageai`` only its images, so it is reported but does not opt a text out.
- TDMRep (W3C TDM Reservation Protocol): the ``tdm-reservation`` header or meta tag (``1`` =
  rights reserved), and the site-wide ``/.well-known/tdmrep.json``, an ordered list of
  ``{"location": pattern, "tdm-reservation": 0|1}`` rules where the first matching location
  applies; patterns use robots.txt syntax (``*`` any run of characters, ``$`` end).
- ``Content-Signal`` (Content Signals Policy): ``ai-train=no`` in a response header, or on a
  ``Content-Signal:`` line of the site's robots.txt (read anywhere in the file, not per group).
- ``ai.txt`` (Spawning): robots.txt syntax for the ``*`` agent; only a file that was actually
  served (2xx) can reserve anything, unlike robots.txt, whose absence-by-error means disallow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

VALUED_DIRECTIVES = frozenset({"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"})
"""Robots directives that take a value after a colon, so that ``name:`` there is not an agent."""


def robots_directives(value: str, agents: Iterable[str]) -> set[str]:
    """The directives of an ``X-Robots-Tag`` value or robots meta content that apply to any of
    ``agents`` (case-insensitive) or to every crawler."""
    wanted = {agent.lower() for agent in agents}
    found: set[str] = set()
    scope: str | None = None
    for part in value.split(","):
        part = part.strip().lower()
        if not part:
            continue
        head, colon, rest = part.partition(":")
        if colon and head.strip() not in VALUED_DIRECTIVES and " " not in head.strip():
            scope, part = head.strip(), rest.strip()
        if scope is None or scope in wanted:
            found.add(part)
    return found


def content_signal_denies_training(value: str) -> bool:
    """True for a Content-Signal value with ``ai-train=no``."""
    pairs = (item.strip().lower().partition("=") for item in value.split(","))
    return any(key.strip() == "ai-train" and setting.strip() == "no" for key, _, setting in pairs)


def robots_txt_content_signal(body: bytes) -> bool:
    """True when a robots.txt carries a ``Content-Signal:`` line with ``ai-train=no``."""
    for line in body.decode("utf-8", errors="replace").splitlines():
        key, colon, value = line.split("#", 1)[0].partition(":")
        if colon and key.strip().lower() == "content-signal" and content_signal_denies_training(value):
            return True
    return False


@cache
def _location_pattern(location: str) -> re.Pattern[str]:
    anchored = location.endswith("$")
    body = re.escape(location[:-1] if anchored else location).replace(r"\*", ".*")
    return re.compile(body + ("$" if anchored else ""))


def tdmrep_rules(body: bytes) -> list[tuple[str, bool]]:
    """(location, reserved) rules of a tdmrep.json, in file order; an unreadable file has none."""
    try:
        rules = json.loads(body.decode("utf-8", errors="replace"))
    except ValueError:
        return []
    if not isinstance(rules, list):
        return []
    return [
        (str(rule["location"]), str(rule.get("tdm-reservation")) == "1")
        for rule in rules
        if isinstance(rule, dict) and "location" in rule
    ]


def tdmrep_reserves(rules: list[tuple[str, bool]], url: str) -> bool:
    """Whether the first rule whose location matches the URL's path reserves TDM rights."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    for location, reserved in rules:
        if _location_pattern(location).match(path):
            return reserved
    return False
