"""Whole jobs that chain the stages and write an output folder (what the CLI commands call)."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .anonymize import AnonymizeSettings, anonymize, check_leaks, read_key
from .codebook import Codebook, load_codebook, write_codebook
from .coding import Codings, apply_codebook, read_codings, write_codings
from .config import RunConfig
from .errors import ConfigurationError, OutputError
from .files import atomic_write_text, csv_text
from .nlp import load_pipeline, pipeline_info
from .reports import write_report
from .roster import Roster
from .segments import Segments, read_segments, segment, write_segments
from .themes import ThemeReport, build_themes
from .transcripts import (
    Transcript,
    read_transcripts,
    resolve_roster,
    transcript_files,
    write_transcript,
)


@dataclass
class RunResult:
    """What a job read and wrote, with counts and timings (also written to `run.json`)."""

    out: Path
    transcripts: list[Transcript]
    segments: Segments
    codings: Codings | None = None
    themes: ThemeReport | None = None
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def input_files(transcripts: Iterable[str | Path], out: Path) -> list[Path]:
    """The transcript files named or found in folders, once the output folder is checked."""
    transcripts = [Path(p) for p in transcripts]
    files = transcript_files(transcripts)
    check_output_folder(out, transcripts + files)
    return files


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


def check_private_folder(private: Path, out: Path) -> None:
    """The key must never sit inside the output folder that is shared."""
    private_resolved, out_resolved = private.resolve(), out.resolve()
    if private_resolved == out_resolved or out_resolved in private_resolved.parents:
        raise OutputError(
            "the private folder is inside the output folder",
            file=private,
            fix="keep the key apart: choose --private outside --out",
        )


def run_anonymize(
    transcripts: list[str | Path],
    out: str | Path,
    *,
    private: str | Path | None = None,
    roster: str | Path | Roster | None = None,
    settings: AnonymizeSettings | None = None,
    model: str | None = None,
) -> RunResult:
    """Anonymise transcripts: `transcripts/<id>.txt` into `out`, the key and review list
    into the private folder (default `private/` beside `out`), then check for leaks."""
    out = Path(out)
    private_path = Path(private) if private else out.parent / "private"
    files = input_files(transcripts, out)
    check_private_folder(private_path, out)
    roster_obj = resolve_roster(transcripts, roster)
    read = read_transcripts(files, roster=roster_obj)
    result = anonymize(read, roster_obj, settings, key=private_path / "key.csv", model=model)
    written = [write_transcript(t, out / "transcripts") for t in result.transcripts]
    info = run_info(files, roster_obj, {"anonymize": True}, model)
    info["counts"] = {
        "transcripts": len(read),
        "turns": sum(len(t.turns) for t in read),
        "words": sum(t.word_count for t in read),
    }
    info["anonymization"] = result.counts
    written.append(write_run_json(info, out))
    written += result.write_private(private_path)
    check_leaks(out, result.key)
    return RunResult(out, result.transcripts, Segments([]), files=written, info=info)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    files = input_files(transcripts, out)
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
    return RunResult(out, read, segments, files=written, timings=timings, info=info)


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


Stage = Callable[[str], None]


def _quiet(stage: str) -> None:
    """Default progress callback: says nothing."""


def run(config: RunConfig, on_stage: Stage = _quiet) -> RunResult:
    """The whole job: read → (anonymise) → segment → code → themes → write `config.out`.

    Writes `transcripts/<id>.txt`, `segments.csv`, `codings.csv`, `themes.json`, `report.md`
    and `run.json`.
    """
    if not config.transcripts:
        raise ConfigurationError(
            "no transcripts given",
            fix="name transcript files or folders, or set 'transcripts' in qualcode.yaml",
        )
    if config.codebook is None:
        raise ConfigurationError(
            "no codebook given", fix="pass --codebook, or set 'codebook' in qualcode.yaml"
        )
    files = input_files(config.transcripts, config.out)
    if config.anonymize:
        check_private_folder(config.private_folder, config.out)
        anonymize_settings = AnonymizeSettings.from_dict(config.anonymization)
    codebook = load_codebook(config.codebook)
    unit = config.unit or codebook.unit
    timings: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        on_stage(stage)
        clock = time.perf_counter()
        value = work()
        timings[stage] = round(time.perf_counter() - clock, 3)
        return value

    roster = resolve_roster(list(config.transcripts), config.roster)
    timed("load pipeline", lambda: load_pipeline(config.model))
    transcripts = timed("read", lambda: read_transcripts(files, roster=roster))
    original = transcripts
    anonymised = None
    if config.anonymize:
        anonymised = timed(
            "anonymise",
            lambda: anonymize(
                transcripts,
                roster,
                anonymize_settings,
                key=config.private_folder / "key.csv",
                model=config.model,
            ),
        )
        transcripts = anonymised.transcripts
    attributes = speaker_attributes(original, transcripts, roster)
    segments = timed("segment", lambda: segment(transcripts, unit, model=config.model))
    codings = timed("code", lambda: apply_codebook(segments, codebook, model=config.model))
    themes = timed("themes", lambda: build_themes(codings, codebook, attributes))
    on_stage("write")
    info = run_info(
        files,
        roster,
        {
            "unit": unit,
            "anonymize": config.anonymize,
            "formats": list(config.formats),
            "codebook": Path(config.codebook).name,
        },
        config.model,
    )
    info["codebook"] = {
        "file": Path(config.codebook).name,
        "name": codebook.name,
        "version": codebook.version,
        "sha256": codebook.sha256,
        **codebook.summary(),
    }
    info["counts"] = {
        **_counts(transcripts, segments),
        "codings": len(codings),
        "coded_segments": themes.totals["coded_segments"],
        "participants": themes.totals["participants"],
    }
    if anonymised is not None:
        info["anonymization"] = anonymised.counts
    info["timings"] = timings
    written = write_analysis(
        config.out, transcripts, segments, codings, themes, config.formats, info
    )
    written.append(write_run_json(info, config.out))
    if anonymised is not None:
        anonymised.write_private(config.private_folder)
        check_leaks(config.out, anonymised.key)
    return RunResult(config.out, transcripts, segments, codings, themes, written, timings, info)


def run_code(
    transcripts: list[str | Path],
    codebook: str | Path | Codebook,
    out: str | Path,
    *,
    roster: str | Path | Roster | None = None,
    unit: str | None = None,
    model: str | None = None,
) -> RunResult:
    """Code transcripts as they are written (never anonymising) and write the codings.

    Writes `transcripts/<id>.txt`, `segments.csv`, `codings.csv` and `run.json` into `out`.
    """
    out = Path(out)
    files = input_files(transcripts, out)
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    roster_obj = resolve_roster(transcripts, roster)
    read = read_transcripts(files, roster=roster_obj)
    segments = segment(read, unit or book.unit, model=model)
    codings = apply_codebook(segments, book, model=model)
    written = [write_transcript(t, out / "transcripts") for t in read]
    written.append(write_segments(segments, out / "segments.csv"))
    written.append(write_codings(codings, out / "codings.csv"))
    info = run_info(files, roster_obj, {"unit": unit or book.unit, "anonymize": False}, model)
    info["codebook"] = {"name": book.name, "version": book.version, "sha256": book.sha256}
    info["counts"] = {**_counts(read, segments), "codings": len(codings)}
    written.append(write_run_json(info, out))
    return RunResult(out, read, segments, codings, None, written, {}, info)


def _counts(transcripts: list[Transcript], segments: Segments) -> dict[str, int]:
    return {
        "transcripts": len(transcripts),
        "turns": sum(len(t.turns) for t in transcripts),
        "words": sum(t.word_count for t in transcripts),
        "segments": len(segments),
    }


def write_analysis(
    out: Path,
    transcripts: list[Transcript],
    segments: Segments,
    codings: Codings,
    themes: ThemeReport,
    formats: tuple[str, ...],
    info: dict[str, Any] | None = None,
) -> list[Path]:
    """Write the analysis files of a run into `out`."""
    written = [write_transcript(t, out / "transcripts") for t in transcripts]
    written.append(write_segments(segments, out / "segments.csv"))
    written.append(write_codings(codings, out / "codings.csv"))
    written.append(write_codebook(codings.codebook, out / "codebook.yaml"))
    if themes.attributes:
        written.append(write_attributes(themes.attributes, out / "attributes.csv"))
    written.append(write_report(themes, out / "themes.json"))
    written += write_reports(themes, out, formats, info)
    return written


def write_reports(
    themes: ThemeReport, out: Path, formats: Iterable[str], info: dict[str, Any] | None = None
) -> list[Path]:
    """`report.<format>` for each report format asked for (`themes.json` is always there)."""
    return [write_report(themes, out / f"report.{fmt}", info) for fmt in formats if fmt != "json"]


def load_run(out: str | Path) -> ThemeReport:
    """The theme report of an earlier run, with its codings, segments and codebook, read from
    its output folder (`themes.json`, `codings.csv`, `segments.csv`, `codebook.yaml`)."""
    out = Path(out)
    missing = [
        name
        for name in ("themes.json", "codings.csv", "segments.csv", "codebook.yaml")
        if not (out / name).is_file()
    ]
    if missing:
        raise OutputError(
            f"not the output folder of a run: {', '.join(missing)} missing",
            file=out,
            fix="give the folder that 'qualcode run' wrote",
        )
    codebook = load_codebook(out / "codebook.yaml")
    segments = read_segments(out / "segments.csv")
    codings = read_codings(out / "codings.csv", segments, codebook)
    data = json.loads((out / "themes.json").read_text(encoding="utf-8"))
    attributes = (
        read_attributes(out / "attributes.csv") if (out / "attributes.csv").is_file() else {}
    )
    return ThemeReport.from_dict(data, codings, attributes)


def speaker_attributes(
    original: list[Transcript], analysed: list[Transcript], roster: Roster | None
) -> dict[tuple[str, str], dict[str, str]]:
    """Roster attributes of each participant, keyed by transcript and the speaker name the
    analysis uses (the pseudonym after anonymisation); turns correspond one to one."""
    if roster is None or not roster.attribute_names:
        return {}
    found: dict[tuple[str, str], dict[str, str]] = {}
    for before, after in zip(original, analysed, strict=True):
        for turn, renamed in zip(before.turns, after.turns, strict=True):
            entry = roster.find(before.id, turn.speaker)
            if entry is not None and entry.role == "participant":
                found[(after.id, renamed.speaker)] = dict(entry.attributes)
    return found


def write_attributes(attributes: dict[tuple[str, str], dict[str, str]], path: Path) -> Path:
    """`attributes.csv`: participants (by pseudonym) and their roster attributes."""
    names = list(dict.fromkeys(n for values in attributes.values() for n in values))
    rows = [
        (tid, speaker, *(values.get(n, "") for n in names))
        for (tid, speaker), values in attributes.items()
    ]
    atomic_write_text(path, csv_text(("transcript_id", "speaker", *names), rows))
    return path


def read_attributes(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    import csv
    import io

    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return {(row.pop("transcript_id"), row.pop("speaker")): row for row in reader}


def rerender(
    out: str | Path, formats: Iterable[str], private: str | Path | None = None
) -> list[Path]:
    """Write the reports of an earlier run again, without redoing the analysis; if the run's
    key is in the private folder, check the new files for leaks."""
    out = Path(out)
    themes = load_run(out)
    formats = list(formats)
    run_json = out / "run.json"
    info = json.loads(run_json.read_text(encoding="utf-8")) if run_json.is_file() else None
    written = write_reports(themes, out, formats, info)
    if "json" in formats:
        written.append(write_report(themes, out / "themes.json"))
    key = Path(private or out.parent / "private") / "key.csv"
    if key.is_file():
        check_leaks(out, read_key(key))
    return written
