"""Whole jobs that chain the stages and write an output folder (what the CLI commands call)."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import OutputError
from .files import atomic_write_text
from .nlp import pipeline_info
from .roster import Roster, read_roster
from .segments import Segments, segment, write_segments
from .transcripts import (
    Transcript,
    find_roster,
    read_transcripts,
    transcript_files,
    write_transcript,
)


@dataclass
class RunResult:
    """What a job read and wrote, with counts and timings (also written to `run.json`)."""

    out: Path
    transcripts: list[Transcript]
    segments: Segments
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def check_output_folder(out: Path, inputs: Iterable[Path]) -> None:
    """Refuse an output folder that is an input folder, or outputs that would hit inputs."""
    out_resolved = out.resolve()
    for path in inputs:
        resolved = path.resolve()
        folder = resolved if resolved.is_dir() else resolved.parent
        if out_resolved == folder:
            raise OutputError(
                "the output folder is the transcripts' folder",
                file=out,
                fix="choose another folder with --out, e.g. out/",
            )
        if resolved.is_file() and resolved.parent == out_resolved / "transcripts":
            raise OutputError(
                "the output would overwrite a raw transcript",
                file=path,
                fix="choose another folder with --out",
            )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolve_roster(
    transcripts: list[str | Path], roster: str | Path | Roster | None
) -> Roster | None:
    """The roster given, else `participants.csv` beside the transcripts, else none."""
    if isinstance(roster, Roster):
        return roster
    if roster is None:
        found = find_roster(transcripts)
        return read_roster(found) if found else None
    return read_roster(roster)


def run_segments(
    transcripts: list[str | Path],
    out: str | Path,
    *,
    roster: str | Path | Roster | None = None,
    unit: str = "sentence",
    model: str | None = None,
) -> RunResult:
    """Read and segment transcripts (no anonymisation) and write a reader check.

    Writes `transcripts/<id>.txt`, `segments.csv` and `run.json` into `out`.
    """
    out = Path(out)
    files = transcript_files(transcripts)
    check_output_folder(out, [Path(p) for p in transcripts] + files)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    roster_obj = resolve_roster(transcripts, roster)
    read = read_transcripts(files, roster=roster_obj)
    timings["read"] = time.perf_counter() - clock
    clock = time.perf_counter()
    segments = segment(read, unit, model=model)
    timings["segment"] = time.perf_counter() - clock
    written = [write_transcript(t, out / "transcripts") for t in read]
    written.append(write_segments(segments, out / "segments.csv"))
    info = run_info(files, roster_obj, {"unit": unit, "anonymize": False}, model)
    info["counts"] = {
        "transcripts": len(read),
        "turns": sum(len(t.turns) for t in read),
        "words": sum(t.word_count for t in read),
        "segments": len(segments),
    }
    info["timings"] = {key: round(value, 3) for key, value in timings.items()}
    written.append(write_run_json(info, out))
    return RunResult(out, read, segments, written, timings, info)


def run_info(
    files: list[Path], roster: Roster | None, settings: dict[str, Any], model: str | None
) -> dict[str, Any]:
    """Versions, input hashes and settings for `run.json`."""
    inputs = [{"file": path.name, "sha256": sha256(path)} for path in files]
    if roster is not None and roster.source:
        inputs.append(
            {
                "file": Path(roster.source).name,
                "sha256": sha256(Path(roster.source)),
                "role": "roster",
            }
        )
    return {
        "qualcode": __version__,
        "python": platform.python_version(),
        "pipeline": pipeline_info(model).to_dict(),
        "inputs": inputs,
        "settings": settings,
    }


def write_run_json(info: dict[str, Any], out: Path) -> Path:
    path = out / "run.json"
    atomic_write_text(path, json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return path
