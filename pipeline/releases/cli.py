"""The ``corpusaudit release`` commands and ``corpusaudit erase``.

Kept apart from :mod:`pipeline.cli`, which registers them, so the main command line loads none of
this until a release command runs. Every command takes ``--registry R``; ``--json`` prints one
JSON object on stdout instead of tables.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from pipeline.releases.registry import Registry, Release

release_app = typer.Typer(
    no_args_is_help=True,
    help="Releases: register verified runs and the models trained on them; list, show, retention.",
)
model_app = typer.Typer(no_args_is_help=True, help="Models and the releases they were trained on.")
release_app.add_typer(model_app, name="model")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

RegistryOption = Annotated[Path, typer.Option("--registry", "-r", help="the registry folder")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON object instead of tables")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=1, ensure_ascii=False, default=str) + "\n")


def _open(registry: Path, create: bool = False) -> Registry:
    from pipeline.releases.registry import Registry, RegistryError

    try:
        return Registry(registry, create=create)
    except RegistryError as exc:
        raise _fail(str(exc)) from None


def _status(release: Release, successors: dict[int, Release]) -> str:
    after = successors.get(release.id)
    return "current" if after is None else f"corrected as {after.ref}"


def _summary(registry: Registry) -> dict[str, Any]:
    successors = registry.successors()
    by_id = {r.id: r for r in registry.releases()}
    return {
        "registry": str(registry.root),
        "releases": [
            {
                **r.describe(),
                "status": _status(r, successors),
                "corrected_from": by_id[r.parent_id].ref if r.parent_id else None,
            }
            for r in by_id.values()
        ],
        "models": [
            {
                "model": m.ref,
                "trained_on": [by_id[i].ref for i in m.release_ids],
                "note": m.note,
                "registered_at": m.registered_at,
            }
            for m in registry.models()
        ],
        "erasures": registry.erasures(),
    }


@release_app.command("register")
def register(
    run_dir: Annotated[Path, typer.Argument(help="a finished, verifying run folder")],
    registry: RegistryOption,
    name: Annotated[str, typer.Option("--name", help="release name")],
    version: Annotated[str, typer.Option("--version", help="release version")],
    key: Annotated[
        Path | None, typer.Option("--key", help="Ed25519 public key: the run's signature must verify with it")
    ] = None,
    skip_inputs: Annotated[bool, typer.Option(help="do not re-hash the run's input files")] = False,
    as_json: JsonOption = False,
) -> None:
    """Verify a run (as `corpusaudit verify` does) and record it as release NAME@VERSION.

    The run folder is referred to, never copied or changed."""
    from pipeline.record.attestation import SigningKeyError
    from pipeline.releases.registry import RegistryError, register_run
    from pipeline.write.run_dir import RunDirError

    reg = _open(registry, create=True)
    try:
        release = register_run(reg, run_dir, name, version, key=key, check_inputs=not skip_inputs)
    except (RegistryError, SigningKeyError, RunDirError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        _print_json(release.describe())
        return
    out.print(
        f"registered {release.ref}: {release.path} (seal root {release.seal_root[:16]}, "
        f"ledger root {release.ledger_root[:16]})",
        highlight=False,
    )


@model_app.command("add")
def model_add(
    registry: RegistryOption,
    name: Annotated[str, typer.Option("--name", help="model name")],
    version: Annotated[str, typer.Option("--version", help="model version")],
    releases: Annotated[
        list[str], typer.Option("--releases", help="NAME@VERSION of a release it was trained on (repeatable)")
    ],
    more: Annotated[list[str] | None, typer.Argument(help="further NAME@VERSION releases")] = None,
    note: Annotated[str | None, typer.Option("--note", help="a free note: training run, card")] = None,
) -> None:
    """Record a model and the releases it was trained on: `--releases N@V [N@V ...]`."""
    from pipeline.releases.registry import RegistryError, add_model
    from pipeline.write.run_dir import RunDirError

    reg = _open(registry)
    try:
        model = add_model(reg, name, version, [*releases, *(more or [])], note)
    except (RegistryError, RunDirError) as exc:
        raise _fail(str(exc)) from None
    by_id = {r.id: r.ref for r in reg.releases()}
    out.print(
        f"registered model {model.ref}, trained on {', '.join(by_id[i] for i in model.release_ids)}",
        highlight=False,
    )


@release_app.command("list")
def list_releases(registry: RegistryOption, as_json: JsonOption = False) -> None:
    """Every release (current or corrected), every model with its releases, every erasure."""
    summary = _summary(_open(registry))
    if as_json:
        _print_json(summary)
        return
    table = Table(title=f"Releases in {summary['registry']}")
    for column in (
        "release",
        "status",
        "training docs",
        "quarantined",
        "ledger root",
        "signed",
        "registered",
    ):
        table.add_column(column, overflow="fold")
    for r in summary["releases"]:
        counts = r["counts"]
        table.add_row(
            r["release"], r["status"], str(counts["kept"] + counts["redacted"]), str(counts["quarantined"]),
            r["ledger_merkle_root"][:16], "yes" if r["attestation"] else "no", r["registered_at"],
        )  # fmt: skip
    out.print(table)
    models = Table(title="Models")
    for column in ("model", "trained on", "registered"):
        models.add_column(column, overflow="fold")
    for m in summary["models"]:
        models.add_row(m["model"], ", ".join(m["trained_on"]), m["registered_at"])
    out.print(models)
    if summary["erasures"]:
        erasures = Table(title="Erasures")
        for column in ("request", "kind", "carried out", "documents", "record"):
            erasures.add_column(column, overflow="fold")
        for e in summary["erasures"]:
            erasures.add_row(
                e["request_id"], e["kind"], e["carried_out"], str(e["documents"]), e["record_path"]
            )
        out.print(erasures)


@release_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME@VERSION")],
    registry: RegistryOption,
    as_json: JsonOption = False,
) -> None:
    """One release: where it is, its roots, lineage, erasures, sources and the models trained on it."""
    from pipeline.record.run_record import load_run_record
    from pipeline.releases.registry import RegistryError

    reg = _open(registry)
    try:
        release = reg.release(ref)
    except RegistryError as exc:
        raise _fail(str(exc)) from None
    summary = next(r for r in _summary(reg)["releases"] if r["release"] == release.ref)
    lineage = reg.lineage(release)
    record = load_run_record(release.path) if release.path.is_dir() else {}
    sources = (record.get("config") or {}).get("sources", {}).get("sources", [])
    shown = {
        **summary,
        "lineage": [r.ref for r in lineage],
        "models": [m.ref for m in reg.models() if release.id in m.release_ids],
        "models_of_earlier_versions": [
            m.ref for m in reg.models() if set(m.release_ids) & {r.id for r in lineage[1:]}
        ],
        "erasures": record.get("erasures", []),
        "sources": [
            {key: s.get(key) for key in ("id", "license", "jurisdiction", "redistribution", "retain_until")}
            for s in sources
        ],
        "folder_present": release.path.is_dir(),
    }
    if as_json:
        _print_json(shown)
        return
    table = Table(title=f"Release {release.ref}", show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key in (
        "status",
        "path",
        "seal_root",
        "ledger_merkle_root",
        "config_sha256",
        "run_name",
        "registered_at",
    ):
        table.add_row(key, str(shown[key]))
    table.add_row("counts", ", ".join(f"{v} {k}" for k, v in shown["counts"].items()))
    table.add_row("attestation", json.dumps(shown["attestation"]) if shown["attestation"] else "not signed")
    table.add_row("lineage", " <- ".join(shown["lineage"]))
    table.add_row("models", ", ".join(shown["models"]) or "none registered")
    if shown["models_of_earlier_versions"]:
        table.add_row("models of earlier versions", ", ".join(shown["models_of_earlier_versions"]))
    for erasure in shown["erasures"]:
        table.add_row("erasure", f"{erasure['request_id']} ({erasure['kind']}) on {erasure['date']}: "
                      f"{erasure['documents']} document(s)")  # fmt: skip
    for source in shown["sources"]:
        table.add_row(
            "source", f"{source['id']}: {source['license']}, retain until {source['retain_until'] or '-'}"
        )
    out.print(table)


@release_app.command("expiring")
def expiring(
    registry: RegistryOption,
    before: Annotated[str, typer.Option("--before", help="a date, YYYY-MM-DD")],
    as_json: JsonOption = False,
) -> None:
    """Releases holding documents of sources whose retain_until is before DATE, and those documents."""
    from pipeline.releases.retention import expiring as find_expiring

    try:
        day = date.fromisoformat(before)
    except ValueError:
        raise _fail(f"--before {before!r}: give a date as YYYY-MM-DD") from None
    found = find_expiring(_open(registry), day)
    if as_json:
        _print_json({"before": day.isoformat(), "releases": found})
        return
    table = Table(title=f"Releases holding documents whose retention ends before {day.isoformat()}")
    for column in ("release", "current", "source", "retain until", "documents"):
        table.add_column(column, overflow="fold")
    for entry in found:
        for source in entry["sources"] or [
            {"source": entry.get("why", ""), "retain_until": "", "documents": ""}
        ]:
            table.add_row(
                entry["release"], "yes" if entry["current"] else "no", source["source"],
                source["retain_until"], str(source["documents"]),
            )  # fmt: skip
    out.print(table)


def erase(
    registry: RegistryOption,
    request: Annotated[
        Path | None, typer.Option("--request", help="YAML: id and emails, phones, id_numbers, urls, ...")
    ] = None,
    optout: Annotated[
        Path | None,
        typer.Option(
            "--optout", help="YAML: id and a newer snapshot_store (and snapshot) or optout_registry"
        ),
    ] = None,
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="Ed25519 private key to sign the corrected releases")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Remove what a request names from every registered release: corrected releases, an erasure
    record and a summary for the data protection officer, all inside the registry."""
    from pipeline.record.attestation import SigningKeyError
    from pipeline.releases.correct import CorrectionError
    from pipeline.releases.erase import RECORD
    from pipeline.releases.erase import erase as run_erasure
    from pipeline.releases.find import SearchError
    from pipeline.releases.registry import ERASURES_DIR, RegistryError
    from pipeline.write.quarantine_cipher import QuarantineKeyError
    from pipeline.write.run_dir import RunDirError
    from schemas.erasure import ErasureRequest, OptOutRequest
    from schemas.loading import ConfigError, load_yaml_model

    if (request is None) == (optout is None):
        raise _fail("give exactly one of --request FILE or --optout FILE")
    reg = _open(registry)
    path = request or optout
    assert path is not None
    try:
        parsed = load_yaml_model(path, ErasureRequest if request is not None else OptOutRequest)
        record = run_erasure(reg, parsed, path.resolve().parent, sign_key)
    except (
        ConfigError, RegistryError, SearchError, SigningKeyError, CorrectionError, QuarantineKeyError,
        RunDirError, ValueError,
    ) as exc:  # fmt: skip
        raise _fail(str(exc)) from None
    if as_json:
        _print_json(record)
        return
    table = Table(title=f"Request {record['request']['id']} ({record['request']['kind']})")
    for column in ("release", "documents", "result", "corrected release"):
        table.add_column(column, overflow="fold")
    for r in record["releases"]:
        table.add_row(
            r["release"],
            str(len(r["documents"])),
            r["status"],
            r["corrected"]["release"] if r["corrected"] else "",
        )
    out.print(table)
    for r in record["releases"]:
        for unsearched in r["unsearchable"]:
            err.print(
                f"[yellow]not searched:[/] {r['release']}: "
                f"{', '.join(unsearched['criteria'])}: {unsearched['why']}",
                highlight=False,
            )
    models = ", ".join(f"{m['model']} (trained on {', '.join(m['trained_on'])})" for m in record["models"])
    out.print(
        f"{record['documents_removed']} document(s) removed in {record['seconds']} s; "
        f"models trained on affected releases: {models or 'none registered'}",
        highlight=False,
    )
    for r in record["releases"]:
        if r["documents"] and not r["in_registry"]:
            err.print(
                f"[yellow]still holds them:[/] {r['path']} ({r['release']}), registered from a run and never "
                "deleted by the registry; delete or archive it once the corrected release replaces it",
                highlight=False,
            )
    folder = reg.root / ERASURES_DIR / record["request"]["id"]
    out.print(
        f"wrote {folder / RECORD}, {folder / 'summary.md'} and {folder / 'summary.html'}", highlight=False
    )
