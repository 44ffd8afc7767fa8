"""Coding from examples on real data: the SERDIF usability study.

    python benchmarks/learning.py [--serdif ../shared/eval/serdif] [--repeats 3] [--json FILE]

17 think-aloud sessions (`.odt`) coded by one researcher in 22 codes (1,930 quotes). The
quotes are mapped to qualcode's sentence segments (a segment gets a quote's code when the
quote covers half of the segment, or the segment holds half of the quote), then, split by
transcript (5 folds, never by segment), per code and as macro means:

- rules: `benchmarks/serdif_codebook.yaml`, written from the code descriptions of
  `codebook.csv` only, before any quote was read;
- model: `qualcode.learning` without the rule hits as features;
- model + rules: the model with the rule hits as features (qualcode's default);
- rules ∪ model: every code the rules or the model (with rule hits) give;

and the learning curve (10/25/50/75% of the transcripts coded, the rest held out). Nothing
from the corpus is copied into the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

import qualcode as qc
from qualcode.learning import (
    LearnSettings,
    _evaluate,
    _example_docs,
    _prepare,
    learning_curve,
    macro,
    scores,
)
from qualcode.readers import odt_blocks
from qualcode.transcripts import Transcript, Turn

ROOT = Path(__file__).resolve().parent.parent
SERDIF = ROOT.parent / "shared" / "eval" / "serdif"
CODEBOOK = Path(__file__).resolve().parent / "serdif_codebook.yaml"
# task prompts of the study's protocol ("3.a Please explain ...", "c.ii Data Lineage")
TASK = re.compile(r"^(\d+(\.[a-z])?|[a-z]\.[ivx]+)\s")
MODERATOR = re.compile(r"^MODERATOR\s*:\s*")
QUOTES = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"}


def read_sessions(folder: Path) -> list[Transcript]:
    """Each `.odt` as a transcript: `MODERATOR:` paragraphs are the moderator's turns, the
    protocol's numbered task prompts are an observer's ("Task"), every other paragraph is
    the participant's (think-aloud). One paragraph, one turn."""
    sessions = []
    paths = sorted(folder.glob("*.odt"), key=lambda p: int(re.sub(r"\D", "", p.stem[:3])))
    for path in paths:
        participant = path.stem.split("_")[0]
        turns: list[Turn] = []
        for block in odt_blocks(path):
            text = " ".join(block.split()) if isinstance(block, str) else ""
            if not text:
                continue
            if MODERATOR.match(text):
                speaker, role, text = "Moderator", "moderator", MODERATOR.sub("", text)
            elif TASK.match(text):
                speaker, role = "Task", "observer"
            else:
                speaker, role = participant, "participant"
            turns.append(Turn(len(turns), speaker, text, role, speaker))
        sessions.append(Transcript(path.stem, tuple(turns), {"group": participant}, str(path)))
    return sessions


def _normalised(text: str) -> tuple[str, list[int]]:
    """Casefolded, whitespace dropped, quotes unified; with each character's source index."""
    chars, index = [], []
    for i, ch in enumerate(text):
        if not ch.isspace():
            for c in QUOTES.get(ch, ch).casefold():
                chars.append(c)
                index.append(i)
    return "".join(chars), index


def map_quotes(segments: qc.Segments, rows: list[dict[str, str]]) -> tuple[dict, Counter]:
    """(segment id, tag) pairs of the quotes, and counts of found / ambiguous / missing."""
    by_transcript: dict[str, list[qc.Segment]] = defaultdict(list)
    for segment in segments:
        by_transcript[segment.transcript_id].append(segment)
    texts = {}
    for transcript_id, items in by_transcript.items():
        parts, owner = [], []
        for k, segment in enumerate(items):
            first = k == 0 or items[k - 1].turn != segment.turn
            label = "MODERATOR: " if segment.speaker == "Moderator" and first else ""
            text, _ = _normalised(label + segment.text)
            parts.append(text)
            owner += [k] * len(text)
        texts[transcript_id] = ("".join(parts), owner, items)
    pairs: dict[tuple[str, str], int] = {}
    counts: Counter[str] = Counter()
    for row in rows:
        joined, owner, items = texts[row["document"].rsplit(".", 1)[0]]
        quote, _ = _normalised(row["content"])
        at = joined.find(quote) if quote else -1
        if at < 0:
            counts["missing"] += 1
            continue
        counts["found"] += 1
        counts["ambiguous"] += joined.find(quote, at + 1) >= 0
        covered = Counter(owner[at : at + len(quote)])
        size = Counter(owner)
        for k, n in covered.items():
            if n >= 0.5 * size[k] or n >= 0.5 * len(quote):
                pairs[(items[k].id, row["tag"])] = 1
    return pairs, counts


def presence(codings: qc.Codings | set, units: list[qc.Segment], code_ids: list[str]) -> np.ndarray:
    keys = codings if isinstance(codings, set) else {(c.segment_id, c.code_id) for c in codings}
    return np.array([[(s.id, c) in keys for c in code_ids] for s in units], dtype=bool)


def cross_validated(
    human: qc.Codings, segments: qc.Segments, codebook: qc.Codebook, settings: LearnSettings
) -> tuple[list[qc.Segment], np.ndarray, tuple]:
    """Held-out suggestions on every unit segment (5 folds by transcript) and the curve."""
    nlp = qc.load_pipeline()
    prepared = _prepare(segments, codebook, settings, nlp)
    code_ids = [c.id for c in codebook.codes]
    keys = {(c.segment_id, c.code_id) for c in human}
    labels = presence(keys, prepared.units, code_ids)
    groups = np.array([s.transcript_id for s in prepared.units])
    extra = _example_docs(codebook, settings, nlp)
    suggested, _, _ = _evaluate(prepared.features, labels, groups, extra, settings)
    curve = learning_curve(prepared.features, labels, groups, extra, settings)
    return prepared.units, suggested, curve


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def number(value: float) -> str:
    return "—" if value != value else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serdif", type=Path, default=SERDIF)
    parser.add_argument("--repeats", type=int, default=3, help="draws per learning-curve point")
    parser.add_argument(
        "--precision",
        type=float,
        default=LearnSettings().precision,
        help="target precision of the thresholds (0: the threshold with the best F1)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    args = parser.parse_args()
    if not (args.serdif / "highlights.csv").is_file():
        raise SystemExit(f"{args.serdif} is not there: the SERDIF corpus is in ../shared/eval")
    clock = time.perf_counter()
    codebook = qc.load_codebook(CODEBOOK)
    by_label = {code.label: code.id for code in codebook.codes}
    study_codes = read_csv(args.serdif / "codebook.csv")
    missing = [row["tag"] for row in study_codes if row["tag"] not in by_label]
    assert not missing, f"codes of the study missing in the benchmark codebook: {missing}"
    quotes_per_code = {by_label[r["tag"]]: int(r["number of highlights"]) for r in study_codes}

    sessions = read_sessions(args.serdif / "transcripts")
    segments = qc.segment(sessions, "sentence")
    rows = read_csv(args.serdif / "highlights.csv")
    pairs, counts = map_quotes(segments, rows)
    code_ids = [c.id for c in codebook.codes]
    code_of = {c.id: c for c in codebook.codes}
    human = qc.Codings(
        [
            qc.Coding(
                sid,
                segments.get(sid).transcript_id,
                segments.get(sid).speaker,
                by_label[tag],
                "",
                code_of[by_label[tag]].theme_id,
                source="human",
                coder="serdif",
            )
            for sid, tag in pairs
        ],
        segments,
        codebook,
    )
    prepared_at = time.perf_counter()
    rules = qc.apply_codebook(segments, codebook)
    settings = LearnSettings(seed=args.seed, precision=args.precision or None, repeats=args.repeats)

    results = {}
    units = None
    for name, variant in (("model", replace(settings, rules=False)), ("model + rules", settings)):
        start = time.perf_counter()
        units, suggested, curve = cross_validated(human, segments, codebook, variant)
        results[name] = (suggested, curve, time.perf_counter() - start)
    assert units is not None
    truth = presence(human, units, code_ids)
    rule_presence = presence(rules, units, code_ids)
    systems = {
        "rules": rule_presence,
        "model": results["model"][0],
        "model + rules": results["model + rules"][0],
        "rules ∪ model": rule_presence | results["model + rules"][0],
    }
    per_code = {
        name: [scores(truth[:, k], found[:, k]) for k in range(len(code_ids))]
        for name, found in systems.items()
    }
    often = [k for k, c in enumerate(code_ids) if quotes_per_code[c] >= 30]

    print(
        f"SERDIF: {len(sessions)} transcripts, {sum(len(s.turns) for s in sessions)} turns, "
        f"{sum(s.word_count for s in sessions):,} words, {len(segments):,} sentence segments "
        f"({len(units):,} of participants and the moderator); {len(rows):,} quotes: "
        f"{counts['found']:,} found ({counts['ambiguous']} ambiguous: first occurrence), "
        f"{counts['missing']} not found → {len(pairs):,} coded (segment, code) pairs on "
        f"{len({s for s, _ in pairs}):,} segments."
    )
    header = ["code", "quotes", "segments"]
    for name in systems:
        header += [f"{name} F1", f"{name} κ"]
    lines = []
    for k, code_id in enumerate(code_ids):
        row = [code_of[code_id].label, str(quotes_per_code[code_id]), str(int(truth[:, k].sum()))]
        for name in systems:
            row += [number(per_code[name][k].f1), number(per_code[name][k].kappa)]
        lines.append(row)
    for title, chosen in (
        ("macro (22 codes)", range(len(code_ids))),
        ("macro, ≥ 30 quotes", often),
    ):
        row = [f"**{title}**", "", ""]
        for name in systems:
            m = macro(per_code[name][k] for k in chosen)
            row += [number(m.f1), number(m.kappa)]
        lines.append(row)
    print("\nHeld out by transcript (5 folds):\n")
    print(table(lines, header))
    print("\nPrecision and recall (macro):\n")
    print(
        table(
            [
                [
                    name,
                    number(macro(per_code[name]).precision),
                    number(macro(per_code[name]).recall),
                ]
                for name in systems
            ],
            ["system", "precision", "recall"],
        )
    )
    print("\nLearning curve (macro over the codes held-out transcripts hold; mean and range):\n")
    curve_rows = []
    for name in ("model", "model + rules"):
        for point in results[name][1]:
            curve_rows.append(
                [
                    name,
                    f"{point.fraction:.0%} ({point.transcripts})",
                    str(point.draws),
                    f"{number(point.kappa)} ({number(point.kappa_low)}–{number(point.kappa_high)})",
                    number(point.f1),
                ]
            )
    print(table(curve_rows, ["system", "transcripts coded", "draws", "macro κ", "macro F1"]))
    total = time.perf_counter() - clock
    print(
        f"\nTime: reading, segmenting and mapping {prepared_at - clock:.1f} s; model "
        f"{results['model'][2]:.1f} s and model + rules {results['model + rules'][2]:.1f} s "
        f"(each: features, 5-fold cross-validation and {len(settings.fractions)} × "
        f"{settings.repeats} learning-curve draws); {total:.1f} s in all."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "counts": dict(counts),
                    "settings": settings.to_dict(),
                    "codes": {
                        code_id: {name: per_code[name][k].to_dict() for name in systems}
                        | {"quotes": quotes_per_code[code_id], "segments": int(truth[:, k].sum())}
                        for k, code_id in enumerate(code_ids)
                    },
                    "macro": {name: macro(per_code[name]).to_dict() for name in systems},
                    "curve": {
                        name: [p.to_dict() for p in results[name][1]]
                        for name in ("model", "model + rules")
                    },
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
