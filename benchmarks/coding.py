"""Speed of the rule coder: words per second with 10, 32 and 500 codes.

    python benchmarks/coding.py [--corpus ../shared/corpora/qmsum] [--fraction 0.1]

The 500-code codebook is generated from the sample's codebook: each code is copied with its
keywords and phrases shifted to other words of the sample's rules, so it has 16 times the
rules. Segments are cut once; only `apply_codebook` is timed.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import qualcode as qc
from qualcode.codebook import Code, Codebook, Rules, Theme

ROOT = Path(__file__).resolve().parent.parent


def scaled(codebook: Codebook, size: int) -> Codebook:
    """A codebook of `size` codes made from the given one's codes and rule words."""
    codes = list(codebook.codes)
    words = sorted({k for c in codes for k in c.match.keywords})
    made: list[Code] = []
    for i in range(size):
        base = codes[i % len(codes)]
        shift = i // len(codes)
        keywords = (
            tuple(words[(words.index(k) + shift) % len(words)] for k in base.match.keywords)
            if shift
            else base.match.keywords
        )
        made.append(
            replace(
                base,
                id=f"{base.id}_{i}",
                subtheme_id="",
                theme_id="all",
                match=Rules(keywords, base.match.phrases, base.match.patterns, base.match.regex),
            )
        )
    theme = Theme("all", "All codes", codes=tuple(made))
    return replace(codebook, themes=(theme,))


def measure(name: str, segments: qc.Segments, codebook: Codebook, words: int) -> dict:
    clock = time.perf_counter()
    codings = qc.apply_codebook(segments, codebook)
    seconds = time.perf_counter() - clock
    return {
        "corpus": name,
        "codes": len(codebook.codes),
        "words": words,
        "segments": len(segments),
        "codings": len(codings),
        "seconds": round(seconds, 2),
        "words_per_s": round(words / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/qmsum")
    parser.add_argument("--fraction", type=float, default=0.1)
    args = parser.parse_args()
    qc.load_pipeline()
    sample = qc.load_codebook(ROOT / "codebooks" / "near_peer_mentoring.yaml")
    books = [scaled(sample, 10), sample, scaled(sample, 500)]
    corpora = [("sample", [ROOT / "transcripts_sample"])]
    folder = tempfile.TemporaryDirectory()
    if args.corpus.is_dir():
        import sys

        sys.path.insert(0, str(ROOT / "benchmarks"))
        from read_and_segment import render_qmsum

        render_qmsum(args.corpus, Path(folder.name), args.fraction)
        corpora.append((f"qmsum {args.fraction:.0%}", [Path(folder.name)]))
    for name, paths in corpora:
        transcripts = qc.read_transcripts(paths)
        segments = qc.segment(transcripts)
        words = sum(t.word_count for t in transcripts)
        for book in books:
            print(json.dumps(measure(name, segments, book, words)))
    folder.cleanup()
    print(
        f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()
