"""Shared fixtures: the spaCy pipeline is loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "transcripts_sample"
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"
QMSUM = SHARED / "corpora" / "qmsum"

needs_qmsum = pytest.mark.skipif(
    not QMSUM.is_dir(),
    reason="../shared/corpora/qmsum is not present (it exists only in the team's workspace)",
)
SERDIF = SHARED / "eval" / "serdif"
needs_serdif = pytest.mark.skipif(
    not (SERDIF / "highlights.csv").is_file(),
    reason="../shared/eval/serdif is not present (it exists only in the team's workspace)",
)


@pytest.fixture(scope="session")
def nlp():
    from qualcode.nlp import load_pipeline

    return load_pipeline()


@pytest.fixture(scope="session")
def sample_transcripts():
    import qualcode as qc

    return qc.read_transcripts(SAMPLE)


@pytest.fixture(scope="session")
def sample_segments(sample_transcripts, nlp):
    import qualcode as qc

    return qc.segment(sample_transcripts, "sentence", nlp=nlp)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory, nlp) -> Path:
    """The README's main job: `qualcode run` with the repository's qualcode.yaml, once."""
    import os
    import shutil

    from typer.testing import CliRunner

    from qualcode.cli import app

    folder = tmp_path_factory.mktemp("project")
    for name in ("transcripts_sample", "codebooks"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy(ROOT / "qualcode.yaml", folder / "qualcode.yaml")
    here = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, ["run"])
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return folder
