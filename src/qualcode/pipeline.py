"""Whole jobs that chain the stages and write an output folder (what the CLI commands call)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .agreement import Agreement, ManyCoders, agreement, agreement_among, consensus
from .anonymize import (
    LEAK_PARALLEL_BYTES,
    AnonymizeSettings,
    KeyEntry,
    LeakCheck,
    anonymize,
    check_leaks,
    in_authored_text,
    read_key,
)
from .codebook import Codebook, load_codebook, write_codebook
from .coding import Codings, apply_codebook, read_codings, write_codings
from .config import RunConfig
from .errors import ConfigurationError, OutputError, warn
from .files import atomic_write_text, csv_text, staged_folder
from .nlp import load_pipeline, map_in_processes, pipeline_info
from .reports import write_report
from .roster import Roster
from .segments import Segments, read_segments, segment, write_segments
from .sheets import load_codings, merge_codings, write_coding_sheet
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


def input_files(transcripts: Iterable[str | Path], out: Path, *, force: bool = False) -> list[Path]:
    """The transcript files named or found in folders, once the output folder is checked."""
    transcripts = [Path(p) for p in transcripts]
    files = transcript_files(transcripts)
    check_output_folder(out, transcripts + files, force=force)
    return files


# what a run writes into its output folder (relative paths); the rest there is someone else's
RUN_OUTPUTS = re.compile(
    r"(?:transcripts/[^/]+\.txt|segments\.csv|codings\.csv|themes\.json|codebook\.yaml"
    r"|attributes\.csv|report\.(?:md|json|html|docx|xlsx)|project\.qdpx|run\.json"
    r"|(?:agreement|disagreements)[\w.-]*\.csv)"
)
FORCE_FIX = "choose another folder with --out, or give --force to write into it anyway"


def project_id(inputs: Iterable[Path], out: Path) -> str:
    """Which project a run belongs to: a digest of the folders its transcripts came from,
    relative to the output folder (so the id survives moving the whole project)."""
    base = out.absolute().parent
    folders = set()
    for path in inputs:
        path = Path(path).absolute()
        folders.add(os.path.relpath(path if path.is_dir() else path.parent, base))
    digest = hashlib.sha256("\n".join(sorted(folders)).encode("utf-8")).hexdigest()
    return digest[:16]


def previous_run(out: Path) -> dict[str, Any] | None:
    """The `run.json` of the run in `out`, if there is one ({} when it is unreadable)."""
    path = out / "run.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_output_folder(out: Path, inputs: Iterable[Path], *, force: bool = False) -> bool:
    """Refuse an output folder that holds the transcripts, another project's run or files
    qualcode did not write (unless `force`), and outputs that would hit a raw transcript
    (always). Returns whether the run must write in place rather than swap a new folder in
    (a folder that holds the inputs, the working folder or other files)."""
    inputs = [Path(p) for p in inputs]
    out_resolved = out.resolve()
    in_place = False
    for path in inputs:
        resolved = path.resolve()
        folder = resolved if resolved.is_dir() else resolved.parent
        if resolved.is_file() and resolved.parent == out_resolved / "transcripts":
            raise OutputError(
                "the output would overwrite a raw transcript",
                file=path,
                fix="choose another folder with --out",
            )
        if out_resolved == folder or out_resolved in folder.parents:
            if not force:
                raise OutputError(
                    "the output folder is the transcripts' folder"
                    if out_resolved == folder
                    else "the output folder holds the transcripts",
                    file=out,
                    fix="choose another folder with --out, e.g. out/, or give --force to "
                    "write beside the transcripts",
                )
            in_place = True
    cwd = Path.cwd().resolve()
    if out_resolved == cwd or out_resolved in cwd.parents or out.is_symlink():
        in_place = True  # swapping it would pull the folder from under the shell or the link
    if out.is_file():
        raise OutputError("the output folder is a file", file=out, fix="choose a folder with --out")
    if not out.is_dir():
        return in_place
    if not os.access(out, os.W_OK):
        raise OutputError(
            "the output folder is read-only",
            file=out,
            fix="make it writable, or choose another folder with --out",
        )
    previous = previous_run(out)
    if previous is None:
        foreign = [p for p in out.iterdir() if not p.name.startswith(".")]
        if foreign and not force:
            raise OutputError(
                "the output folder holds files that qualcode did not write", file=out, fix=FORCE_FIX
            )
        return in_place or bool(foreign)
    if not force and not _same_project(previous, inputs, out):
        raise OutputError(
            "the output folder holds a run of another project (other transcripts)",
            file=out,
            fix=FORCE_FIX,
        )
    return in_place


def _same_project(previous: dict[str, Any], inputs: list[Path], out: Path) -> bool:
    if "project" in previous:
        return previous["project"] == project_id(inputs, out)
    old = {i.get("file") for i in previous.get("inputs", []) if isinstance(i, dict)}
    return not old or bool(old & {p.name for p in inputs if p.is_file()})


@contextlib.contextmanager
def output_folder(out: Path, in_place: bool = False) -> Iterator[Path]:
    """The folder a job writes into: a new one that replaces `out` in one step when the job
    succeeds (keeping the files there that no run wrote), or `out` itself (`in_place`)."""
    previous = previous_run(out) or {}
    listed = {o.get("file") for o in previous.get("outputs", []) if isinstance(o, dict)}

    def ours(relative: str) -> bool:
        return relative in listed or bool(RUN_OUTPUTS.fullmatch(relative))

    with staged_folder(out, ours=ours, in_place=in_place) as stage:
        yield stage


def record_outputs(info: dict[str, Any], folder: Path) -> None:
    """`info["outputs"]`: every file in the output folder with its SHA-256 (run.json is
    written after), so that run.json tells which inputs produced which outputs."""
    info["outputs"] = [
        {"file": path.relative_to(folder).as_posix(), "sha256": sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != "run.json" and not path.name.endswith(".tmp")
    ]


def _moved(paths: list[Path], stage: Path, out: Path) -> list[Path]:
    return [out / path.relative_to(stage) if path.is_relative_to(stage) else path for path in paths]


def check_private_folder(private: Path, out: Path) -> None:
    """The key must never sit inside the output folder that is shared; a warning when it sits
    in a git work tree that would commit it."""
    private_resolved, out_resolved = private.resolve(), out.resolve()
    if private_resolved == out_resolved or out_resolved in private_resolved.parents:
        raise OutputError(
            "the private folder is inside the output folder",
            file=private,
            fix="keep the key apart: choose --private outside --out",
        )
    if not tracked_by_git(private_resolved / "key.csv"):
        return
    warn(
        "the private folder is inside a git work tree that does not ignore it",
        file=private,
        fix="add it to .gitignore, or keep the key outside the repository",
    )


def tracked_by_git(path: Path) -> bool:
    """Whether `path` lies in a git work tree whose ignore rules do not cover it (False when
    there is no work tree or no git)."""
    import subprocess

    root = next((f for f in path.parents if (f / ".git").exists()), None)
    if root is None:
        return False
    try:
        checked = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "-q", str(path.relative_to(root))],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return checked.returncode == 1


def run_anonymize(
    transcripts: list[str | Path],
    out: str | Path,
    *,
    private: str | Path | None = None,
    roster: str | Path | Roster | None = None,
    settings: AnonymizeSettings | None = None,
    model: str | None = None,
    force: bool = False,
) -> RunResult:
    """Anonymise transcripts: `transcripts/<id>.txt` into `out`, the key and review list
    into the private folder (default `private/` beside `out`), then check for leaks."""
    out = Path(out)
    private_path = Path(private) if private else out.parent / "private"
    files = input_files(transcripts, out, force=force)
    in_place = check_output_folder(out, [Path(p) for p in transcripts] + files, force=force)
    check_private_folder(private_path, out)
    roster_obj = resolve_roster(transcripts, roster)
    read = read_transcripts(files, roster=roster_obj)
    result = anonymize(read, roster_obj, settings, key=private_path / "key.csv", model=model)
    info = run_info(files, roster_obj, {"anonymize": True}, model, out)
    info["counts"] = {
        "transcripts": len(read),
        "turns": sum(len(t.turns) for t in read),
        "words": sum(t.word_count for t in read),
    }
    info["anonymization"] = result.counts
    with output_folder(out, in_place) as stage:
        written = [write_transcript(t, stage / "transcripts") for t in result.transcripts]
        record_outputs(info, stage)
        written.append(write_run_json(info, stage))
        check_leaks(stage, result.key)
        private_files = result.write_private(private_path)
    written = _moved(written, stage, out) + private_files
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
    force: bool = False,
) -> RunResult:
    """Read and segment transcripts (no anonymisation) and write a reader check.

    Writes `transcripts/<id>.txt`, `segments.csv` and `run.json` into `out`.
    """
    out = Path(out)
    files = input_files(transcripts, out, force=force)
    in_place = check_output_folder(out, [Path(p) for p in transcripts] + files, force=force)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    roster_obj = resolve_roster(transcripts, roster)
    read = read_transcripts(files, roster=roster_obj)
    timings["read"] = time.perf_counter() - clock
    clock = time.perf_counter()
    segments = segment(read, unit, model=model)
    timings["segment"] = time.perf_counter() - clock
    info = run_info(files, roster_obj, {"unit": unit, "anonymize": False}, model, out)
    info["counts"] = {
        "transcripts": len(read),
        "turns": sum(len(t.turns) for t in read),
        "words": sum(t.word_count for t in read),
        "segments": len(segments),
    }
    info["timings"] = {key: round(value, 3) for key, value in timings.items()}
    with output_folder(out, in_place) as stage:
        written = [write_transcript(t, stage / "transcripts") for t in read]
        written.append(write_segments(segments, stage / "segments.csv"))
        record_outputs(info, stage)
        written.append(write_run_json(info, stage))
    written = _moved(written, stage, out)
    return RunResult(out, read, segments, files=written, timings=timings, info=info)


def run_info(
    files: list[Path],
    roster: Roster | None,
    settings: dict[str, Any],
    model: str | None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Versions, the project, input hashes and settings for `run.json`."""
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
        **({"project": project_id(files, out)} if out is not None else {}),
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


def run(config: RunConfig, on_stage: Stage = _quiet, *, force: bool = False) -> RunResult:
    """The whole job: read → (anonymise) → segment → code → themes → write `config.out`.

    Writes `transcripts/<id>.txt`, `segments.csv`, `codings.csv`, `themes.json`, the reports
    and `run.json` into a new folder that replaces `config.out` in one step at the end, so
    that a failed or interrupted run leaves the previous outputs as they were. `force`
    writes into a folder that holds the transcripts, another project's run or other files.
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
    files = input_files(config.transcripts, config.out, force=force)
    in_place = check_output_folder(config.out, [*config.transcripts, *files], force=force)
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
                tag=True,
            ),
        )
        transcripts = anonymised.transcripts
    attributes = speaker_attributes(original, transcripts, roster)
    segments = timed("segment", lambda: segment(transcripts, unit, model=config.model))
    tagged = anonymised.docs if anonymised is not None else None
    codings = timed(
        "code", lambda: apply_codebook(segments, codebook, model=config.model, docs=tagged)
    )
    if anonymised is not None:
        anonymised.docs = tagged = None  # the docs are large and no longer needed
    warn_unmatched(codings, codebook)
    human = [load_codings(path, segments, codebook) for path in config.human_codings]
    agreements = timed("agreement", lambda: compare_coders(codings, human))
    if human and config.merge_human != "no":
        codings = merge_codings(codings, human, human_overrides=config.merge_human == "override")
    themes = timed(
        "themes",
        lambda: build_themes(
            codings, codebook, attributes, order=session_order(original), agreements=agreements
        ),
    )
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
        config.out,
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
    if human:
        info["human_codings"] = [
            {"file": Path(p).name, "sha256": sha256(Path(p)), "coder": _coder_of(c)}
            for p, c in zip(config.human_codings, human, strict=True)
        ]
        info["settings"]["merge_human"] = config.merge_human
    info["timings"] = timings
    separate = human if config.merge_human == "no" else []  # merged ones are in codings
    check = None
    if anonymised is not None:
        warn_authored(anonymised.key, codebook)
        check = LeakCheck(anonymised.key, codebook.text())
    with output_folder(config.out, in_place) as stage:
        analysis = (transcripts, segments, codings, themes, config.formats, info, separate)
        written = write_analysis(stage, *analysis, check=check)
        checked = [path for path in written if not checked_after(path)]
        written += write_agreements(agreements, stage)
        record_outputs(info, stage)
        written.append(write_run_json(info, stage))
        if anonymised is not None and check is not None:
            # before the key: a leaking run changes nothing
            check.check_folder(stage, checked)
            anonymised.write_private(config.private_folder)
    written = _moved(written, stage, config.out)
    return RunResult(config.out, transcripts, segments, codings, themes, written, timings, info)


def warn_authored(key: list[KeyEntry], codebook: Codebook) -> None:
    """One warning when the codebook uses words that were masked as names in the transcripts
    (they stay in the reports' codebook text; the leak check lets them be), by pseudonym."""
    found = in_authored_text(key, codebook.text())
    if not found:
        return
    tags = ", ".join(sorted({e.pseudonym for e in found})[:8])
    more = f" and {len(found) - 8} more" if len(found) > 8 else ""
    warn(
        f"{len(found)} word{'s' if len(found) > 1 else ''} of the codebook were masked as "
        f"names in the transcripts ({tags}{more}); the reports keep them where the codebook "
        "uses them — check those rows of review.csv in the private folder"
    )


def warn_unmatched(codings: Codings, codebook: Codebook) -> None:
    """One warning naming the codes with rules that matched no segment."""
    coded = {c.code_id for c in codings}
    unmatched = [c.id for c in codebook.codes if not c.manual_only and c.id not in coded]
    if not unmatched:
        return
    more = f" and {len(unmatched) - 8} more" if len(unmatched) > 8 else ""
    warn(
        f"{len(unmatched)} code{'s' if len(unmatched) > 1 else ''} matched no segment: "
        + ", ".join(unmatched[:8])
        + more,
        file=codebook.source or None,
        fix="check their rules against the wording of the transcripts",
    )


def run_code(
    transcripts: list[str | Path],
    codebook: str | Path | Codebook,
    out: str | Path,
    *,
    roster: str | Path | Roster | None = None,
    unit: str | None = None,
    model: str | None = None,
    force: bool = False,
) -> RunResult:
    """Code transcripts as they are written (never anonymising) and write the codings.

    Writes `transcripts/<id>.txt`, `segments.csv`, `codings.csv` and `run.json` into `out`.
    """
    out = Path(out)
    files = input_files(transcripts, out, force=force)
    in_place = check_output_folder(out, [Path(p) for p in transcripts] + files, force=force)
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    roster_obj = resolve_roster(transcripts, roster)
    read = read_transcripts(files, roster=roster_obj)
    segments = segment(read, unit or book.unit, model=model)
    codings = apply_codebook(segments, book, model=model)
    warn_unmatched(codings, book)
    info = run_info(files, roster_obj, {"unit": unit or book.unit, "anonymize": False}, model, out)
    info["codebook"] = {"name": book.name, "version": book.version, "sha256": book.sha256}
    info["counts"] = {**_counts(read, segments), "codings": len(codings)}
    with output_folder(out, in_place) as stage:
        written = [write_transcript(t, stage / "transcripts") for t in read]
        written.append(write_segments(segments, stage / "segments.csv"))
        written.append(write_codings(codings, stage / "codings.csv"))
        record_outputs(info, stage)
        written.append(write_run_json(info, stage))
    written = _moved(written, stage, out)
    return RunResult(out, read, segments, codings, None, written, {}, info)


def session_order(transcripts: list[Transcript]) -> list[str]:
    """Transcript ids in the order the sessions were held: by the `date` of their front
    matter when every transcript has one, else in file order."""
    import datetime as dt

    dates = []
    for transcript in transcripts:
        value = transcript.metadata.get("date")
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip()[:10])
            except ValueError:
                value = None
        if not isinstance(value, dt.date):
            return [t.id for t in transcripts]
        dates.append(value)
    ranked = sorted(range(len(transcripts)), key=lambda i: (dates[i], i))
    return [transcripts[i].id for i in ranked]


def _coder_of(codings: Codings) -> str:
    names = list(dict.fromkeys(c.coder for c in codings if c.coder))
    return names[0] if len(names) == 1 else "human"


def _coder_names(coders: list[Codings]) -> list[str]:
    """Each coder's name, numbered where two files carry the same name."""
    names = [_coder_of(c) for c in coders]
    return [n if names.count(n) == 1 else f"{n} {i + 1}" for i, n in enumerate(names)]


def compare_coders(
    rules: Codings, human: list[Codings], *, bootstrap: int = 1000, seed: int = 0
) -> list[Agreement]:
    """Every pair of human coders, then the rules against the human consensus (the codings
    every human coder applied), or against the one human coder."""
    if not human:
        return []
    names = _coder_names(human)
    found: list[Agreement] = []
    if len(human) >= 2:
        many = agreement_among(
            dict(zip(names, human, strict=True)),
            rules.segments,
            rules.codebook,
            bootstrap=bootstrap,
            seed=seed,
        )
        found += many.pairs
        reference, name = consensus(*human), "consensus of " + " and ".join(names)
    else:
        reference, name = human[0], names[0]
    found.append(
        agreement(
            reference,
            rules,
            rules.segments,
            rules.codebook,
            coder_a=name,
            coder_b="rules",
            bootstrap=bootstrap,
            seed=seed,
        )
    )
    return found


def write_agreement(result: Agreement, out: Path, suffix: str = "") -> list[Path]:
    """`agreement<suffix>.csv` (one row a code and `overall`) and `disagreements<suffix>.csv`."""
    from .agreement import CSV_COLUMNS, DISAGREEMENT_COLUMNS

    table, listing = out / f"agreement{suffix}.csv", out / f"disagreements{suffix}.csv"
    atomic_write_text(table, csv_text(CSV_COLUMNS, result.rows()))
    atomic_write_text(listing, csv_text(DISAGREEMENT_COLUMNS, result.disagreement_rows()))
    return [table, listing]


def find_segments_file(codings_file: Path, segments: Path | None = None) -> Path:
    """`--segments`, else the `segments.csv` beside the codings, else `out/segments.csv`."""
    if segments is not None:
        return segments
    for candidate in (codings_file.parent / "segments.csv", Path("out") / "segments.csv"):
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        "no segments.csv found",
        file=codings_file,
        fix="pass --segments with the segments.csv of the run the codings refer to",
    )


def run_agree(
    codings_files: list[str | Path],
    segments: str | Path | None = None,
    codebook: str | Path | Codebook | None = None,
    out: str | Path | None = None,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> Agreement | ManyCoders:
    """Agreement between coders' files (`codings.csv` or coding sheets): two coders give an
    `Agreement`, more give every pair and alpha over all. With `out`, writes
    `agreement.csv` and `disagreements.csv` (more coders: also `agreement_all.csv`)."""
    files = [Path(p) for p in codings_files]
    if len(files) < 2:
        raise ConfigurationError("agreement needs two or more codings files", fix="name them all")
    segments_file = find_segments_file(files[0], Path(segments) if segments else None)
    segs = read_segments(segments_file)
    if codebook is None and (segments_file.parent / "codebook.yaml").is_file():
        codebook = segments_file.parent / "codebook.yaml"
    book = (
        codebook if isinstance(codebook, Codebook) or codebook is None else load_codebook(codebook)
    )
    loaded = [load_codings(f, segs, book) for f in files]
    names = _coder_names(loaded)
    if len(loaded) == 2:
        result: Agreement | ManyCoders = agreement(
            loaded[0],
            loaded[1],
            segs,
            book,
            coder_a=names[0],
            coder_b=names[1],
            bootstrap=bootstrap,
            seed=seed,
        )
    else:
        result = agreement_among(
            dict(zip(names, loaded, strict=True)), segs, book, bootstrap=bootstrap, seed=seed
        )
    if out is not None:
        out = Path(out)
        names = {"agreement.csv", "disagreements.csv", "agreement_all.csv"}
        for path in [*files, segments_file]:
            if path.resolve().parent == out.resolve() and (
                path.name in names or path.name.startswith(("agreement_", "disagreements_"))
            ):
                raise OutputError(
                    "the output would overwrite an input file",
                    file=path,
                    fix="choose another folder with --out",
                )
        if isinstance(result, Agreement):
            write_agreement(result, out)
        else:
            write_agreements(list(result.pairs), out)
            frame = result.to_frame()
            atomic_write_text(
                out / "agreement_all.csv",
                csv_text(
                    list(frame.columns),
                    frame.astype(object).where(frame.notna(), "").values.tolist(),
                ),
            )
    return result


def run_sheet(
    out_dir: str | Path,
    output: str | Path,
    *,
    layout: str = "columns",
    suggest: bool = False,
    include_moderators: bool = False,
) -> Path:
    """A coding sheet for the segments of an earlier run (its `segments.csv` and
    `codebook.yaml`); with `suggest`, the rule codings pre-filled as suggestions."""
    out_dir = Path(out_dir)
    themes = load_run(out_dir)
    codings = themes.codings
    assert codings is not None and codings.codebook is not None
    return write_coding_sheet(
        codings.segments,
        codings.codebook,
        output,
        layout=layout,
        suggestions=codings if suggest else None,
        include_moderators=include_moderators,
    )


def write_agreements(agreements: list[Agreement], out: Path) -> list[Path]:
    """The first pair of human coders as `agreement.csv`, the rules against the humans as
    `agreement_rules.csv`, other pairs as `agreement_<a>_<b>.csv` (with their disagreements)."""
    written = []
    for index, result in enumerate(agreements):
        if result.coder_b == "rules":
            suffix = "_rules"
        elif index == 0:
            suffix = ""
        else:
            suffix = f"_{_slug(result.coder_a)}_{_slug(result.coder_b)}"
        written += write_agreement(result, out, suffix)
    return written


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_") or "coder"


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
    human: Iterable[Codings] = (),
    *,
    check: Callable[[Path], object] | None = None,
    processes: int | None = None,
) -> list[Path]:
    """Write the analysis files of a run into `out` (the anonymised transcripts,
    `segments.csv`, `codings.csv`, `codebook.yaml`, `attributes.csv`, `themes.json`) and its
    reports (`write_reports`), side by side on `processes` forked processes: the slowest
    report on one while the rest are written on the other. `check` (a `LeakCheck`) is called
    on each file as soon as it is written, in the process that wrote it, but for a large
    Excel workbook (`checked_after`): written last, on a process of its own, it is searched
    faster by `check_leaks` on two processes once it is there."""

    def analysis_files() -> list[Path]:
        written = [write_transcript(t, out / "transcripts") for t in transcripts]
        written.append(write_segments(segments, out / "segments.csv"))
        written.append(write_codings(codings, out / "codings.csv"))
        written.append(write_codebook(codings.codebook, out / "codebook.yaml"))
        if themes.attributes:
            written.append(write_attributes(themes.attributes, out / "attributes.csv"))
        written.append(write_report(themes, out / "themes.json"))
        return written

    return _write_side_by_side(
        themes, out, formats, info, human, analysis_files, check=check, processes=processes
    )


def write_reports(
    themes: ThemeReport,
    out: Path,
    formats: Iterable[str],
    info: dict[str, Any] | None = None,
    human: Iterable[Codings] = (),
    *,
    check: Callable[[Path], object] | None = None,
    processes: int | None = None,
) -> list[Path]:
    """`report.<format>` for each report format asked for (`themes.json` is always there);
    `qdpx` is the REFI-QDA project `project.qdpx`, made from the files already in `out`,
    with the `human` coders' codings as further coders. The reports are independent and
    written side by side on `processes` forked processes (by default two on a machine
    with two cores); `check` is called on each one once written, in its process (but for
    those `checked_after` says)."""
    return _write_side_by_side(
        themes, out, formats, info, human, None, check=check, processes=processes
    )


CHECKED_AFTER = ("report.xlsx",)  # outputs `write_analysis` may leave to the final leak check


def checked_after(path: Path) -> bool:
    """Whether `write_analysis` leaves a file's leak check to the caller: the Excel workbook,
    once large enough to be searched faster on two processes (`LEAK_PARALLEL_BYTES`) after
    it is written than on its own process as it is written."""
    return path.name in CHECKED_AFTER and path.stat().st_size > LEAK_PARALLEL_BYTES


# seconds to write each output and search it for leaks on all of QMSum (2 million words),
# to share them out: the workbook takes about as long as all the rest together
WRITING_COST = {"analysis": 6.3, "xlsx": 13.2, "qdpx": 4.4, "html": 1.3, "docx": 1.3, "md": 0.2}


def _write_side_by_side(
    themes: ThemeReport,
    out: Path,
    formats: Iterable[str],
    info: dict[str, Any] | None,
    human: Iterable[Codings],
    analysis_files: Callable[[], list[Path]] | None,
    *,
    check: Callable[[Path], object] | None,
    processes: int | None,
) -> list[Path]:
    """The analysis files (if `analysis_files` is given) and the reports, in the order of
    `formats`, written on forked processes in groups of about equal cost (`WRITING_COST`);
    the REFI-QDA project, which reads the analysis files, is written after them in their
    process."""
    human = list(human)
    wanted = [fmt for fmt in dict.fromkeys(formats) if fmt != "json"]

    def write(job: str) -> list[Path]:
        if job == "analysis":
            assert analysis_files is not None
            return analysis_files()
        if job == "qdpx":
            from .exchange import export_qdpx

            return [export_qdpx(out, out / "project.qdpx", codings=human)]
        return [write_report(themes, out / f"report.{job}", info)]

    def write_group(group: list[str]) -> dict[str, list[Path]]:
        done = {}
        for job in group:
            done[job] = write(job)
            for path in done[job] if check is not None else ():
                if not checked_after(path):
                    check(path)
        return done

    if processes is None:
        processes = min(2, os.cpu_count() or 1)
    jobs = (["analysis"] if analysis_files is not None else []) + wanted
    written: dict[str, list[Path]] = {}
    for part in map_in_processes(write_group, _writing_groups(jobs, processes), processes):
        written.update(part)
    return [path for job in jobs for path in written[job]]


def _writing_groups(jobs: list[str], parts: int) -> list[list[str]]:
    """The jobs in at most `parts` groups of about equal `WRITING_COST`, costliest first,
    with the analysis files and the REFI-QDA project that reads them in one group, in
    that order."""
    units = [[job] for job in jobs if job not in ("analysis", "qdpx")]
    chained = [job for job in ("analysis", "qdpx") if job in jobs]
    if chained:
        units.append(chained)
    units.sort(key=lambda unit: -sum(WRITING_COST.get(job, 1.0) for job in unit))
    groups: list[list[str]] = [[] for _ in range(max(1, parts))]
    loads = [0.0] * len(groups)
    for unit in units:
        lightest = loads.index(min(loads))
        groups[lightest] += unit
        loads[lightest] += sum(WRITING_COST.get(job, 1.0) for job in unit)
    return [group for group in groups if group]


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
        codebook = out / "codebook.yaml"
        authored = load_codebook(codebook).text() if codebook.is_file() else ""
        check_leaks(out, read_key(key), authored)
    return written
