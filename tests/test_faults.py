"""Faults: runs killed part-way, read-only and full output folders, output folders that are
not the run's own, the same bytes for the same inputs, and no name in anything printed."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.files import clean_stale_staging

from .conftest import DATA, SAMPLE

BAD = DATA / "bad"
TEXT_A = (BAD / "ok_session.txt").read_text(encoding="utf-8")
TEXT_B = TEXT_A + "Anna: The exam timetable was my first real problem as a mentor.\n"
RUN = ["run", "transcripts", "--codebook", "codebook.yaml", "--out", "out", "--format", "md,docx"]


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small study (one transcript, the corpus's small codebook) as the working folder."""
    (tmp_path / "transcripts").mkdir()
    (tmp_path / "transcripts" / "s1.txt").write_text(TEXT_A, encoding="utf-8")
    (tmp_path / "transcripts" / "participants.csv").write_text(
        "transcript,speaker,role\n,Anna,participant\n,Bence,participant\n", encoding="utf-8"
    )  # pseudonyms from the roster stay the same from run to run
    shutil.copy(BAD / "cb_ok.yaml", tmp_path / "codebook.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file of a folder with its bytes; run.json without its timings."""
    if not folder.exists():
        return None
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "run.json":
            info = json.loads(data)
            info.pop("timings", None)
            data = json.dumps(info, sort_keys=True).encode()
        files[path.relative_to(folder).as_posix()] = data
    return files


def _writes(args: tuple) -> bool:
    path, mode, flags = args
    if isinstance(path, int):
        return False
    if mode is not None:
        return any(c in str(mode) for c in "wax+")
    return bool(flags & (os.O_WRONLY | os.O_RDWR))


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
FAULT_EVENTS = {
    "os.rename",
    "os.link",
    "os.remove",
    "os.rmdir",
    "shutil.rmtree",
    "os.mkdir",
    "ctypes.dlsym",
}


def run_in_child(
    args: list[str],
    *,
    kill_at: int = 0,
    sig: int = signal.SIGKILL,
    log: Path | None = None,
    kill_worker: bool = False,
    errors: Path | None = None,
) -> int:
    """Run the command line in a forked copy of this process (spaCy already loaded) and
    send it `sig` at its `kill_at`-th change to the file system (an open for writing, a
    rename, link, removal or new folder, a call into libc such as the folder exchange).
    With `log`, every change is listed there as `event<TAB>path`, those of the run's worker
    processes (which write the reports) in `<log>.workers`. `kill_worker` kills the first
    worker process at its first change instead. What it prints goes to `errors` if given.
    Returns the exit status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            sys.stderr = open(errors or os.devnull, "w")  # noqa: SIM115
            sys.stdout = sys.stderr
            # Ctrl-C raises KeyboardInterrupt, as in a terminal, also where the tests were
            # started in the background (which leaves SIGINT ignored)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            changes: list[str] = []
            main = os.getpid()
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC
            worker_log = os.open(f"{log}.workers", flags) if log is not None else -1

            def hook(event: str, event_args: tuple) -> None:
                if event == "open" and not _writes(event_args):
                    return
                if event != "open" and event not in FAULT_EVENTS:
                    return
                target = event_args[0] if event_args else ""
                line = f"{event}\t{target if isinstance(target, (str, bytes)) else ''}"
                if os.getpid() != main:  # a worker process
                    if kill_worker:
                        os.kill(os.getpid(), signal.SIGKILL)
                    if worker_log >= 0:  # opened before: no event of its own
                        os.write(worker_log, (line + "\n").encode())
                    return
                changes.append(line)
                if len(changes) == kill_at:
                    os.kill(os.getpid(), sig)

            sys.addaudithook(hook)
            try:
                app(args, standalone_mode=True)
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            if log is not None:
                log.write_text("\n".join(changes))
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


@needs_fork
def test_every_output_is_written_under_a_temporary_name(project: Path, nlp) -> None:
    log = project.parent / "changes.txt"
    assert run_in_child([*RUN[:-2], "--format", "md,json,html,docx,xlsx,qdpx"], log=log) == 0
    lines = log.read_text().splitlines() + Path(f"{log}.workers").read_text().splitlines()
    opened = [Path(line.split("\t")[1]) for line in lines if line.startswith("open\t")]
    assert any("report.docx" in str(path) for path in opened)
    mine = [p for p in opened if project in Path(os.path.abspath(p)).parents]
    assert len(mine) >= 12
    direct = [p for p in mine if not re.fullmatch(r"\..+\.tmp", p.name)]
    assert direct == [], "written without a temporary name"
    info = json.loads((project / "out" / "run.json").read_text())
    listed = {o["file"]: o["sha256"] for o in info["outputs"]}
    on_disk = {
        p.relative_to(project / "out").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (project / "out").rglob("*")
        if p.is_file() and p.name != "run.json"
    }
    assert listed == on_disk
    assert {"project.qdpx", "report.docx", "transcripts/s1.txt"} <= set(listed)
    assert [i["file"] for i in info["inputs"]] == ["s1.txt", "participants.csv"]


def _restart(project: Path) -> None:
    """The previous complete run in out/ (with a file of the user's), and a changed input."""
    shutil.rmtree(project / "out", ignore_errors=True)
    (project / "transcripts" / "s1.txt").write_text(TEXT_A, encoding="utf-8")
    assert invoke(*RUN).exit_code == 0
    (project / "out" / "notes.txt").write_text("my notes", encoding="utf-8")
    (project / "transcripts" / "s1.txt").write_text(TEXT_B, encoding="utf-8")


@needs_fork
def test_a_run_killed_anywhere_leaves_the_old_or_the_new_outputs(project: Path, nlp) -> None:
    _restart(project)
    old = snapshot(project / "out")
    log = project.parent / "changes.txt"
    assert run_in_child(RUN, log=log) == 0
    new = snapshot(project / "out")
    assert new != old and new["notes.txt"] == b"my notes"
    events = [line.split("\t")[0] for line in log.read_text().splitlines()]
    swap = events.index("ctypes.dlsym") + 1  # looking up renameat2: the folders swap next
    staging = next(i for i, line in enumerate(log.read_text().splitlines(), 1) if "staging" in line)
    points = [
        (staging, signal.SIGKILL),  # the first file of the new run
        ((staging + swap) // 2, signal.SIGINT),  # among the analysis files
        ((staging + swap) // 2 + 1, signal.SIGKILL),
        (swap - 1, signal.SIGINT),  # the user's file carried over, the key written
        (swap - 1, signal.SIGTERM),
        (swap, signal.SIGKILL),  # right before the exchange
        (swap + 1, signal.SIGKILL),  # right after it, while the old folder is removed
    ]
    _restart(project)
    for point, sig in points:
        clean_stale_staging(project)  # what the last one left, so that changes count alike
        status = run_in_child(RUN, kill_at=point, sig=sig)
        state = snapshot(project / "out")
        assert state in (old, new), f"a mixture after signal {sig} at change {point}"
        expected = "old" if point <= swap else "new"
        assert state == (old if expected == "old" else new), (point, sig)
        if sig != signal.SIGKILL:
            assert os.WEXITSTATUS(status) == 130
            assert not list(project.glob(".qualcode-staging-*"))
        if state == new:
            _restart(project)
    assert invoke(*RUN).exit_code == 0  # the next run also cleans up what killed runs left
    assert snapshot(project / "out") == new
    assert not list(project.glob(".qualcode-staging-*"))


@needs_fork
def test_a_report_worker_killed_leaves_the_old_outputs(project: Path, nlp) -> None:
    """The reports are written by worker processes: one of them killed, the run fails with
    one error line and the previous outputs stay as they were, with no staging left."""
    _restart(project)
    old = snapshot(project / "out")
    errors = project.parent / "errors.txt"
    status = run_in_child(RUN, kill_worker=True, errors=errors)
    assert os.WEXITSTATUS(status) == 1
    assert errors.read_text().startswith("Error: a worker process stopped before it finished")
    assert snapshot(project / "out") == old
    assert not list(project.glob(".qualcode-staging-*"))


def _subprocess(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from qualcode.cli import main; main()", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # SIGINT as in a terminal, also where the tests were started in the background
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_staging(project: Path, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not list(project.glob(".qualcode-staging-*")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_real_subprocess_stopped_while_writing(project: Path, sig: int) -> None:
    assert invoke(*RUN).exit_code == 0
    old = snapshot(project / "out")
    (project / "transcripts" / "s1.txt").write_text(TEXT_B, encoding="utf-8")
    process = _subprocess([*RUN[:-2], "--format", "md,json,html,docx,xlsx"], project)
    _wait_for_staging(project, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    state = snapshot(project / "out")
    if process.returncode == 0:  # it finished before the signal came
        assert state != old
        return
    assert state == old
    if sig == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
        assert invoke(*RUN).exit_code == 0
        assert not list(project.glob(".qualcode-staging-*"))
        return
    assert process.returncode == 130
    assert stderr.strip().splitlines() == [
        "Error: interrupted — what earlier runs wrote is as it was; run it again"
    ]
    assert not list(project.glob(".qualcode-staging-*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused_before_the_work(project: Path, nlp) -> None:
    assert invoke(*RUN).exit_code == 0
    old = snapshot(project / "out")
    os.chmod(project / "out", 0o555)
    try:
        result = invoke(*RUN)
    finally:
        os.chmod(project / "out", 0o755)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: out: the output folder is read-only — ")
    assert snapshot(project / "out") == old


@pytest.mark.parametrize(
    ("errno_name", "fix"),
    [("ENOSPC", "free some space on the disk"), ("EROFS", "the folder is read-only")],
)
def test_a_full_or_read_only_disk_gives_one_line_and_keeps_the_outputs(
    project: Path, nlp, monkeypatch: pytest.MonkeyPatch, errno_name: str, fix: str
) -> None:
    import errno

    assert invoke(*RUN).exit_code == 0
    old = snapshot(project / "out")
    calls = {"n": 0}
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the third file of the run
            code = getattr(errno, errno_name)
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr("qualcode.files.os.fsync", failing_fsync)
    (project / "transcripts" / "s1.txt").write_text(TEXT_B, encoding="utf-8")
    result = invoke(*RUN)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fix in lines[0]
    assert snapshot(project / "out") == old
    assert not list(project.rglob("*.tmp")) and not list(project.glob(".qualcode-staging-*"))


def test_output_folders_that_are_not_the_runs_own_need_force(project: Path, nlp) -> None:
    transcripts = project / "transcripts"
    result = invoke("segments", transcripts, "--out", transcripts)
    assert result.exit_code == 1
    assert "the output folder is the transcripts' folder" in result.stderr
    assert "--force" in result.stderr
    result = invoke("segments", transcripts, "--out", project)
    assert result.exit_code == 1 and "the output folder holds the transcripts" in result.stderr
    result = invoke("segments", transcripts, "--out", transcripts, "--force")
    assert result.exit_code == 0, result.stderr
    assert (transcripts / "s1.txt").read_text(encoding="utf-8") == TEXT_A
    assert (transcripts / "transcripts" / "s1.txt").is_file()

    other = project / "other"
    other.mkdir()
    (other / "t9.txt").write_text(TEXT_B, encoding="utf-8")
    assert invoke(*RUN).exit_code == 0
    result = invoke("segments", other, "--out", "out")
    assert result.exit_code == 1
    assert "Error: out: the output folder holds a run of another project" in result.stderr
    assert invoke("segments", other, "--out", "out", "--force").exit_code == 0

    stuff = project / "documents"
    stuff.mkdir()
    (stuff / "thesis.docx").write_bytes(b"my thesis")
    result = invoke("code", transcripts, "--codebook", "codebook.yaml", "--out", stuff)
    assert result.exit_code == 1
    assert "holds files that qualcode did not write" in result.stderr
    result = invoke("code", transcripts, "--codebook", "codebook.yaml", "--out", stuff, "--force")
    assert result.exit_code == 0
    assert (stuff / "thesis.docx").read_bytes() == b"my thesis"

    raw = project / "raw" / "transcripts"
    raw.mkdir(parents=True)
    shutil.copy(transcripts / "s1.txt", raw / "s1.txt")
    result = invoke("segments", raw / "s1.txt", "--out", project / "raw", "--force")
    assert result.exit_code == 1 and "would overwrite a raw transcript" in result.stderr


def test_the_same_project_may_add_transcripts(project: Path, nlp) -> None:
    assert invoke(*RUN).exit_code == 0
    (project / "transcripts" / "s2.txt").write_text(TEXT_B, encoding="utf-8")
    (project / "out" / "sheet.xlsx").write_bytes(b"a coder's sheet")
    result = invoke(*RUN)
    assert result.exit_code == 0, result.stderr
    assert (project / "out" / "transcripts" / "s2.txt").is_file()
    assert (project / "out" / "sheet.xlsx").read_bytes() == b"a coder's sheet"


def test_the_private_folder_in_a_git_work_tree_that_does_not_ignore_it(project: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    result = invoke(*RUN)
    assert result.exit_code == 0
    assert (
        "Warning: private: the private folder is inside a git work tree that does not ignore "
        "it — add it to .gitignore" in result.stderr
    )
    assert oct(os.stat(project / "private").st_mode & 0o777) == "0o700"
    assert oct(os.stat(project / "private" / "key.csv").st_mode & 0o777) == "0o600"
    (project / ".gitignore").write_text("private/\n", encoding="utf-8")
    result = invoke(*RUN)
    assert result.exit_code == 0 and "git work tree" not in result.stderr


def test_the_same_inputs_give_the_same_bytes(
    sample_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample twice (the session's run, and the same project copied elsewhere): every
    file identical, apart from the timings in run.json."""
    again = tmp_path / "again"
    shutil.copytree(sample_run, again, ignore=shutil.ignore_patterns("out", "private"))
    monkeypatch.chdir(again)
    result = invoke("run")
    assert result.exit_code == 0, result.stderr
    first, second = snapshot(sample_run / "out"), snapshot(again / "out")
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []


def roster_names() -> set[str]:
    """Every name and name part in the sample's roster (not role words)."""
    names: set[str] = set()
    with (SAMPLE / "participants.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for name in [row["speaker"], *row["aliases"].split(";")]:
                names.add(name.strip())
                names.update(part.strip(".") for part in name.split())
    return {n for n in names if len(n) >= 3 and n.casefold() not in {"moderator", "dr"}}


def test_no_name_in_anything_a_failing_run_prints(
    tmp_path: Path, nlp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import qualcode.pipeline

    project = tmp_path / "p"
    shutil.copytree(SAMPLE, project / "transcripts_sample")
    sample = project / "transcripts_sample"
    (sample / "group1.txt").write_bytes(
        (SAMPLE / "group1.txt").read_text(encoding="utf-8").encode("cp1252", "replace")
    )  # read with a fallback-encoding warning
    roster = (SAMPLE / "participants.csv").read_text(encoding="utf-8")
    (project / "roster.csv").write_text(
        roster.replace("group1,Anna,participant", "group1,Anna,student"), encoding="utf-8"
    )
    monkeypatch.chdir(project)
    printed = []

    def failing(*args: object, code: int = 1) -> None:
        result = invoke(*args)
        assert result.exit_code == code, (args, result.stderr)
        printed.append(result.stdout + result.stderr)

    failing("segments", sample, "--roster", "roster.csv", "--out", "seg")
    failing("code", sample / "group1.txt", "--codebook", BAD / "cb_ok.yaml", "--out", sample)
    real_anonymize = qualcode.pipeline.anonymize

    def leaking(transcripts, *args, **kwargs):  # an anonymiser that forgot everything
        result = real_anonymize(transcripts, *args, **kwargs)
        return dataclasses.replace(result, transcripts=list(transcripts))

    monkeypatch.setattr("qualcode.pipeline.anonymize", leaking)
    failing("anonymize", sample, "--out", "anon")
    assert "still in the output" in printed[-1]
    assert not (project / "anon").exists() and not (project / "private").exists()

    def crash(*args, **kwargs):
        raise KeyError("Anna Kovács said that Zsófia")

    monkeypatch.setattr("qualcode.pipeline.segment", crash)
    failing("segments", sample, "--out", "seg")
    assert "KeyError" in printed[-1]
    (sample / "group6.csv").write_text(
        "speaker,text\nAnna,Kovács said, Will and Rose were there\n", encoding="utf-8"
    )
    failing("segments", sample, "--out", "seg")
    text = "\n".join(printed)
    assert "Warning: group1.txt: not UTF-8" in text and "Traceback" not in text
    assert text.count("Error: ") == 5
    found = sorted(n for n in roster_names() if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text))
    assert found == [], text
    assert not list(project.glob("seg*"))
