"""The ``provenance`` detector: may this document be used for training, and on what evidence?

It checks a document against what its site says today (robots.txt, tdmrep.json and ai.txt from a
dated snapshot, see :mod:`detectors.provenance.store`), against what the page said when it was
crawled (``X-Robots-Tag``, ``tdm-reservation`` and ``Content-Signal`` headers, robots and TDMRep
``<meta>`` tags, kept by the WARC reader in ``meta``), against the curator's opt-out registry
and blacklist, and its licence against an allowlist. Every signal found is named in the
annotations, and robots.txt decisions name the snapshot, the agent and the rule.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.base import Detector
from detectors.provenance.robots import RobotsTxt
from detectors.provenance.signals import (
    content_signal_denies_training,
    robots_directives,
    robots_txt_content_signal,
    tdmrep_reserves,
    tdmrep_rules,
)
from detectors.provenance.store import Snapshot, SnapshotStore, SnapshotStoreError, origin_of
from schemas.loading import load_yaml_model
from schemas.provenance import Blacklist, OptOutRegistry
from schemas.sources import licence_allowed, validate_spdx

INFORMATIONAL = frozenset({"x-robots-tag:noimageai", "meta-robots:noimageai"})
"""Signals recorded as evidence that do not reserve a text (they concern images)."""


@cache
def bundled_agents() -> tuple[str, ...]:
    """Every AI crawler token of the bundled ai.robots.txt list (``schemas/optout``)."""
    listing = resources.files("schemas") / "optout" / "ai_robots.json"
    return tuple(sorted(json.loads(listing.read_text(encoding="utf-8"))))


class ProvenanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snapshot_store: str | None = Field(
        default=None, description="robots snapshot store (jobs.snapshot_robots)"
    )
    snapshot: str | None = Field(default=None, description="snapshot id; the latest if unset")
    agents: list[str] | None = Field(default=None, description="training crawlers; the bundled list if unset")
    product_token: str = Field(default="corpusaudit", pattern=r"^[A-Za-z_-]+$")
    optout_registry: str | None = None
    blacklist: str | None = None
    license_allowlist: list[str] | None = Field(default=None, description="SPDX ids; unchecked if unset")

    @field_validator("license_allowlist")
    @classmethod
    def _spdx_ids(cls, values: list[str] | None) -> list[str] | None:
        for value in values or ():
            validate_spdx(value)
            if " " in value.strip():
                raise ValueError(f"{value!r}: list licence ids, not expressions")
        return values


@dataclass
class _Site:
    """What a snapshot says about one origin, compiled once per process."""

    robots: RobotsTxt | None
    tdmrep: list[tuple[str, bool]]
    ai_txt: RobotsTxt | None
    content_signal: bool


class _Registry:
    """The opt-out registry as lookups."""

    def __init__(self, registry: OptOutRegistry) -> None:
        self.urls = {e.url.split("#", 1)[0] for e in registry.entries if e.url}
        self.prefixes = tuple(e.prefix for e in registry.entries if e.prefix)
        self.domains = {e.domain for e in registry.entries if e.domain}
        self.hashes = {e.sha256 for e in registry.entries if e.sha256}

    def match(self, url: str | None, host: str | None, content_sha256: str | None) -> str | None:
        if url is not None and url.split("#", 1)[0] in self.urls:
            return "registry:url"
        if url is not None and url.startswith(self.prefixes):
            return "registry:prefix"
        if host is not None and _under(host, self.domains):
            return "registry:domain"
        if content_sha256 in self.hashes:
            return "registry:sha256"
        return None


def _under(host: str, domains: set[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


class ProvenanceDetector(Detector):
    """Adds ``provenance.domain``, ``provenance.optout`` (any reservation against AI training),
    ``provenance.signals`` (JSON list of what reserved it), ``provenance.robots`` (JSON: snapshot,
    origin, decision, agent, rule), ``provenance.blacklisted`` (the blacklist entry id),
    ``provenance.license`` and ``provenance.license_allowed``."""

    name = "provenance"
    Params = ProvenanceParams
    PATH_PARAMS: ClassVar[tuple[str, ...]] = ("snapshot_store", "optout_registry", "blacklist")

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        p = self.params
        self.agents = tuple(
            dict.fromkeys([*(p.agents if p.agents is not None else bundled_agents()), p.product_token])
        )
        self._snapshot: Snapshot | None = None
        if p.snapshot_store is not None:
            try:
                self._snapshot = SnapshotStore(Path(p.snapshot_store)).load(p.snapshot)
            except (OSError, SnapshotStoreError) as exc:
                raise ValueError(f"detector {self.name}: snapshot_store: {exc}") from None
        self._registry = _Registry(
            load_yaml_model(Path(p.optout_registry), OptOutRegistry)
            if p.optout_registry
            else OptOutRegistry()
        )
        self._blacklist = load_yaml_model(Path(p.blacklist), Blacklist) if p.blacklist else Blacklist()
        self._allowed = frozenset(p.license_allowlist) if p.license_allowlist is not None else None
        self._sites: dict[str, _Site | None] = {}

    def output_fields(self) -> list[pa.Field]:
        return [
            pa.field("provenance.domain", pa.string()),
            pa.field("provenance.optout", pa.bool_()),
            pa.field("provenance.signals", pa.string()),
            pa.field("provenance.robots", pa.string()),
            pa.field("provenance.blacklisted", pa.string()),
            pa.field("provenance.license", pa.string()),
            pa.field("provenance.license_allowed", pa.bool_()),
        ]

    def _site(self, origin: str) -> _Site | None:
        """The origin's collected policies, read from the snapshot once per origin (None: not collected)."""
        if self._snapshot is None:
            return None
        if origin not in self._sites:
            snapshot = self._snapshot
            robots_entry = snapshot.entry(origin, "robots.txt")
            if robots_entry is None:
                self._sites[origin] = None
                return None
            robots_body = snapshot.body(origin, "robots.txt")
            tdmrep = snapshot.entry(origin, "tdmrep.json")
            ai_txt = snapshot.entry(origin, "ai.txt")
            self._sites[origin] = _Site(
                robots=RobotsTxt.from_response(robots_entry.status, robots_body),
                tdmrep=tdmrep_rules(snapshot.body(origin, "tdmrep.json") or b"") if _served(tdmrep) else [],
                ai_txt=RobotsTxt.from_response(ai_txt.status, snapshot.body(origin, "ai.txt"))
                if _served(ai_txt)
                else None,
                content_signal=_served(robots_entry) and robots_txt_content_signal(robots_body or b""),
            )
        return self._sites[origin]

    def _page_signals(self, meta: dict[str, Any]) -> set[str]:
        signals: set[str] = set()
        headers = meta.get("http_headers") or {}
        html = meta.get("html_meta") or {}
        for where, value in (
            ("x-robots-tag", headers.get("X-Robots-Tag")),
            ("meta-robots", html.get("robots")),
        ):
            if value:
                directives = robots_directives(value, self.agents)
                signals.update(f"{where}:{d}" for d in ("noai", "noimageai") if d in directives)
        if str(headers.get("tdm-reservation", "")).strip() == "1":
            signals.add("tdm-reservation-header")
        if str(html.get("tdm-reservation", "")).strip() == "1":
            signals.add("tdm-reservation-meta")
        if headers.get("Content-Signal") and content_signal_denies_training(headers["Content-Signal"]):
            signals.add("content-signal-header")
        return signals

    def _robots(self, url: str, origin: str, site: _Site | None, signals: set[str]) -> dict[str, Any]:
        assert self._snapshot is not None
        evidence: dict[str, Any] = {"snapshot": self._snapshot.id, "origin": origin}
        if site is None:
            return evidence | {"decision": "not-collected"}
        denied = site.robots.opted_out(url, self.agents) if site.robots else None
        if denied is not None:
            signals.add("robots.txt")
            evidence |= {
                "decision": "disallow",
                "agent": denied.agent,
                "rule": denied.rule,
                "reason": denied.reason,
            }
        else:
            evidence["decision"] = "allow"
        if site.tdmrep and tdmrep_reserves(site.tdmrep, url):
            signals.add("tdmrep.json")
        if site.ai_txt is not None and not site.ai_txt.decide(url, "*").allowed:
            signals.add("ai.txt")
        if site.content_signal:
            signals.add("robots.txt-content-signal")
        return evidence

    def _blacklisted(self, url: str | None, host: str | None, source_id: str) -> str | None:
        for entry in self._blacklist.entries:
            if (
                (entry.source is not None and entry.source == source_id)
                or (entry.domain is not None and host is not None and _under(host, {entry.domain}))
                or (
                    entry.url_pattern is not None
                    and url is not None
                    and fnmatch.fnmatchcase(url, entry.url_pattern)
                )
            ):
                return entry.id
        return None

    def annotate(self, batch: pa.RecordBatch) -> list[pa.Array]:
        rows = zip(
            batch.column("url").to_pylist(),
            batch.column("source_id").to_pylist(),
            batch.column("license").to_pylist(),
            batch.column("meta").to_pylist(),
            batch.column("content_sha256").to_pylist(),
            strict=True,
        )
        return self.rows_to_arrays(self._annotate_one(*row) for row in rows)

    def _annotate_one(
        self, url: str | None, source_id: str, licence: str | None, meta: str | None, content_sha256: str
    ) -> dict[str, Any]:
        origin = host = None
        if url:
            try:
                origin, host = origin_of(url), urlsplit(url).hostname
            except ValueError:
                origin = host = None
        signals = self._page_signals(json.loads(meta) if meta else {})
        robots = None
        if origin is not None and self._snapshot is not None:
            robots = self._robots(url, origin, self._site(origin), signals)
        registered = self._registry.match(url, host, content_sha256)
        if registered:
            signals.add(registered)
        return {
            "provenance.domain": host,
            "provenance.optout": bool(signals - INFORMATIONAL),
            "provenance.signals": json.dumps(sorted(signals)) if signals else None,
            "provenance.robots": json.dumps(robots, sort_keys=True, separators=(",", ":"))
            if robots
            else None,
            "provenance.blacklisted": self._blacklisted(url, host, source_id),
            "provenance.license": licence,
            "provenance.license_allowed": None
            if self._allowed is None
            else bool(licence) and licence_allowed(licence, self._allowed),
        }

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {**super().describe(), "agents": len(self.agents)}
        if self._snapshot is not None:
            described["snapshot"] = {"id": self._snapshot.id, "origins": len(self._snapshot.origins())}
        for name in ("optout_registry", "blacklist"):
            path = getattr(self.params, name)
            if path:
                described[f"{name}_sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return described


def _served(entry: Any) -> bool:
    """A snapshot entry for a file the site actually served (2xx)."""
    return entry is not None and entry.status is not None and 200 <= entry.status < 300
