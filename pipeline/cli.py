"""The ``corpusaudit`` command line."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pipeline.layout import MARKER, RUN_RECORD
from pipeline.releases.cli import erase, release_app
from schemas.loading import ConfigError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Audit and curate training corpora.",
)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
app.add_typer(release_app, name="release")
app.command("erase")(erase)

EngineOption = Annotated[
    str | None, typer.Option("--engine", "-e", help="local (default), ray or spark; overrides the config")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def show_version(value: bool) -> None:
    if value:
        out.print(f"corpusaudit {metadata.version('corpusaudit')}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=show_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """Audit and curate training corpora."""


EXIT_CODES: dict[int, tuple[str, str]] = {
    0: ("ok", "the run finished and its outputs are sealed"),
    1: ("checks_failed", "the run finished, its expectations failed; outputs and run.json kept as evidence"),
    2: ("error", "the run did not finish: config, run folder, signing key or environment (disk, access)"),
    3: ("error", "unexpected error; the traceback is on stderr"),
}
"""What ``corpusaudit run`` exits with, and the status its ``--json`` object reports for it."""


def run_summary(
    exit_code: int, run_dir: Path | str | None, record: dict[str, Any] | None, error: str | None
) -> dict:
    """The one object ``run --json`` prints: the same keys whatever happened, null where unknown."""
    status, meaning = EXIT_CODES[exit_code]
    record = record or {}
    return {
        "status": status,
        "exit_code": exit_code,
        "exit_meaning": meaning,
        "run_dir": str(run_dir) if run_dir is not None else None,
        "counts": record.get("counts"),
        "ledger_merkle_root": record.get("ledger_merkle_root"),
        "elapsed_seconds": record.get("elapsed_seconds"),
        "docs_per_second": record.get("docs_per_second"),
        "engine": record.get("engine"),
        "error": error,
    }


def saved_record(run_dir: Path | str | None, options: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The run.json a failed run left behind (checks failed: the outputs are kept), if any; a run
    folder on object storage is read with its storage ``options``."""
    from pipeline.write.store import ObjectStore

    if run_dir is None:
        return None
    try:
        if isinstance(run_dir, str):
            found = ObjectStore(run_dir, options or {}).read(RUN_RECORD)
            return json.loads(found) if found is not None else None
        return json.loads((run_dir / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout to stderr while a ``--json`` run works.

    Schedulers parse stdout, so libraries that print, the engine's worker processes and the JVM
    must not reach it: the file descriptor is redirected as well as ``sys.stdout`` (when stdout
    has one: typer's test runner gives streams without).
    """
    sys.stdout.flush()
    try:
        stdout, stderr = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    saved = os.dup(stdout)
    os.dup2(stderr, stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, stdout)
        os.close(saved)


def environment_fault(exc: BaseException) -> OSError | None:
    """The OSError (full disk, read-only folder, missing permission) behind ``exc``, if one is.

    Engines hand a worker's error back wrapped (Ray's task errors keep it as ``cause``), so the chain
    of causes is searched, not just the exception itself.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    return None


def fault_message(fault: OSError, resumes: bool) -> str:
    """One line naming the path, what the system said, and what to do."""
    where = f"{fault.filename}: " if fault.filename else ""
    then = "; fix it and run the same command again: the run resumes where it stopped" if resumes else ""
    return f"{where}{fault.strerror or fault}{then}"


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="audit.yaml")],
    engine: EngineOption = None,
    partitions: Annotated[int | None, typer.Option(help="parallel partitions; 0 = one per core")] = None,
    out_dir: Annotated[
        str | None,
        typer.Option("--out", "-o", help="run folder (a path or an s3:// URL); overrides output.dir"),
    ] = None,
    force: Annotated[bool, typer.Option(help="replace a run folder that holds another run")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress output")] = False,
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="Ed25519 private key (keygen) to sign the sealed run")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="print one JSON object for schedulers on stdout; everything else on stderr"
        ),
    ] = False,
) -> None:
    """Audit a corpus: read, detect, decide, write shards, ledger, run.json and the reports."""
    from pipeline.record.attestation import SigningKeyError
    from pipeline.record.expectations import ChecksFailed
    from pipeline.run import RunDirError, run_audit, run_folder
    from schemas.config import LoadedConfig, load_config

    loaded: LoadedConfig | None = None

    def finish(code: int, message: str | None = None, record: dict[str, Any] | None = None) -> typer.Exit:
        """Report the outcome: a line on stderr on failure, and the JSON object with ``--json``."""
        folder = run_folder(loaded, out_dir) if loaded is not None else None
        if message is not None:
            err.print(f"[bold red]error:[/] {message}", highlight=False)
        if as_json:
            if record is None and code < 2 and loaded is not None:
                record = saved_record(folder, loaded.audit.output.storage_options)
            summary = run_summary(code, folder, record if code < 2 else None, message)
            sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return typer.Exit(code)

    if engine is not None and engine not in {"local", "ray", "spark"}:
        raise finish(2, f"--engine: {engine!r} is not one of local, ray, spark")
    try:
        with stdout_to_stderr() if as_json else contextlib.nullcontext():
            loaded = load_config(config)
            result = run_audit(
                loaded,
                engine=engine,
                partitions=partitions,
                out_dir=out_dir,
                force=force,
                progress=not quiet,
                sign_key=sign_key,
            )
    except (ConfigError, RunDirError, SigningKeyError) as exc:
        raise finish(2, str(exc)) from None
    except ChecksFailed as exc:
        raise finish(1, str(exc)) from None
    except Exception as exc:
        fault = environment_fault(exc)
        if fault is not None:
            raise finish(2, fault_message(fault, resumes=True)) from None
        if not as_json:
            raise
        traceback.print_exc()
        # only the type: the message of an unexpected error may quote a document, and the object is kept
        raise finish(3, f"{type(exc).__name__} (the traceback is on stderr)") from None
    counts = result.record["counts"]
    summary = ", ".join(f"{value} {name}" for name, value in counts.items())
    human = err if as_json else out
    human.print(f"{result.location}: {summary}", highlight=False)
    human.print(f"ledger root {result.record['ledger_merkle_root']}", highlight=False)
    if as_json:
        raise finish(0, record=result.record)


@app.command()
def verify(
    location: Annotated[
        str, typer.Argument(help="a finished run folder (a path or an s3://... URL), or an audit archive")
    ],
    skip_inputs: Annotated[bool, typer.Option(help="do not re-hash the input files")] = False,
    key: Annotated[
        Path | None, typer.Option("--key", help="Ed25519 public key (PATH.pub) to check the run's signature")
    ] = None,
    input_base: Annotated[
        Path | None,
        typer.Option("--input-base", help="read the inputs from this folder, not the recorded one"),
    ] = None,
) -> None:
    """Check that the folder is exactly what the run sealed and the record matches the ledger; exit 1 naming
    the first file or field that differs. With --key, also that the signature is the key holder's.
    An audit archive is checked on its own: its members, their chain to the run's seal, its ledger."""
    from pipeline.record.attestation import SigningKeyError
    from pipeline.record.verify import verify_archive, verify_remote_run, verify_run
    from pipeline.write.remote_folder import is_url

    run_dir = location if is_url(location) else Path(location)
    archive = isinstance(run_dir, Path) and run_dir.is_file()
    try:
        if archive:
            report = verify_archive(run_dir, key=key)
        elif isinstance(run_dir, str):
            report = verify_remote_run(run_dir, check_inputs=not skip_inputs, key=key, input_base=input_base)
        else:
            report = verify_run(run_dir, check_inputs=not skip_inputs, key=key, input_base=input_base)
    except (FileNotFoundError, SigningKeyError) as exc:
        raise fail(str(exc)) from None
    except (KeyError, ValueError) as exc:
        raise fail(f"{run_dir}/run.json is not a valid run record: {exc}") from None
    if report.ok:
        out.print(
            f"{run_dir}: OK ({report.checked} members checked against the archive's manifest and the run's "
            f"seal, root {report.root})"
            if archive
            else f"{run_dir}: OK ({report.checked} files checked against the seal, root {report.root}; "
            "ledger root and counts match)",
            highlight=False,
        )
        note = report.authenticity
        if key is None and report.signed:
            what = "archive" if archive else "run"
            note += f" (the {what} is signed: pass --key PATH.pub to check the signature)"
        out.print(note, highlight=False)
        return
    for problem in report.problems:
        err.print(f"[red]changed:[/] {problem}", highlight=False)
    raise typer.Exit(1)


@app.command()
def keygen(
    path: Annotated[
        Path, typer.Argument(help="where to write the private key; PATH.pub gets the public one")
    ],
) -> None:
    """Write a new Ed25519 signing key pair for run --sign-key and verify --key."""
    from pipeline.record.attestation import SigningKeyError
    from pipeline.record.attestation import keygen as make_keys

    try:
        private, public = make_keys(path)
    except (SigningKeyError, OSError) as exc:
        raise fail(str(exc)) from None
    out.print(
        f"wrote {private} (private, owner-only: keep it outside run folders) and {public}", highlight=False
    )


@app.command("export-audit")
def export_audit(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    tier: Annotated[str, typer.Option("--tier", help="public, regulator or internal")],
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="archive to write (default NAME-TIER-audit.zip here)")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="why: recorded in the access log (required for internal)")
    ] = None,
    sign_key: Annotated[
        Path | None, typer.Option("--sign-key", help="Ed25519 private key (keygen) to sign the archive")
    ] = None,
    redact_pii: Annotated[
        bool, typer.Option("--redact-pii", help="public tier: replace personal information found, not refuse")
    ] = False,
) -> None:
    """Write the run's evidence for one tier of reader as one ZIP archive that `verify` checks on its own.
    public: dataset card, EU AI Act summary, datasheet without samples (refused if personal information is
    found, or with --redact-pii redacted); regulator: adds the TC260 assessment, redacted review sample,
    ledger, attestation and the 算法备案 training-data section; internal: the whole run folder, quarantine
    included (logged)."""
    from pipeline.export import ExportError
    from pipeline.export.package import export_audit as write_export
    from pipeline.record.access_log import AccessLogError
    from pipeline.record.attestation import SigningKeyError
    from pipeline.write.run_dir import RunDirError

    try:
        result = write_export(
            run_dir, tier, out_file, reason=reason, sign_key=sign_key, redact_pii=redact_pii
        )
    except (ExportError, AccessLogError, SigningKeyError, RunDirError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(fault_message(exc, resumes=False)) from None
    manifest = result.manifest
    out.print(
        f"wrote {result.path}: {tier} tier, {len(manifest['files'])} files, root {manifest['root']}"
        + (f"; access log entry {result.access_entry['seq']}" if result.access_entry else ""),
        highlight=False,
    )


@app.command("quarantine-read")
def quarantine_read(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    reason: Annotated[str, typer.Option("--reason", help="why they are read: recorded in the access log")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="new JSONL file for them (owner-only)")],
) -> None:
    """Decrypt the run's quarantined documents into a new JSONL file for review; the read is logged first."""
    from detectors import build_detector
    from pipeline.export.package import clean_reason
    from pipeline.export.quarantine import read_quarantine, write_documents
    from pipeline.record.access_log import AccessLogError
    from pipeline.write.quarantine_cipher import QuarantineKeyError
    from pipeline.write.run_dir import RunDirError

    if out_file.resolve().is_relative_to(run_dir.resolve()):
        raise fail(f"--out {out_file} is inside the run folder; write the documents outside it")
    if out_file.exists():
        raise fail(f"--out {out_file} exists; it is never overwritten")
    if not reason.strip():
        raise fail("--reason is empty: the access log records why the documents are read")
    try:
        table = read_quarantine(run_dir, reason=clean_reason(reason, build_detector("pii")))
        write_documents(table, out_file)
    except (QuarantineKeyError, AccessLogError, RunDirError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {table.num_rows} quarantined documents to {out_file} (the read is in the access log)")


@app.command("quarantine-keygen")
def quarantine_keygen(
    path: Annotated[Path, typer.Argument(help="where to write the key (owner-only), outside run folders")],
) -> None:
    """Write a new random quarantine key for output.quarantine_key: {file: PATH}, or {env: VAR} holding it."""
    from pipeline.write.quarantine_cipher import QuarantineKeyError, write_key_file

    try:
        write_key_file(path)
    except (QuarantineKeyError, OSError) as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {path} (owner-only); keep it outside run folders and back it up", highlight=False)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    answers: Annotated[
        Path | None,
        typer.Option("--answers", help="datasheet answers (question id -> answer) replacing the run's copy"),
    ] = None,
    sign_key: Annotated[
        Path | None,
        typer.Option("--sign-key", help="sign the resealed folder (an earlier signature is removed)"),
    ] = None,
) -> None:
    """Rebuild the reports of a run from its ledger and run record alone, and reseal the folder."""
    from pipeline.record.attestation import load_private_key
    from pipeline.record.finish import finish_run
    from pipeline.report import write_reports
    from pipeline.report.answers import store_answers
    from pipeline.write.run_dir import RunDirError, locked, mark_stage, read_marker, record_written

    try:
        if read_marker(run_dir) is None:
            raise RunDirError(f"{run_dir} is not a corpusaudit run folder (no {MARKER}); nothing was written")
        key = load_private_key(sign_key, run_dir) if sign_key is not None else None
        with locked(run_dir):
            mark_stage(run_dir, "rebuilding the reports")
            if answers is not None:
                store_answers(run_dir, answers)
            paths = write_reports(run_dir)
            record_written(run_dir, [path.relative_to(run_dir).as_posix() for path in paths])
            finish_run(run_dir, key, "report")
    except (FileNotFoundError, ValueError, RunDirError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(fault_message(exc, resumes=False)) from None
    for path in paths:
        out.print(f"wrote {path}", highlight=False)


REVIEW_KINDS = ("tc260", "annotation")
ReviewKind = Annotated[
    str,
    typer.Option(
        "--kind", help="tc260: the TC260-003 review of the release; annotation: labelled sources' labels"
    ),
]


@app.command("review-sample")
def review_sample(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")], kind: ReviewKind = "tc260"
) -> None:
    """Draw a review sample from the ledger and seed and write its worksheet under reports/; reseal."""
    from pipeline.record.finish import finish_run
    from pipeline.report.annotation import write_annotation_sample
    from pipeline.report.review_sample import write_review_sample
    from pipeline.write.run_dir import RunDirError, locked, mark_stage, read_marker, record_written

    if kind not in REVIEW_KINDS:
        raise fail(f"--kind {kind!r} is not one of {', '.join(REVIEW_KINDS)}")
    try:
        if read_marker(run_dir) is None:
            raise RunDirError(f"{run_dir} is not a corpusaudit run folder (no {MARKER}); nothing was written")
        with locked(run_dir):
            mark_stage(run_dir, f"drawing the {kind} review sample")
            paths = write_annotation_sample(run_dir) if kind == "annotation" else write_review_sample(run_dir)
            record_written(run_dir, [p.relative_to(run_dir).as_posix() for p in paths])
            finish_run(run_dir, None, "review-sample")
    except (FileNotFoundError, ValueError, RunDirError) as exc:
        raise fail(str(exc)) from None
    for written in paths:
        out.print(f"wrote {written}", highlight=False)


@app.command("review-import")
def review_import(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    verdicts: Annotated[Path, typer.Argument(help="the filled-in review_sample.csv (annotation_sample.csv)")],
    kind: ReviewKind = "tc260",
) -> None:
    """Import reviewers' verdicts on a review sample; print the pass rate or the labels' accuracy with
    its 95% interval, and update the assessment (and, for annotation, the datasheet)."""
    from pipeline.record.finish import finish_run
    from pipeline.report.annotation import accuracy_message, import_annotation_review
    from pipeline.report.datasheet import write_datasheet
    from pipeline.report.review_import import ReviewImportError, import_review
    from pipeline.report.tc260_assessment import write_assessment
    from pipeline.write.run_dir import RunDirError, locked, mark_stage, read_marker, record_written

    if kind not in REVIEW_KINDS:
        raise fail(f"--kind {kind!r} is not one of {', '.join(REVIEW_KINDS)}")
    try:
        if read_marker(run_dir) is None:
            raise RunDirError(f"{run_dir} is not a corpusaudit run folder (no {MARKER}); nothing was written")
        with locked(run_dir):
            mark_stage(run_dir, f"importing {kind} review verdicts")
            if kind == "annotation":
                result, path = import_annotation_review(run_dir, verdicts)
                written = [path, *write_datasheet(run_dir), *write_assessment(run_dir)]
            else:
                result, path = import_review(run_dir, verdicts)
                written = [path, *write_assessment(run_dir)]
            record_written(run_dir, [p.relative_to(run_dir).as_posix() for p in written])
            finish_run(run_dir, None, "review-import")
    except (FileNotFoundError, ReviewImportError, RunDirError) as exc:
        raise fail(str(exc)) from None
    if kind == "annotation":
        for line in accuracy_message(result):
            out.print(line, highlight=False)
    else:
        out.print(
            f"{result['passed']} of {result['n']} passed: {100 * result['pass_rate']:.2f}% "
            f"(Wilson 95% {100 * result['wilson_low']:.2f}% to {100 * result['wilson_high']:.2f}%); "
            f"requirement {100 * result['requirement']:.0f}% {'met' if result['met'] else 'not met'}, "
            f"lower bound {'clears' if result['met_lower_bound'] else 'does not clear'} it",
            highlight=False,
        )
    for item in written:
        out.print(f"wrote {item}", highlight=False)


@app.command("dedup-report")
def dedup_report(
    run_dir: Annotated[Path, typer.Argument(help="a finished run folder")],
    top: Annotated[int, typer.Option("--top", min=0, help="how many of the largest clusters to show")] = 5,
    snippet_chars: Annotated[
        int, typer.Option("--snippet-chars", min=1, help="characters of text shown per document")
    ] = 160,
    html: Annotated[
        Path | None, typer.Option("--html", help="also write the report, snippets included, as HTML")
    ] = None,
) -> None:
    """Show a run's duplicates: counts, cluster sizes, the largest clusters with text, removals per source.

    Numbers come from the ledger; the snippets are read again from the run's inputs and are only
    printed (or written to --html), never stored anywhere else.
    """
    from pipeline.report.dedup import dedup_summary, load_snippets, render_console, write_html

    try:
        summary = dedup_summary(run_dir, top=top)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    except (KeyError, ValueError) as exc:
        raise fail(f"{run_dir}/run.json is not a valid run record: {exc}") from None
    snippets = load_snippets(run_dir, summary, chars=snippet_chars)
    render_console(summary, snippets, out)
    if html is not None:
        try:
            write_html(html, summary, snippets)
        except OSError as exc:
            raise fail(f"cannot write {html}: {exc.strerror or exc}") from None
        out.print(f"wrote {html}", highlight=False)


@app.command()
def validate(config: Annotated[Path, typer.Argument(help="audit.yaml")]) -> None:
    """Check a config, its source manifest, policy and checks without running anything."""
    from pipeline.read.plan import plan_inputs
    from pipeline.run import plan_run
    from schemas.config import load_config

    try:
        loaded = load_config(config)
        plan = plan_run(loaded)
        files = len(plan_inputs(loaded, plan.scrubber).units)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"{config}: valid ({len(loaded.audit.inputs)} inputs naming {files} file(s), "
        f"{len(plan.policy.rules)} rules"
        + (
            f"; {len(plan.rules_left_out)} default rules left out: no detector for them"
            if plan.rules_left_out
            else ""
        )
        + ")",
        highlight=False,
    )
