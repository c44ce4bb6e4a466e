"""Robots.txt opt-out decisions/second with 10,000 compiled files in memory: ours against protego.

The provenance stage asks, for every document, whether its site's robots.txt disallows any of
the AI crawlers in the shared ai.robots.txt list (166 tokens), so that is the headline case; a
short list of six well-known crawlers is timed too. The 10,000 files are synthetic but shaped
like the web's: a ``*`` group of typical Disallow/Allow paths (``*`` and ``$`` included), groups
for a few AI crawlers, sometimes one group naming most of the list (as the ai.robots.txt project
publishes it), search-engine groups, Sitemap, Crawl-delay, comments and CRLF files; 3% of hosts
answer 404 and 1.5% 5xx or nothing. They are generated from a fixed seed, as are the 200,000
(host, URL) pairs.

Both sides get the same bytes and the same pairs, one run each, in one process (expect some
noise between runs):

* ours: ``RobotsTxt.from_response`` per host, then ``opted_out(url, agents)`` per pair;
* protego as one would use it plainly: ``Protego.parse`` on the decoded body, then ``can_fetch``
  per agent until one is refused. Protego knows no status codes; its run gets an empty file for
  a 4xx host and ``User-agent: *`` / ``Disallow: /`` for an unreachable one, so both answer the
  same question.

Also printed: how many pairs each side found opted out, and on how many they disagree (the RFC
points protego gets wrong, see ``detectors.provenance.robots``); and the rate of the whole
``provenance`` detector over the same pairs as documents, with the 10,000 files written to a
snapshot store and loaded from it, every signal checked (robots.txt for all 166 agents plus the
product token, tdmrep.json, ai.txt, page headers): the audit's real cost per document.
Run: ``.venv/bin/python benchmarks/robots_speed.py``.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
from protego import Protego

from detectors.provenance.detector import ProvenanceDetector
from detectors.provenance.robots import RobotsTxt
from detectors.provenance.store import Fetched
from pipeline.snapshots import SnapshotWriter

AI_ROBOTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "optout" / "ai_robots.json"
HOSTS = 10_000
DECISIONS = 200_000
SEED = 9309
BATCH = 1024
SHORT_AGENTS = ("GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "PerplexityBot", "Bytespider")
POPULAR_AI = (
    "GPTBot", "ChatGPT-User", "OAI-SearchBot", "CCBot", "Google-Extended", "ClaudeBot", "anthropic-ai",
    "Claude-Web", "PerplexityBot", "Bytespider", "Applebot-Extended", "Amazonbot", "meta-externalagent",
    "cohere-ai", "Diffbot", "FacebookBot", "ImagesiftBot", "Timpibot", "YouBot",
)  # fmt: skip
DISALLOWS = (
    "/admin/", "/wp-admin/", "/cgi-bin/", "/search", "/cart", "/checkout/", "/account/", "/*?sort=",
    "/*?filter=*", "/*.pdf$", "/tmp/", "/private/", "/api/", "/*/print$", "/tag/*/page/", "/wp-login.php",
    "/*?replytocom=", "/node/*/edit", "/user/", "/*.json$", "/drafts/", "/caf%C3%A9/privé/",
)  # fmt: skip
ALLOWS = ("/wp-admin/admin-ajax.php", "/public/", "/*.css$", "/*.js$", "/search/about", "/api/docs$")
SEARCH_ENGINES = ("Googlebot", "Bingbot", "DuckDuckBot", "Yandex", "Baiduspider")
P = TypeVar("P")
WORDS = ("robots", "garden", "river", "policy", "release", "café", "notes", "index", "report", "winter")


def ai_agents() -> list[str]:
    """The shared ai.robots.txt tokens, in file order; exit with a clear message when absent."""
    if not AI_ROBOTS.exists():
        sys.exit(f"agent list not found at {AI_ROBOTS}; it comes with ../shared/data beside the repo")
    return list(json.loads(AI_ROBOTS.read_text(encoding="utf-8")))


def robots_file(rng: random.Random, agents: Sequence[str]) -> bytes:
    """One site's robots.txt."""
    lines = [f"# robots.txt for www.site{rng.randrange(10**6)}.example"] if rng.random() < 0.5 else []
    roll = rng.random()
    if roll < 0.05:
        return b""
    if roll < 0.07:
        lines += ["User-agent: *", "Disallow: /"]
    elif rng.random() < 0.8:
        lines += ["User-agent: *"]
        lines += [f"Disallow: {path}" for path in rng.sample(DISALLOWS, rng.randint(1, 12))]
        lines += [f"Allow: {path}" for path in rng.sample(ALLOWS, rng.randint(0, 3))]
        if rng.random() < 0.2:
            lines.append(f"Crawl-delay: {rng.randint(1, 10)}")
    for engine in rng.sample(SEARCH_ENGINES, rng.randint(0, 2)):
        lines += ["", f"User-agent: {engine}", rng.choice(("Allow: /", "Disallow: /private/", "Disallow:"))]
    style = rng.random()
    if style < 0.35:
        for agent in rng.sample(POPULAR_AI, rng.randint(1, 8)):
            lines += [
                "",
                f"User-agent: {agent}",
                rng.choice(("Disallow: /", "Disallow: /", "Disallow: /blog/")),
            ]
    elif style < 0.45:
        lines.append("")
        lines += [f"User-agent: {agent}" for agent in rng.sample(agents, rng.randint(50, len(agents)))]
        lines.append("Disallow: /")
    elif style < 0.5:
        lines += ["", "User-agent: GPTBot", "Allow: /public/", "Disallow: /"]
    if rng.random() < 0.6:
        lines += ["", f"Sitemap: https://www.example.com/sitemap{rng.randint(1, 3)}.xml"]
    newline = "\r\n" if rng.random() < 0.2 else "\n"
    return (newline.join(lines) + newline).encode("utf-8")


def fetch_result(rng: random.Random, agents: Sequence[str]) -> tuple[int | None, bytes]:
    roll = rng.random()
    if roll < 0.03:
        return 404, b"<html><body>Not found</body></html>"
    if roll < 0.04:
        return rng.choice((500, 502, 503)), b""
    if roll < 0.045:
        return None, b""
    return 200, robots_file(rng, agents)


def url(rng: random.Random, host: int) -> str:
    word, other = rng.choice(WORDS), rng.choice(WORDS)
    path = rng.choice(
        (
            "/",
            f"/blog/{word}-{other}",
            f"/blog/{rng.randint(2015, 2025)}/{rng.randint(1, 12):02d}/{word}",
            f"/search?q={word}&sort=asc",
            f"/products/{rng.randrange(10**5)}?filter=color:red",
            f"/docs/{word}.pdf",
            "/wp-admin/admin-ajax.php",
            f"/tag/{word}/page/{rng.randint(2, 9)}",
            f"/private/{word}",
            f"/public/{word}.css",
            f"/caf%C3%A9/privé/{word}",
            f"/news/{word}/print",
            f"/api/v1/{rng.randrange(10**4)}",
            f"/{word}/{other}.html",
        )
    )
    return f"https://www.site{host}.example{path}"


def protego_body(status: int | None, body: bytes) -> str:
    """What a plain protego user parses: the body of a 2xx, else the file the status implies."""
    if status is not None and 200 <= status < 300:
        return body.decode("utf-8", "replace")
    return "" if status is not None and status < 500 else "User-agent: *\nDisallow: /\n"


def protego_opted_out(parser: Protego, target: str, agents: Sequence[str]) -> bool:
    return any(not parser.can_fetch(target, agent) for agent in agents)


def ours_opted_out(parser: RobotsTxt, target: str, agents: Sequence[str]) -> bool:
    return parser.opted_out(target, agents) is not None


def timed(
    opted_out: Callable[[P, str, Sequence[str]], bool],
    parsers: list[P],
    pairs: list[tuple[int, str]],
    agents: Sequence[str],
) -> tuple[float, list[bool]]:
    """Decisions/second of one pass over ``pairs``, and the answers (opted out or not)."""
    started = time.perf_counter()
    answers = [opted_out(parsers[host], target, agents) for host, target in pairs]
    return len(pairs) / (time.perf_counter() - started), answers


def detector_rate(responses: list[tuple[int | None, bytes]], pairs: list[tuple[int, str]]) -> float:
    """Documents/second of ``ProvenanceDetector.annotate`` with the files in a snapshot store."""
    taken = datetime(2026, 11, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as scratch:
        fetched = (
            Fetched(f"https://www.site{host}.example", "robots.txt", status, body or None, taken, "fetch")
            for host, (status, body) in enumerate(responses)
        )
        SnapshotWriter(Path(scratch)).write_snapshot(fetched, taken_at=taken)
        detector = ProvenanceDetector({"snapshot_store": scratch})
        batches = [
            pa.record_batch(
                {
                    "url": pa.array([target for _, target in pairs[start : start + BATCH]]),
                    **{
                        name: pa.nulls(len(pairs[start : start + BATCH]), pa.string())
                        for name in ("source_id", "license", "meta", "content_sha256")
                    },
                }
            )
            for start in range(0, len(pairs), BATCH)
        ]
        started = time.perf_counter()
        for batch in batches:
            detector.annotate(batch)
        return len(pairs) / (time.perf_counter() - started)


def main() -> None:
    agents = ai_agents()
    short = [agent for agent in SHORT_AGENTS if agent in agents]
    rng = random.Random(SEED)
    responses = [fetch_result(rng, agents) for _ in range(HOSTS)]
    pairs = [(host, url(rng, host)) for host in (rng.randrange(HOSTS) for _ in range(DECISIONS))]
    served = [body for status, body in responses if status == 200]
    print(f"hosts: {HOSTS}, {len(served)} serving robots.txt ({sum(map(len, served)) / 2**20:.1f} MiB)")
    print(f"pairs: {DECISIONS}; agents: {len(agents)} from {AI_ROBOTS.name}, short list {', '.join(short)}")

    started = time.perf_counter()
    ours = [RobotsTxt.from_response(status, body) for status, body in responses]
    ours_rate = HOSTS / (time.perf_counter() - started)
    started = time.perf_counter()
    theirs = [Protego.parse(protego_body(status, body)) for status, body in responses]
    theirs_rate = HOSTS / (time.perf_counter() - started)
    ratio = ours_rate / theirs_rate
    print(f"{'parse':>10}: {ours_rate:>9,.0f} files/s, protego {theirs_rate:>9,.0f}: {ratio:.2f}x")

    for chosen in (agents, short):
        ours_rate, ours_answers = timed(ours_opted_out, ours, pairs, chosen)
        theirs_rate, theirs_answers = timed(protego_opted_out, theirs, pairs, chosen)
        disagree = sum(a != b for a, b in zip(ours_answers, theirs_answers, strict=True))
        label = f"{len(chosen)} agents"
        print(
            f"{label:>10}: {ours_rate:>9,.0f} decisions/s, protego {theirs_rate:>9,.0f}: "
            f"{ours_rate / theirs_rate:.1f}x; opted out {sum(ours_answers)}, protego "
            f"{sum(theirs_answers)}, disagreeing on {disagree}"
        )
    rate = detector_rate(responses, pairs)
    print(f"provenance detector, snapshot store of {HOSTS} origins: {rate:,.0f} documents/s")


if __name__ == "__main__":
    main()
