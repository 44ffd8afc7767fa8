"""Speed of reading and segmenting: the sample study and the 232 qmsum meetings.

    python benchmarks/read_and_segment.py [--corpus ../shared/corpora/qmsum] [--fraction 1.0]

The meetings are rendered to the `Speaker: text` layout in a temporary folder and read back
through qualcode's own text reader, so the figures include reading files from disk.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import qualcode as qc

ROOT = Path(__file__).resolve().parent.parent


def render_qmsum(corpus: Path, folder: Path, fraction: float) -> int:
    """Write each meeting as `<name>.txt`; returns the number of files written."""
    meetings = sorted(corpus.glob("*/all/*.json"))
    meetings = meetings[: max(1, round(len(meetings) * fraction))]
    for meeting in meetings:
        turns = json.loads(meeting.read_text(encoding="utf-8"))["meeting_transcripts"]
        text = "\n\n".join(f"{t['speaker']}: {' '.join(t['content'].split())}" for t in turns)
        (folder / f"{meeting.parent.parent.name}_{meeting.stem}.txt").write_text(
            text + "\n", encoding="utf-8"
        )
    return len(meetings)


def measure(name: str, paths: list[Path]) -> dict[str, object]:
    clock = time.perf_counter()
    transcripts = qc.read_transcripts(paths)
    read_s = time.perf_counter() - clock
    words = sum(t.word_count for t in transcripts)
    clock = time.perf_counter()
    segments = qc.segment(transcripts, "sentence")
    segment_s = time.perf_counter() - clock
    return {
        "corpus": name,
        "transcripts": len(transcripts),
        "turns": sum(len(t.turns) for t in transcripts),
        "words": words,
        "segments": len(segments),
        "read_s": round(read_s, 2),
        "read_words_per_s": round(words / read_s),
        "segment_s": round(segment_s, 2),
        "segment_words_per_s": round(words / segment_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/qmsum")
    parser.add_argument("--fraction", type=float, default=1.0)
    args = parser.parse_args()
    clock = time.perf_counter()
    qc.load_pipeline()
    print(
        f"pipeline loaded in {time.perf_counter() - clock:.2f} s "
        f"({qc.pipeline_info().package} {qc.pipeline_info().version}); "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    rows = [measure("sample", [ROOT / "transcripts_sample"])]
    if args.corpus.is_dir():
        with tempfile.TemporaryDirectory() as folder:
            render_qmsum(args.corpus, Path(folder), args.fraction)
            rows.append(measure("qmsum", [Path(folder)]))
    else:
        print(f"{args.corpus} not found: measuring the sample only")
    for row in rows:
        print(json.dumps(row))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
