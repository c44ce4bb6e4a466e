"""Keyword library coverage against TC260-003: ``python -m jobs.keyword_coverage LIBRARY_FOLDER``.

Prints the TC260-003 minimums (10,000 terms; every risk of A.1 and A.2 covered, 200 terms for
each A.1 risk and 100 for each A.2 risk) with what the library has and the shortfall, then the
terms per risk and language. It is a report: it exits 0 whatever it finds, unless ``--strict``
asks it to exit 1 when a minimum is missed, for a scheduler that should stop on an incomplete
library. A library that cannot be loaded exits 2 with one ``file:line: problem`` line per problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from detectors.harm import taxonomy
from detectors.harm.keywords import CoverageReport, KeywordLibrary, KeywordLibraryError
from pipeline.cli import fail, out

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


def minimums_table(report: CoverageReport) -> Table:
    """One row per TC260-003 minimum: required, found, met or missed, shortfall."""
    table = Table(title="TC260-003 keyword library minimums", title_justify="left")
    table.add_column("requirement")
    table.add_column("required", justify="right")
    table.add_column("library", justify="right")
    table.add_column("status")
    table.add_column("shortfall", justify="right")
    for item in report.requirements:
        status = "[green]met[/]" if item.met else "[red]missed[/]"
        table.add_row(item.what, str(item.required), str(item.actual), status, str(item.shortfall or ""))
    return table


def risks_table(report: CoverageReport) -> Table:
    """Terms per risk (every TC260-003 risk and hazard category, in order) and per language."""
    languages = list(report.by_lang)
    table = Table(title="Terms per risk", title_justify="left")
    table.add_column("risk")
    table.add_column("name", overflow="fold")
    for language in languages:
        table.add_column(language, justify="right")
    table.add_column("all", justify="right")
    for item in [*taxonomy.risks(), *taxonomy.hazards()]:
        counts = report.by_risk_lang.get(item.id, {})
        table.add_row(
            item.id,
            item.en,
            *(str(counts.get(language, 0)) for language in languages),
            str(report.by_risk[item.id]),
        )
    return table


@app.command()
def keyword_coverage(
    library: Annotated[Path, typer.Argument(help="keyword library folder of .tsv files")],
    strict: Annotated[
        bool, typer.Option("--strict", help="exit 1 when a TC260-003 minimum is missed")
    ] = False,
) -> None:
    """Print what a keyword library covers and which TC260-003 minimums it meets."""
    try:
        report = KeywordLibrary.load(library).coverage()
    except KeywordLibraryError as exc:
        raise fail(str(exc)) from None
    languages = ", ".join(f"{language} {count}" for language, count in report.by_lang.items()) or "none"
    out.print(
        f"keyword library {report.library} (version {report.version or 'not declared'}): "
        f"{report.total} terms; {languages}",
        highlight=False,
    )
    out.print(minimums_table(report))
    out.print(risks_table(report))
    missed = len(report.missed)
    met = len(report.requirements) - missed
    out.print(f"{met} of {len(report.requirements)} TC260-003 minimums met", highlight=False)
    if strict and missed:
        raise typer.Exit(1)


def main() -> None:
    """Run the job; a thin wrapper so schedulers need no console script."""
    app()


if __name__ == "__main__":
    main()
