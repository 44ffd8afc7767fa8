"""Speed and scale of qualcode against the cost of spaCy itself, in one run.

    python benchmarks/run.py [--corpus ../shared/corpora/qmsum] [--fractions 0.1,0.5,1.0]
                             [--presidio-fraction 0.1] [--skip-full]

Measures on this machine, each figure in its own process (so peak memory is that job's):
1. bare spaCy over the corpus's turns: `tok2vec` + `ner` on two processes (the floor every
   anonymiser pays), the full pipeline on two processes, and the components of qualcode's
   one pass (`tok2vec`, tagger, lemmatizer, `ner`) in qualcode's two workers;
2. `qualcode run` end to end (anonymisation, a 30-code codebook, every report) on 10%, 50% and
   100% of the QMSum meetings, with the seconds and words per second of each stage from
   `run.json`, and the sample study as the README's first command runs it;
3. the rule coder with a 10-code and a 500-code codebook (generated from the sample's), from
   the one pass's docs and again tagging every segment anew, with whether the codings agree;
4. Presidio (analyzer + anonymizer, same spaCy pipeline) on the same turns.
The meetings are rendered to the `Speaker: text` layout and read through qualcode's reader.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _turn_texts(folder: Path) -> tuple[list[str], int]:
    import qualcode as qc

    transcripts = qc.read_transcripts([folder])
    texts = [turn.text for t in transcripts for turn in t.turns]
    return texts, sum(t.word_count for t in transcripts)


# --- children: one measurement each, printed as JSON ---------------------------------


SPACY_JOBS = {
    "floor": "spaCy tok2vec + ner, nlp.pipe on two processes (the floor)",
    "full": "spaCy full pipeline, nlp.pipe on two processes",
    "one-pass": "qualcode's one pass: tok2vec + tagger + lemmatizer + ner, two workers",
}


def child_spacy(folder: Path, components: str) -> dict:
    """spaCy over every turn on two processes: `nlp.pipe` with `tok2vec` + `ner` (the floor)
    or every component, or the components of qualcode's one pass in qualcode's workers."""
    import qualcode as qc
    from qualcode.nlp import TAGGING, pipe_options, pipe_texts

    texts, words = _turn_texts(folder)
    nlp = qc.load_pipeline()
    wanted = {
        "floor": ("tok2vec", "ner"),
        "full": tuple(c for c in nlp.pipe_names if c != "senter"),
        "one-pass": (*TAGGING, "ner"),
    }[components]
    enable = [c for c in nlp.pipe_names if c in wanted]
    options = pipe_options(texts)
    options["n_process"] = 2
    clock = time.perf_counter()
    with nlp.select_pipes(enable=enable):
        docs = (
            pipe_texts(nlp, texts, **options)
            if components == "one-pass"
            else nlp.pipe(texts, **options)
        )
        for _ in docs:
            pass
    seconds = time.perf_counter() - clock
    return {
        "job": SPACY_JOBS[components],
        "words": words,
        "seconds": round(seconds, 1),
        "words_per_s": round(words / seconds),
        "components": enable,
        "peak_mib": round(_peak_mib()),
    }


def child_presidio(folder: Path) -> dict:
    import logging

    import tldextract.tldextract
    from anonymisation import MODEL  # the same spaCy package qualcode uses

    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig

    texts, words = _turn_texts(folder)
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": MODEL}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    operators = {"DEFAULT": OperatorConfig("replace")}
    clock = time.perf_counter()
    for text in texts:
        results = analyzer.analyze(text=text, language="en")
        anonymizer.anonymize(text=text, analyzer_results=results, operators=operators)
    seconds = time.perf_counter() - clock
    return {
        "job": "Presidio anonymisation (one process)",
        "words": words,
        "seconds": round(seconds, 1),
        "words_per_s": round(words / seconds),
        "peak_mib": round(_peak_mib()),
    }


def child_coder(folder: Path, size: int) -> dict:
    """The rule coder with `size` codes over the corpus's anonymised segments, as `qualcode
    run` codes them (from the docs of the anonymiser's one pass), and again tagging every
    segment anew: the seconds of both and whether they give the same codings."""
    from coding import scaled

    import qualcode as qc

    transcripts = qc.read_transcripts([folder])
    words = sum(t.word_count for t in transcripts)
    anonymised = qc.anonymize(transcripts, tag=True)
    segments = qc.segment(anonymised.transcripts)
    book = scaled(qc.load_codebook(ROOT / "codebooks" / "near_peer_mentoring.yaml"), size)
    clock = time.perf_counter()
    codings = qc.apply_codebook(segments, book, docs=anonymised.docs)
    seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    again = qc.apply_codebook(segments, book)
    seconds_again = time.perf_counter() - clock
    one = [c.to_dict() for c in codings]
    two = [c.to_dict() for c in again]
    return {
        "job": f"rule coder, {size} codes",
        "words": words,
        "codings": len(codings),
        "seconds": round(seconds, 1),
        "words_per_s": round(words / seconds),
        "tagging_anew_seconds": round(seconds_again, 1),
        "same_codings": one == two,
        "codings_differing": len({str(c) for c in one} ^ {str(c) for c in two}),
        "peak_mib": round(_peak_mib()),
    }


CHILDREN = {"spacy": child_spacy, "presidio": child_presidio, "coder": child_coder}


# --- the parent -----------------------------------------------------------------------


def child(kind: str, *args: object) -> dict | None:
    command = [sys.executable, __file__, "--child", kind, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"{kind} {args} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_run(name: str, transcripts: Path, codebook: Path, work: Path, *extra: str) -> dict:
    """`qualcode run` as a user runs it, timed from outside, with its stages from run.json;
    peak memory is that of its largest process."""
    out, private = work / "out", work / "private"
    shutil.rmtree(work, ignore_errors=True)
    qualcode = Path(sys.executable).with_name("qualcode")
    command = [
        str(qualcode), "run", str(transcripts), "--codebook", str(codebook),
        "--out", str(out), "--private", str(private), *extra,
    ]  # fmt: skip
    clock = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    seconds = time.perf_counter() - clock
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        return {"job": f"qualcode run, {name}", "failed": done.stderr.strip()[-300:]}
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    words = info["counts"]["words"]
    return {
        "job": f"qualcode run, {name}",
        "words": words,
        "seconds": round(seconds, 1),
        "words_per_s": round(words / seconds),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "stages": {
            stage: {"seconds": s, "words_per_s": round(words / s) if s else None}
            for stage, s in info["timings"].items()
        },
        "segments": info["counts"]["segments"],
        "codings": info["counts"]["codings"],
    }


CHILDREN["run"] = child_run


def qualcode_run(name: str, transcripts: Path, codebook: Path, work: Path, *extra: str) -> dict:
    result = child("run", name, transcripts, codebook, work, *extra)
    return result or {"job": f"qualcode run, {name}", "failed": "see above"}


def render(corpus: Path, folder: Path, fraction: float) -> int:
    from read_and_segment import render_qmsum

    folder.mkdir(parents=True, exist_ok=True)
    return render_qmsum(corpus, folder, fraction)


def codebook_file(size: int, folder: Path) -> Path:
    from coding import scaled

    import qualcode as qc

    path = folder / f"codebook_{size}.yaml"
    book = qc.load_codebook(ROOT / "codebooks" / "near_peer_mentoring.yaml")
    qc.write_codebook(scaled(book, size), path)
    return path


def markdown(rows: list[dict]) -> str:
    """The rows as a table; a job on a share of QMSum also as a multiple of that share's
    floor measured in the same run."""
    floors = {
        row["job"].rsplit(", ", 1)[-1]: row["seconds"]
        for row in rows
        if "(the floor)" in row["job"] and "seconds" in row
    }
    lines = [
        "| job | words | seconds | × floor | words/s | peak memory | stages (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        if "failed" in row:
            lines.append(f"| {row['job']} | | failed | | | | {row['failed'][:80]} |")
            continue
        stages = ", ".join(
            f"{stage} {value['seconds']}" for stage, value in row.get("stages", {}).items()
        )
        floor = floors.get(row["job"].rsplit(", ", 1)[-1])
        times = (
            f"{row['seconds'] / floor:.2f}" if floor and row["job"].startswith("qualcode") else ""
        )
        lines.append(
            f"| {row['job']} | {row['words']:,} | {row['seconds']} | {times} | "
            f"{row['words_per_s']:,} | {row.get('peak_mib', '')} MiB | {stages} |"
        )
    return "\n".join(lines)


def machine() -> str:
    from importlib.metadata import version

    cpu = platform.processor() or platform.machine()
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"spaCy {version('spacy')}, qualcode {version('qualcode')}"
    )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # one measurement in its own process
        kind, *rest = sys.argv[2:]
        if kind == "run":
            values: list = [rest[0], Path(rest[1]), Path(rest[2]), Path(rest[3]), *rest[4:]]
        else:
            values = [Path(rest[0]), *rest[1:]]
        if kind == "coder":
            values[1] = int(values[1])
        print(json.dumps(CHILDREN[kind](*values)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/qmsum")
    parser.add_argument("--fractions", default="0.1,0.5,1.0")
    parser.add_argument("--presidio-fraction", type=float, default=0.1)
    parser.add_argument("--skip-full", action="store_true", help="skip the full spaCy pipeline")
    args = parser.parse_args()

    print(machine())
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        sample = qualcode_run(
            "sample study", ROOT / "transcripts_sample",
            ROOT / "codebooks" / "near_peer_mentoring.yaml", work / "sample",
            "--config", str(ROOT / "qualcode.yaml"),
        )  # fmt: skip
        rows.append(sample)
        print(json.dumps(sample))
        if not args.corpus.is_dir():
            print(f"{args.corpus} not found: the sample study only")
        else:
            book30 = codebook_file(30, work)
            fractions = [float(f) for f in args.fractions.split(",")]
            for fraction in fractions:
                folder = work / f"qmsum_{fraction}"
                render(args.corpus, folder, fraction)
                label = f"QMSum {fraction:.0%}"
                jobs = [("spacy", folder, "floor"), ("spacy", folder, "one-pass")]
                if fraction == max(fractions) and not args.skip_full:
                    jobs.append(("spacy", folder, "full"))
                for job in jobs:
                    result = child(*job)
                    if result:
                        result["job"] += f", {label}"
                        rows.append(result)
                        print(json.dumps(result))
                result = qualcode_run(f"30 codes, {label}", folder, book30, work / "run")
                rows.append(result)
                print(json.dumps(result))
            smallest = work / f"qmsum_{min(fractions)}"
            label = f"QMSum {min(fractions):.0%}"
            for size in (10, 500):
                result = child("coder", smallest, size)
                if result:
                    result["job"] += f", {label}"
                    rows.append(result)
                    print(json.dumps(result))
            for size in (10, 500):  # what the size of the codebook costs a whole run
                book = codebook_file(size, work)
                result = qualcode_run(f"{size} codes, {label}", smallest, book, work / "run")
                rows.append(result)
                print(json.dumps(result))
            try:
                import presidio_analyzer  # noqa: F401

                folder = work / "presidio"
                render(args.corpus, folder, args.presidio_fraction)
                result = child("presidio", folder)
                if result:
                    result["job"] += f", QMSum {args.presidio_fraction:.0%}"
                    rows.append(result)
                    print(json.dumps(result))
            except ImportError:
                print("Presidio is not installed: pip install -e '.[bench]'")
    print()
    print(machine())
    print(markdown(rows))


if __name__ == "__main__":
    main()
