"""The job config (``audit.yaml``): what to read, which detectors to run, where to write.

Paths inside the file are relative to the file's own folder, so a config and its corpus can be
moved together. ``engine``, ``output.dir`` and ``output.storage_options`` do not change what a run
produces and are left out of the config hash, which is what lets runs on different engines be
compared.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.loading import ConfigError, load_yaml_model
from schemas.policy import Policy
from schemas.sources import SourceManifest

DEFAULT_POLICY = Path(__file__).parent / "defaults" / "policy.yaml"
InputFormat = Literal["auto", "jsonl", "parquet", "warc", "text", "chat"]
"""``chat``: JSONL or Parquet records holding conversations (``pipeline.read.readers.chat``); ``auto``
chooses it too when an input's first record holds one."""
EngineName = Literal["local", "ray", "spark"]


REDACTED = "<redacted>"
_SECRET_KEY = re.compile(r"key|secret|token|passw|credential|auth|session|signature|private|cookie", re.I)
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_url(value: str) -> str:
    """A URL without the user and password it may carry (``https://user:pw@host/`` -> ``https://<redacted>@host/``)."""
    return _URL_USERINFO.sub(f"{REDACTED}@", value)


def redact_options(options: Any, drop: bool = False) -> Any:
    """Storage options with every secret-like key (key, secret, token, password, credentials, ...)
    replaced by ``<redacted>`` (or, with ``drop``, left out), at any depth (``client_kwargs`` too),
    and credentials in URL values removed: what may be written to a run record or a unit row."""
    if isinstance(options, dict):
        kept = {}
        for name, value in options.items():
            if _SECRET_KEY.search(str(name)):
                if not drop:
                    kept[name] = REDACTED
            else:
                kept[name] = redact_options(value, drop)
        return kept
    if isinstance(options, list | tuple):
        return [redact_options(value, drop) for value in options]
    return redact_url(options) if isinstance(options, str) else options


class FieldMap(BaseModel):
    """Which record fields hold the document fields (JSONL and Parquet inputs)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = "id"
    text: str = "text"
    url: str | None = "url"
    retrieved_at: str | None = "retrieved_at"
    license: str | None = "license"
    lang: str | None = "lang"


class InputSpec(BaseModel):
    """Files of one declared source."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="a source id declared in the source manifest")
    paths: list[str] = Field(min_length=1, description="files, glob patterns or folders")
    format: InputFormat = "auto"
    fields: FieldMap = Field(default_factory=FieldMap)
    allow_empty: bool = Field(
        default=False, description="a path or pattern naming nothing is not an error (an empty run is)"
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="options of the fsspec file system of remote paths (s3://, gs://, hf://, http(s)://); "
        "secret-like values are never recorded",
    )


class QuarantineKeySpec(BaseModel):
    """Where the quarantine key is kept: an environment variable or a key file, never the key itself,
    so the config and the run record name the key's place and not its value."""

    model_config = ConfigDict(extra="forbid")

    env: str | None = Field(default=None, description="environment variable holding the key")
    file: str | None = Field(default=None, description="key file (owner-only), relative to the config")

    @model_validator(mode="after")
    def _one_place(self) -> QuarantineKeySpec:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env (an environment variable) or file (a key file)")
        return self


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dir: str = Field(
        default="out/run",
        description="the run folder: a path (relative to the config) or an object-store URL (s3://, ...)",
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="options of the fsspec file system of a run folder URL; never recorded",
    )
    shard_target_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    jsonl_export: bool = False
    quarantine_key: QuarantineKeySpec | None = Field(
        default=None, description="store quarantined documents encrypted (AES-256-GCM) with this key"
    )


class LimitsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_doc_bytes: int = Field(default=8 * 1024 * 1024, gt=0, description="larger records become errors")
    max_decompressed_bytes: int | None = Field(
        default=None,
        gt=0,
        description="bytes one compressed input file may expand to; default 100 times its size, "
        "at least 256 MiB and at most 64 GiB. Past it the rest of the file is one error row",
    )
    batch_size: int = Field(default=1024, gt=0, description="records per Arrow batch")
    split_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="input bytes of one read unit: larger uncompressed JSONL and Parquet files are split, "
        "smaller files packed together",
    )


class EngineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: EngineName = "local"
    partitions: int = Field(default=0, ge=0, description="0 means one per CPU core")
    shuffle_bucket_bytes: int = Field(
        default=256 * 1024 * 1024,
        gt=0,
        description="local engine: most bytes of shuffled rows one worker holds",
    )
    ray_address: str | None = None
    spark_master: str | None = None


class ReportsSpec(BaseModel):
    """Inputs of the reports that no ledger holds: the owner's answers to the datasheet questions."""

    model_config = ConfigDict(extra="forbid")

    answers: str | None = Field(
        default=None, description="YAML of question id -> answer (schemas/templates/datasheet_questions.yaml)"
    )
    review_seed: int = Field(
        default=45654, description="seed of the review and technical samples (hashed with the config)"
    )
    review_sample_size: int = Field(
        default=4000, ge=4000, description="documents in the human review sample (TC260-003: at least 4,000)"
    )
    technical_sample_share: float = Field(
        default=0.1, ge=0.1, le=1.0, description="share of kept documents re-checked by detectors (>= 10%)"
    )


class DetectorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class ChecksSpec(BaseModel):
    """Great Expectations suites run on a finished run's shards, quarantine and ledger
    (``pipeline.record.expectations``); present means they run, and their results go into ``run.json``."""

    model_config = ConfigDict(extra="forbid")

    suites: list[str] = Field(
        default_factory=lambda: ["shards", "quarantine", "ledger"],
        description="shipped suite names (schemas/expectations/<name>.json) or paths of suite JSON files",
    )
    allowed_languages: list[str] | None = Field(
        default=None, description="language codes the shards may hold; no language check if unset"
    )
    pii_types: list[str] = Field(
        default_factory=lambda: ["EMAIL", "URL_CREDENTIALS", "SECRET", "CN_MOBILE", "CN_PLATE"],
        description="pii entity types whose recogniser patterns no shard text may match",
    )
    fail_run: bool = Field(default=False, description="a failed expectation makes the run fail (exit 1)")


def _default_detectors() -> list[DetectorSpec]:
    return [
        DetectorSpec(name="quality.language"),
        DetectorSpec(name="dedup.exact"),
        DetectorSpec(name="dedup.minhash"),
        DetectorSpec(name="pii"),
        DetectorSpec(name="provenance"),
    ]


class AuditConfig(BaseModel):
    """The whole ``audit.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = "audit"
    sources: str = Field(description="path of the source manifest")
    policy: str | None = Field(default=None, description="path of the policy; the shipped default if omitted")
    inputs: list[InputSpec] = Field(min_length=1)
    detectors: list[DetectorSpec] = Field(default_factory=_default_detectors)
    output: OutputSpec = Field(default_factory=OutputSpec)
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    checks: ChecksSpec | None = None
    engine: EngineSpec = Field(default_factory=EngineSpec)
    reports: ReportsSpec = Field(default_factory=ReportsSpec)

    @field_validator("detectors")
    @classmethod
    def _unique_detectors(cls, detectors: list[DetectorSpec]) -> list[DetectorSpec]:
        names = [spec.name for spec in detectors]
        if len(set(names)) != len(names):
            raise ValueError("each detector may appear once")
        return detectors


class LoadedConfig(BaseModel):
    """A validated config with its manifest and policy loaded and paths resolved."""

    model_config = ConfigDict(frozen=True)

    path: Path
    sources_path: Path
    policy_path: Path
    audit: AuditConfig
    sources: SourceManifest
    policy: Policy
    base_dir: Path

    def hashed_content(self) -> dict[str, Any]:
        """What determines a run's output: everything but the engine and the output folder."""
        where = {"engine": True, "output": {"dir", "storage_options"}}
        audit = self.audit.model_dump(mode="json", exclude=where)
        for spec in audit["inputs"]:
            spec["paths"] = [redact_url(path) for path in spec["paths"]]
            spec["storage_options"] = redact_options(spec["storage_options"])
        return {
            "audit": audit,
            "sources": self.sources.model_dump(mode="json"),
            "policy": self.policy.model_dump(mode="json"),
        }

    def resolve(self, relative: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def load_config(path: Path | str) -> LoadedConfig:
    """Load ``audit.yaml`` with its source manifest and policy; raise one :class:`ConfigError`."""
    path = Path(path)
    audit = load_yaml_model(path, AuditConfig)
    base_dir = path.resolve().parent
    sources_path = Path(audit.sources) if Path(audit.sources).is_absolute() else base_dir / audit.sources
    manifest = load_yaml_model(sources_path, SourceManifest)
    if audit.policy is None:
        policy_path = DEFAULT_POLICY
    else:
        policy_path = Path(audit.policy) if Path(audit.policy).is_absolute() else base_dir / audit.policy
    policy = load_yaml_model(policy_path, Policy)
    declared = manifest.by_id()
    for index, spec in enumerate(audit.inputs):
        if spec.source not in declared:
            known = ", ".join(sorted(declared))
            raise ConfigError(
                f"{path}: inputs[{index}].source: {spec.source!r} is not declared in {sources_path} "
                f"(declared: {known})"
            )
    answers = audit.reports.answers
    if answers is not None and not (base_dir / answers).is_file():  # an absolute path stays absolute
        raise ConfigError(f"{path}: reports.answers: {answers!r} is not a file (relative to {base_dir})")
    return LoadedConfig(
        path=path,
        sources_path=sources_path,
        policy_path=policy_path,
        audit=audit,
        sources=manifest,
        policy=policy,
        base_dir=base_dir,
    )
