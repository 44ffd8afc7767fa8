"""Coding from examples: learn a team's hand coding, suggest codes for the rest, and measure
how far the suggestions agree with human coders.

One logistic regression per code over the segment's lemmas (words and word pairs), the lemmas
of the neighbouring segments (coders code passages, not single sentences), the speaker's role,
the codebook's rule hits, and the codebook's examples as extra training examples. Everything
is held out by transcript, never by segment: neighbouring sentences of one session are too
alike to test on each other. Per code, the threshold is chosen on held-out transcripts: the
one with the best F1, or, for a target precision, the lowest one at which the held-out
precision reaches it (the most recall at that precision). The model card reports per-code
precision, recall, F1 and kappa against the held-out human coding and the learning curve.

A model folder holds plain files: `model.json` (settings, codes, thresholds, vocabulary),
`weights.npz` (numbers only, read without pickle), `codebook.yaml`, and the model card
(`card.json`, `card.md`). The vocabulary is lemmas of the training segments seen in at least
two of them, with proper nouns and numbers masked: no sentence is stored.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .agreement import cohen_kappa, precision_recall_f1
from .codebook import Codebook, load_codebook, write_codebook
from .coding import Coding, Codings, Evidence, apply_codebook, write_codings
from .errors import QualcodeError
from .files import atomic_write_bytes, atomic_write_text
from .nlp import load_pipeline, pipe_options
from .segments import Segment, Segments

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from spacy.language import Language

FORMAT = 1
MODEL_CODER = "qualcode-model"
FRACTIONS = (0.1, 0.25, 0.5, 0.75)
METHOD = (
    "one logistic regression per code (scikit-learn, liblinear, balanced class weights) over "
    "tf-idf of the segment's lemmas and lemma pairs, the lemmas of up to {window} segments "
    "either side in the same transcript, the speaker's role and the codebook's rule hits; "
    "the codebook's examples are extra training examples; proper nouns and numbers masked, "
    "features seen in fewer than {min_df} training segments dropped"
)
_ROLES = {
    "participants": ("participant",),
    "moderators": ("moderator",),
    "all": ("participant", "moderator", "observer"),
}
NEVER = 2.0  # the threshold of a code that is never suggested
MIN_F1 = 0.1  # a code whose best held-out F1 is lower is never suggested


@dataclass(frozen=True)
class LearnSettings:
    """How a model is trained and measured. `precision` is the target precision that
    chooses each code's threshold on held-out data (None: the threshold with the best F1)."""

    seed: int = 0
    precision: float | None = None
    folds: int = 5
    window: int = 2
    min_df: int = 2
    c: float = 1.0
    rules: bool = True
    examples: bool = True
    fractions: tuple[float, ...] = FRACTIONS
    repeats: int = 3

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fractions"] = list(self.fractions)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "fractions" in known:
            known["fractions"] = tuple(known["fractions"])
        return cls(**known)


@dataclass(frozen=True)
class Scores:
    """Suggestions against human coding on held-out segments of one code (or a macro mean)."""

    precision: float
    recall: float
    f1: float
    kappa: float
    support: int  # held-out segments a human coded with the code
    suggested: int  # held-out segments the model suggested it for

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scores:
        return cls(**{k: (math.nan if v is None else v) for k, v in data.items()})


@dataclass(frozen=True)
class CodeCard:
    """One code in the model card: training sizes, threshold and cross-validated scores."""

    code_id: str
    label: str
    coded: int  # training segments a human coded with it
    examples: int  # codebook examples used as extra training examples
    threshold: float
    target_met: bool  # the held-out precision reached the target at this threshold
    scores: Scores

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scores"] = self.scores.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodeCard:
        return cls(**{**data, "scores": Scores.from_dict(data["scores"])})


@dataclass(frozen=True)
class CurvePoint:
    """Macro kappa and F1 with a share of the transcripts coded (mean and range over draws)."""

    fraction: float
    transcripts: int
    draws: int
    kappa: float
    kappa_low: float
    kappa_high: float
    f1: float

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CurvePoint:
        return cls(**{k: (math.nan if v is None else v) for k, v in data.items()})


@dataclass(frozen=True)
class ModelCard:
    """What a model is, what it was trained on and how well it agrees with held-out human
    coding: per-code cross-validated scores and the learning curve."""

    codebook: dict[str, str]
    method: str
    settings: LearnSettings
    training: dict[str, Any]
    codes: tuple[CodeCard, ...]
    macro: Scores
    curve: tuple[CurvePoint, ...]
    qualcode: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "qualcode": self.qualcode,
            "codebook": dict(self.codebook),
            "method": self.method,
            "settings": self.settings.to_dict(),
            "training": dict(self.training),
            "macro": self.macro.to_dict(),
            "codes": [c.to_dict() for c in self.codes],
            "learning_curve": [p.to_dict() for p in self.curve],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        return cls(
            data["codebook"],
            data["method"],
            LearnSettings.from_dict(data["settings"]),
            data["training"],
            tuple(CodeCard.from_dict(c) for c in data["codes"]),
            Scores.from_dict(data["macro"]),
            tuple(CurvePoint.from_dict(p) for p in data["learning_curve"]),
            data.get("qualcode", ""),
        )

    def to_markdown(self) -> str:
        s, t = self.settings, self.training
        chosen = (
            f"for a target precision of {s.precision:.0%}"
            if s.precision is not None
            else "the one with the best F1"
        )
        folds = min(s.folds, t["transcripts"])
        lines = [
            f"# Model card: {self.codebook.get('name', '')}",
            "",
            f"Codebook version {self.codebook.get('version') or '-'} (SHA-256 "
            f"`{self.codebook.get('sha256', '')[:12]}`); qualcode {self.qualcode}.",
            "",
            "## Training data",
            "",
            f"{t['transcripts']} transcripts, {t['segments']} segments ({t['coded_segments']} "
            f"coded by hand, {t['codings']} codings by {', '.join(t['coders']) or 'one coder'}"
            f"; a segment counts as coded with a code when {t['combine']} coder"
            f"{'s' if t['combine'] == 'every' else ''} gave it).",
            "",
            "## Method",
            "",
            self.method + ".",
            f"Thresholds: per code, chosen on held-out transcripts, {chosen}; seed {s.seed}.",
            "",
            f"## Agreement with held-out human coding ({folds}-fold, split by transcript)",
            "",
            "Each transcript's segments are suggested by a model trained without that "
            "transcript, at a threshold chosen without it. Kappa is Cohen's kappa on the "
            "segment unit.",
            "",
            "| code | coded | threshold | precision | recall | F1 | kappa |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for code in self.codes:
            sc = code.scores
            mark = "" if code.target_met else " *"
            cut = "never" if code.threshold > 1 else _num(code.threshold)
            lines.append(
                f"| {code.label} (`{code.code_id}`) | {code.coded} | "
                f"{cut}{mark} | {_num(sc.precision)} | {_num(sc.recall)} | "
                f"{_num(sc.f1)} | {_num(sc.kappa)} |"
            )
        m = self.macro
        lines += [
            f"| **macro mean** | | | {_num(m.precision)} | {_num(m.recall)} | {_num(m.f1)} | "
            f"{_num(m.kappa)} |",
            "",
            "\\* the target precision was not reached on held-out data, or nothing held out "
            "was coded: the threshold with the best F1 is used (0.5 without held-out codings);"
            f' "never": even the best F1 is below {MIN_F1}, the code is not suggested.',
            "",
            "## Learning curve",
            "",
            "Macro kappa and F1 on the other transcripts when only a share of the transcripts "
            "is coded (mean and range over draws of transcripts).",
            "",
            "| transcripts coded | draws | macro kappa (range) | macro F1 |",
            "| --- | ---: | ---: | ---: |",
        ]
        for point in self.curve:
            lines.append(
                f"| {point.fraction:.0%} ({point.transcripts}) | {point.draws} | "
                f"{_num(point.kappa)} ({_num(point.kappa_low)}–{_num(point.kappa_high)}) | "
                f"{_num(point.f1)} |"
            )
        if not self.curve:
            lines.append("| (too few transcripts) | | | |")
        return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return (
        "—"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value:.2f}")
    )


@dataclass
class CodingModel:
    """A trained model: tf-idf vocabulary and idf, one weight row per code, thresholds."""

    codebook: Codebook
    settings: LearnSettings
    vocabulary: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray  # codes × features
    intercept: np.ndarray  # codes
    thresholds: np.ndarray  # codes
    card: ModelCard
    trained_on: tuple[str, ...] = ()  # segment ids of the training data
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code.id for code in self.codebook.codes)

    def __repr__(self) -> str:
        return (
            f"<CodingModel: {len(self.codes)} codes, {len(self.vocabulary)} features, trained "
            f"on {len(self.trained_on)} segments; macro kappa {_num(self.card.macro.kappa)}>"
        )

    def _repr_markdown_(self) -> str:
        return self.card.to_markdown()


# --- features -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    form: str  # lemma, or -propn- / -num-
    start: int  # offsets in the segment's text
    end: int
    stop: bool = False  # a function word: never shown as evidence


def unit_roles(codebook: Codebook) -> set[str]:
    """The speaker roles whose segments the codebook codes (its default and every code's)."""
    roles = set(_ROLES[codebook.speakers])
    for code in codebook.codes:
        if code.speakers:
            roles |= set(_ROLES[code.speakers])
    return roles


def _tokens(segments: Sequence[Segment] | Sequence[str], nlp: Language) -> list[list[_Token]]:
    texts = [s if isinstance(s, str) else s.text for s in segments]
    wanted = [
        c for c in ("tok2vec", "tagger", "attribute_ruler", "lemmatizer") if c in nlp.pipe_names
    ]
    found: list[list[_Token]] = []
    with nlp.select_pipes(enable=wanted):
        for doc in nlp.pipe(texts, **pipe_options(texts)):
            found.append(
                [
                    _Token(
                        "-propn-"
                        if t.pos_ == "PROPN"
                        else "-num-"
                        if t.like_num
                        else t.lemma_.casefold(),
                        t.idx,
                        t.idx + len(t.text),
                        t.is_stop,
                    )
                    for t in doc
                    if not (t.is_space or t.is_punct)
                ]
            )
    return found


def _own_features(tokens: list[_Token]) -> list[str]:
    words = [t.form for t in tokens]
    return words + [f"{a} {b}" for a, b in pairwise(words)]


@dataclass
class _Prepared:
    """Features of the unit segments of a project, computed once."""

    units: list[Segment]
    features: list[list[str]]
    tokens: list[list[_Token]]


_PREPARED: list[tuple[tuple[Any, ...], _Prepared]] = []  # the last few, for repeated calls


def _prepare(
    segments: Segments, codebook: Codebook, settings: LearnSettings, nlp: Language
) -> _Prepared:
    """The features of the unit segments; the same segments and codebook give the same
    features, so the last few are kept (learning several times costs one spaCy pass)."""
    key = (segments, codebook, settings.window, settings.rules, nlp)
    for cached_key, prepared in _PREPARED:
        if cached_key[2:] == key[2:] and cached_key[:2] == key[:2]:
            return prepared
    prepared = _compute_features(segments, codebook, settings, nlp)
    _PREPARED.insert(0, (key, prepared))
    del _PREPARED[3:]
    return prepared


def _compute_features(
    segments: Segments, codebook: Codebook, settings: LearnSettings, nlp: Language
) -> _Prepared:
    roles = unit_roles(codebook)
    items = list(segments)
    tokens = _tokens(items, nlp)
    hits: dict[str, list[str]] = {}
    if settings.rules:
        for coding in apply_codebook(segments, codebook, nlp=nlp):
            hits.setdefault(coding.segment_id, []).append(coding.code_id)
    units, features, unit_tokens = [], [], []
    for i, segment in enumerate(items):
        if segment.role not in roles:
            continue
        found = _own_features(tokens[i])
        for j in range(i - settings.window, i + settings.window + 1):
            if j != i and 0 <= j < len(items) and items[j].transcript_id == segment.transcript_id:
                found += [f"ctx:{t.form}" for t in tokens[j]]
        found.append(f"role:{segment.role}")
        found += [f"rule:{code_id}" for code_id in hits.get(segment.id, ())]
        units.append(segment)
        features.append(found)
        unit_tokens.append(tokens[i])
    return _Prepared(units, features, unit_tokens)


# --- tf-idf and the classifiers -------------------------------------------------------


def _fit_vocabulary(docs: Sequence[list[str]], min_df: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Features seen in at least `min_df` documents, sorted, with smoothed idf."""
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(set(doc))
    vocabulary = tuple(sorted(term for term, n in df.items() if n >= min_df))
    n = len(docs)
    idf = np.array([math.log((1 + n) / (1 + df[t])) + 1 for t in vocabulary], dtype=float)
    return vocabulary, idf


def _vectorise(docs: Sequence[list[str]], index: dict[str, int], idf: np.ndarray) -> csr_matrix:
    """Sublinear tf × idf, each row scaled to unit length (as scikit-learn's TfidfVectorizer
    with `sublinear_tf=True`)."""
    from scipy.sparse import csr_matrix

    rows, cols, values = [], [], []
    for r, doc in enumerate(docs):
        counts = Counter(index[t] for t in doc if t in index)
        if not counts:
            continue
        weights = {j: (1 + math.log(c)) * idf[j] for j, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        for j, w in sorted(weights.items()):
            rows.append(r)
            cols.append(j)
            values.append(w / norm)
    return csr_matrix((values, (rows, cols)), shape=(len(docs), len(idf)), dtype=float)


@dataclass
class _Fitted:
    vocabulary: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, docs: Sequence[list[str]]) -> np.ndarray:
        index = {t: i for i, t in enumerate(self.vocabulary)}
        return _sigmoid(_vectorise(docs, index, self.idf) @ self.coef.T + self.intercept)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(np.asarray(z, dtype=float), -40, 40)))


def _fit(docs: Sequence[list[str]], labels: np.ndarray, settings: LearnSettings) -> _Fitted:
    """One logistic regression per code (column of `labels`)."""
    from sklearn.linear_model import LogisticRegression

    vocabulary, idf = _fit_vocabulary(docs, settings.min_df)
    index = {t: i for i, t in enumerate(vocabulary)}
    x = _vectorise(docs, index, idf)
    coef = np.zeros((labels.shape[1], len(vocabulary)))
    intercept = np.full(labels.shape[1], -40.0)
    for k in range(labels.shape[1]):
        y = labels[:, k]
        if y.all():
            intercept[k] = 40.0
        elif y.any() and len(vocabulary):
            classifier = LogisticRegression(
                C=settings.c,
                class_weight="balanced",
                solver="liblinear",
                max_iter=1000,
                random_state=settings.seed,
            )
            classifier.fit(x, y)
            coef[k] = classifier.coef_[0]
            intercept[k] = classifier.intercept_[0]
    return _Fitted(vocabulary, idf, coef, intercept)


def _example_docs(
    codebook: Codebook, settings: LearnSettings, nlp: Language
) -> tuple[list[list[str]], np.ndarray]:
    """The codebook's examples as training documents: positive for their code only."""
    if not settings.examples:
        return [], np.zeros((0, len(codebook.codes)), dtype=bool)
    texts, owners = [], []
    for k, code in enumerate(codebook.codes):
        for example in code.examples:
            texts.append(example)
            owners.append(k)
    docs = [_own_features(tokens) for tokens in _tokens(texts, nlp)] if texts else []
    labels = np.zeros((len(docs), len(codebook.codes)), dtype=bool)
    for row, k in enumerate(owners):
        labels[row, k] = True
    return docs, labels


# --- thresholds and scores ------------------------------------------------------------


def choose_threshold(
    probabilities: np.ndarray, truth: np.ndarray, precision: float | None
) -> tuple[float, bool]:
    """The lowest threshold whose held-out precision reaches `precision` (the most recall at
    that precision), else (or without a target) the threshold with the best F1; and whether
    the target was met (without a target: whether the code can be suggested at all).
    0.5 when nothing held out is coded; `NEVER` when even the best F1 is below `MIN_F1`."""
    probabilities = np.asarray(probabilities, dtype=float)
    truth = np.asarray(truth, dtype=bool)
    if not truth.any() or len(probabilities) == 0:
        return 0.5, False
    order = np.argsort(-probabilities, kind="stable")
    p, t = probabilities[order], truth[order]
    true_pos = np.cumsum(t)
    predicted = np.arange(1, len(p) + 1)
    last = np.r_[p[1:] != p[:-1], True]  # cut only between distinct probabilities
    cut_precision = (true_pos / predicted)[last]
    cut_f1 = (2 * true_pos / (predicted + t.sum()))[last]
    cut_threshold = p[last]
    if precision is not None:
        reached = np.flatnonzero(cut_precision >= precision - 1e-12)
        if len(reached):
            return float(cut_threshold[reached[-1]]), True
    best = int(np.argmax(cut_f1))
    if cut_f1[best] < MIN_F1:  # no threshold separates the code: never suggest it
        return NEVER, False
    return float(cut_threshold[best]), precision is None


def scores(truth: np.ndarray, suggested: np.ndarray) -> Scores:
    """Precision, recall, F1 (suggestions against human coding) and Cohen's kappa, with
    `qualcode.agreement`'s coefficients."""
    truth, suggested = np.asarray(truth, bool), np.asarray(suggested, bool)
    both = float(np.sum(truth & suggested))
    only_human = float(np.sum(truth & ~suggested))
    only_model = float(np.sum(~truth & suggested))
    neither = float(len(truth)) - both - only_human - only_model
    precision, recall, f1 = precision_recall_f1(both, only_human, only_model)
    kappa = cohen_kappa(both, only_human, only_model, neither)
    return Scores(
        float(precision),
        float(recall),
        float(f1),
        float(kappa),
        int(truth.sum()),
        int(suggested.sum()),
    )


def macro(rows: Iterable[Scores]) -> Scores:
    """The mean of each figure over codes (left out where undefined); summed counts."""
    rows = list(rows)

    def mean(name: str) -> float:
        values = [getattr(r, name) for r in rows if not math.isnan(getattr(r, name))]
        return float(np.mean(values)) if values else math.nan

    return Scores(
        mean("precision"),
        mean("recall"),
        mean("f1"),
        mean("kappa"),
        sum(r.support for r in rows),
        sum(r.suggested for r in rows),
    )


def transcript_folds(transcripts: Iterable[str], folds: int, seed: int) -> list[list[str]]:
    """Transcripts shuffled with the seed and dealt into at most `folds` folds."""
    ordered = sorted(set(transcripts))
    rng = np.random.default_rng(seed)
    shuffled = [ordered[i] for i in rng.permutation(len(ordered))]
    k = max(1, min(folds, len(shuffled)))
    return [shuffled[i::k] for i in range(k)]


Extra = tuple[list[list[str]], np.ndarray]  # codebook examples and their labels


def _held_out(
    docs: list[list[str]],
    labels: np.ndarray,
    groups: np.ndarray,
    extra: Extra,
    settings: LearnSettings,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Probabilities of each segment from a model trained without its transcript, and the
    row masks of the folds."""
    probabilities = np.zeros(labels.shape)
    masks = []
    for fold in transcript_folds(groups.tolist(), settings.folds, settings.seed):
        test = np.isin(groups, fold)
        masks.append(test)
        train = np.flatnonzero(~test)
        fitted = _fit(
            [docs[i] for i in train] + extra[0], np.vstack([labels[train], extra[1]]), settings
        )
        probabilities[test] = fitted.probabilities([docs[i] for i in np.flatnonzero(test)])
    return probabilities, masks


def _thresholds(
    probabilities: np.ndarray, labels: np.ndarray, settings: LearnSettings
) -> tuple[np.ndarray, list[bool]]:
    chosen = [
        choose_threshold(probabilities[:, k], labels[:, k], settings.precision)
        for k in range(labels.shape[1])
    ]
    return np.array([t for t, _ in chosen]), [met for _, met in chosen]


def _evaluate(
    docs: list[list[str]],
    labels: np.ndarray,
    groups: np.ndarray,
    extra: Extra,
    settings: LearnSettings,
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Cross-validated suggestions (each fold at thresholds chosen on the other folds'
    held-out probabilities), and the thresholds and target flags from all folds."""
    probabilities, masks = _held_out(docs, labels, groups, extra, settings)
    suggested = np.zeros(labels.shape, dtype=bool)
    for test in masks:
        if len(masks) > 1:
            thresholds, _ = _thresholds(probabilities[~test], labels[~test], settings)
        else:
            thresholds = np.full(labels.shape[1], 0.5)
        suggested[test] = probabilities[test] >= thresholds
    thresholds, met = _thresholds(probabilities, labels, settings)
    return suggested, thresholds, met


def learning_curve(
    docs: list[list[str]],
    labels: np.ndarray,
    groups: np.ndarray,
    extra: Extra,
    settings: LearnSettings,
) -> tuple[CurvePoint, ...]:
    """Macro kappa and F1 on the other transcripts when only a share of the transcripts is
    coded, over `settings.repeats` seeded draws of transcripts; thresholds are chosen by
    cross-validation inside the coded share (0.5 when it is one transcript: the two halves
    of one transcript gave worse thresholds on the sample)."""
    transcripts = sorted(set(groups.tolist()))
    rng = np.random.default_rng(settings.seed)
    points = []
    for fraction in settings.fractions:
        n = min(max(1, round(fraction * len(transcripts))), len(transcripts) - 1)
        if n < 1:
            continue
        kappas, f1s = [], []
        for _ in range(settings.repeats):
            chosen = [transcripts[i] for i in sorted(rng.permutation(len(transcripts))[:n])]
            train = np.isin(groups, chosen)
            rows = np.flatnonzero(train)
            thresholds = np.full(labels.shape[1], 0.5)  # one transcript: nothing to hold out
            if n > 1:
                inner = replace(settings, folds=min(settings.folds, n))
                held, _ = _held_out(
                    [docs[i] for i in rows], labels[rows], groups[rows], extra, inner
                )
                thresholds, _ = _thresholds(held, labels[rows], settings)
            fitted = _fit(
                [docs[i] for i in rows] + extra[0], np.vstack([labels[rows], extra[1]]), settings
            )
            test = np.flatnonzero(~train)
            suggested = fitted.probabilities([docs[i] for i in test]) >= thresholds
            result = macro(
                scores(labels[test, k], suggested[:, k])
                for k in range(labels.shape[1])
                if labels[test, k].any()
            )
            kappas.append(result.kappa)
            f1s.append(result.f1)
        points.append(
            CurvePoint(
                fraction,
                n,
                len(kappas),
                float(np.nanmean(kappas)),
                float(np.nanmin(kappas)),
                float(np.nanmax(kappas)),
                float(np.nanmean(f1s)),
            )
        )
    return tuple(points)


# --- learn and suggest ----------------------------------------------------------------


def _as_list(codings: Codings | Sequence[Codings]) -> list[Codings]:
    return [codings] if isinstance(codings, Codings) else list(codings)


def learn(
    codings: Codings | Sequence[Codings],
    segments: Segments,
    codebook: Codebook,
    *,
    settings: LearnSettings | None = None,
    seen: Iterable[str] | None = None,
    combine: str = "any",
    nlp: Language | None = None,
    model: str | None = None,
) -> CodingModel:
    """Train one model for every code of the codebook from human codings (one coder's or
    several coders'), with a model card of cross-validated scores and the learning curve.

    The training segments are `seen` (the segment ids a coder went through), else every
    segment of each transcript that has a human coding; a seen segment without a coding is
    a "not coded" example. With several coders a segment counts as coded with a code when
    `any` coder (or, `combine="every"`, every coder) gave it.
    """
    settings = settings or LearnSettings()
    if combine not in ("any", "every"):
        raise ValueError("combine is 'any' or 'every'")
    nlp = nlp or load_pipeline(model)
    sets = _as_list(codings)
    code_ids = [code.id for code in codebook.codes]
    unknown = sorted({c.code_id for each in sets for c in each} - set(code_ids))
    if unknown:
        raise QualcodeError(
            f"the codings use codes that are not in the codebook: {', '.join(unknown[:5])}",
            fix="learn with the codebook the codings were made with",
        )
    keys = [{(c.segment_id, c.code_id) for c in each} for each in sets]
    coded = set.union(*keys) if combine == "any" else set.intersection(*keys)
    prepared = _prepare(segments, codebook, settings, nlp)
    if seen is None:
        coded_transcripts = {c.transcript_id for each in sets for c in each}
        rows = [i for i, s in enumerate(prepared.units) if s.transcript_id in coded_transcripts]
    else:
        wanted = set(seen)
        rows = [i for i, s in enumerate(prepared.units) if s.id in wanted]
    if not rows or not coded:
        raise QualcodeError(
            "no human codings on the segments to learn from",
            fix="give the codings of a coder and the segments.csv they were made on",
        )
    units = [prepared.units[i] for i in rows]
    docs = [prepared.features[i] for i in rows]
    labels = np.array([[(s.id, c) in coded for c in code_ids] for s in units], dtype=bool)
    groups = np.array([s.transcript_id for s in units])
    extra = _example_docs(codebook, settings, nlp)

    transcripts = sorted(set(groups.tolist()))
    if len(transcripts) > 1:
        suggested, thresholds, met = _evaluate(docs, labels, groups, extra, settings)
        curve = learning_curve(docs, labels, groups, extra, settings)
    else:  # one transcript: nothing to hold out, no scores, thresholds 0.5
        suggested = np.zeros(labels.shape, dtype=bool)
        thresholds, met, curve = np.full(len(code_ids), 0.5), [False] * len(code_ids), ()
    fitted = _fit(docs + extra[0], np.vstack([labels, extra[1]]), settings)
    examples = extra[1].sum(axis=0)
    no_model = ~(labels.any(axis=0) | examples.astype(bool))
    thresholds = np.where(no_model, NEVER, thresholds)
    undefined = Scores(math.nan, math.nan, math.nan, math.nan, 0, 0)
    code_cards = tuple(
        CodeCard(
            code.id,
            code.label,
            int(labels[:, k].sum()),
            int(examples[k]),
            round(float(thresholds[k]), 6),
            bool(met[k]),
            scores(labels[:, k], suggested[:, k]) if len(transcripts) > 1 else undefined,
        )
        for k, code in enumerate(codebook.codes)
    )
    from . import __version__

    card = ModelCard(
        codebook={"name": codebook.name, "version": codebook.version, "sha256": codebook.sha256},
        method=METHOD.format(window=settings.window, min_df=settings.min_df),
        settings=settings,
        training={
            "transcripts": len(transcripts),
            "segments": len(units),
            "coded_segments": int(labels.any(axis=1).sum()),
            "codings": int(labels.sum()),
            "coders": sorted({c.coder for each in sets for c in each if c.coder}),
            "combine": combine,
            "examples": len(extra[0]),
            "features": len(fitted.vocabulary),
        },
        codes=code_cards,
        macro=macro(c.scores for c in code_cards if c.scores.support),
        curve=curve,
        qualcode=__version__,
    )
    return CodingModel(
        codebook,
        settings,
        fitted.vocabulary,
        fitted.idf,
        fitted.coef,
        fitted.intercept,
        thresholds,
        card,
        tuple(s.id for s in units),
    )


@dataclass
class Predictions:
    """Each code's probability for each unit segment of a project."""

    units: list[Segment]
    values: np.ndarray  # units × codes
    tokens: list[list[_Token]] = field(repr=False)


def predict(model: CodingModel, segments: Segments, *, nlp: Language | None = None) -> Predictions:
    """Each code's probability for every segment the codebook codes."""
    prepared = _prepare(segments, model.codebook, model.settings, nlp or load_pipeline())
    fitted = _Fitted(model.vocabulary, model.idf, model.coef, model.intercept)
    values = (
        fitted.probabilities(prepared.features)
        if prepared.units
        else np.zeros((0, len(model.codes)))
    )
    return Predictions(prepared.units, values, prepared.tokens)


def suggest(
    model: CodingModel,
    segments: Segments,
    *,
    nlp: Language | None = None,
    threshold: float | None = None,
    predictions: Predictions | None = None,
) -> Codings:
    """Codings with `source="model"` for every segment whose probability reaches the code's
    threshold (or `threshold` for all codes); `score` is the probability and the evidence
    names the segment's words that weighed most for the code."""
    found = predictions or predict(model, segments, nlp=nlp)
    cut = model.thresholds if threshold is None else np.full(len(model.codes), threshold)
    index = {t: i for i, t in enumerate(model.vocabulary)}
    codes = model.codebook.codes
    items = []
    for row, segment in enumerate(found.units):
        for k in np.flatnonzero(found.values[row] >= cut):
            code = codes[k]
            items.append(
                Coding(
                    segment.id,
                    segment.transcript_id,
                    segment.speaker,
                    code.id,
                    code.subtheme_id,
                    code.theme_id,
                    round(float(found.values[row, k]), 4),
                    _evidence(segment, found.tokens[row], model.coef[k], index),
                    "model",
                    MODEL_CODER,
                )
            )
    return Codings(items, segments, model.codebook)


def _evidence(
    segment: Segment, tokens: list[_Token], weights: np.ndarray, index: dict[str, int], top: int = 3
) -> tuple[Evidence, ...]:
    """The segment's own words with the largest positive weights for the code."""
    found: dict[int, tuple[float, _Token]] = {}
    for token in tokens:
        j = index.get(token.form)
        if j is None or token.stop or token.form in ("-propn-", "-num-"):
            continue
        if weights[j] > 0:
            weight = float(weights[j])
            if j not in found or found[j][0] < weight:
                found[j] = (weight, token)
    best = sorted(found.values(), key=lambda item: (-item[0], item[1].start))[:top]
    return tuple(
        Evidence(
            "model",
            f"'{token.form}' {weight:+.2f}",
            segment.text[token.start : token.end],
            segment.start + token.start,
            segment.start + token.end,
        )
        for weight, token in sorted(best, key=lambda item: item[1].start)
    )


def next_to_code(
    model: CodingModel,
    segments: Segments,
    n: int = 40,
    *,
    exclude: Iterable[str] = (),
    nlp: Language | None = None,
    predictions: Predictions | None = None,
) -> list[Segment]:
    """The `n` segments the model is least sure about (uncertainty sampling): the smallest
    distance, over codes, between a probability and its code's threshold on the log-odds
    scale. Training segments and `exclude` are skipped; returned in transcript order."""
    found = predictions or predict(model, segments, nlp=nlp)
    skip = set(model.trained_on) | set(exclude)
    modelled = model.thresholds <= 1.0
    if not found.units or not modelled.any():
        return []

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    distance = np.abs(logit(found.values[:, modelled]) - logit(model.thresholds[modelled]))
    margin = distance.min(axis=1)
    candidates = [i for i, s in enumerate(found.units) if s.id not in skip]
    chosen = sorted(candidates, key=lambda i: (margin[i], i))[:n]
    return [found.units[i] for i in sorted(chosen)]


# --- files ----------------------------------------------------------------------------

MODEL_FILES = ("model.json", "weights.npz", "codebook.yaml", "card.json", "card.md")


def save_model(model: CodingModel, folder: str | Path) -> Path:
    """Write the model folder: `model.json`, `weights.npz`, `codebook.yaml`, `card.json` and
    `card.md`. Refuses a folder that holds a run's output."""
    import io

    folder = Path(folder)
    if (folder / "segments.csv").exists() or (folder / "themes.json").exists():
        raise QualcodeError(
            "this folder holds a run's output",
            file=folder,
            fix="write the model into a folder of its own, e.g. -o model/",
        )
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "format": FORMAT,
        "kind": "qualcode coding model",
        "codes": list(model.codes),
        "thresholds": [round(float(t), 6) for t in model.thresholds],
        "settings": model.settings.to_dict(),
        "trained_on": list(model.trained_on),
        "vocabulary": list(model.vocabulary),
    }
    atomic_write_text(folder / "model.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, idf=model.idf, coef=model.coef, intercept=model.intercept)
    atomic_write_bytes(folder / "weights.npz", buffer.getvalue())
    write_codebook(model.codebook, folder / "codebook.yaml")
    card = json.dumps(model.card.to_dict(), ensure_ascii=False, indent=2) + "\n"
    atomic_write_text(folder / "card.json", card)
    atomic_write_text(folder / "card.md", model.card.to_markdown())
    return folder


def load_model(folder: str | Path) -> CodingModel:
    """Read a model folder written by `save_model` (numbers without pickle)."""
    folder = Path(folder)
    missing = [name for name in MODEL_FILES[:4] if not (folder / name).is_file()]
    if missing:
        raise QualcodeError(
            f"not a qualcode model folder: {', '.join(missing)} missing",
            file=folder,
            fix="give the folder that 'qualcode learn' wrote",
        )
    try:
        data = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        card = ModelCard.from_dict(json.loads((folder / "card.json").read_text(encoding="utf-8")))
        with np.load(folder / "weights.npz", allow_pickle=False) as weights:
            idf, coef, intercept = weights["idf"], weights["coef"], weights["intercept"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, OSError) as error:
        raise QualcodeError(
            f"the model folder is damaged ({type(error).__name__})",
            file=folder,
            fix="train the model again with 'qualcode learn'",
        ) from None
    if data.get("format") != FORMAT:
        raise QualcodeError(
            f"model format {data.get('format')} is not {FORMAT}",
            file=folder / "model.json",
            fix="train the model again with this version of qualcode",
        )
    codebook = load_codebook(folder / "codebook.yaml")
    codes = [code.id for code in codebook.codes]
    vocabulary = tuple(data["vocabulary"])
    if (
        codes != data["codes"]
        or coef.shape != (len(codes), len(vocabulary))
        or idf.shape != (len(vocabulary),)
        or intercept.shape != (len(codes),)
        or len(data["thresholds"]) != len(codes)
    ):
        raise QualcodeError(
            "the model's files do not fit together (codes or features differ)",
            file=folder,
            fix="train the model again with 'qualcode learn'",
        )
    return CodingModel(
        codebook,
        LearnSettings.from_dict(data["settings"]),
        vocabulary,
        idf.astype(float),
        coef.astype(float),
        intercept.astype(float),
        np.array(data["thresholds"], dtype=float),
        card,
        tuple(data.get("trained_on", ())),
    )


# --- the commands ---------------------------------------------------------------------


def _seen_rows(path: Path, codings: Codings) -> set[str] | None:
    """For a coding sheet, the rows of the transcripts the coder marked something in; for a
    `codings.csv`, None (whole transcripts)."""
    from .sheets import is_codings_file, read_table

    if is_codings_file(path):
        return None
    rows = read_table(path)
    header = [h.strip() for h in rows[0][1]]
    column = header.index("segment_id")
    coded = {c.transcript_id for c in codings}
    seen = set()
    for _, row in rows[1:]:
        segment = codings.segments.get(row[column].strip()) if column < len(row) else None
        if segment is not None and segment.transcript_id in coded:
            seen.add(segment.id)
    return seen


def _segments_and_codebook(
    segments: str | Path, codebook: str | Path | None
) -> tuple[Segments, Codebook]:
    from .segments import read_segments

    segments = Path(segments)
    if not segments.is_file():
        raise QualcodeError("the segments file does not exist", file=segments, fix="check the path")
    if codebook is None:
        codebook = segments.parent / "codebook.yaml"
        if not codebook.is_file():
            raise QualcodeError(
                "no codebook.yaml beside the segments",
                file=segments,
                fix="pass --codebook with the codebook the codings were made with",
            )
    return read_segments(segments), load_codebook(codebook)


def run_learn(
    codings_files: Sequence[str | Path],
    segments: str | Path,
    out: str | Path,
    *,
    codebook: str | Path | None = None,
    settings: LearnSettings | None = None,
    combine: str = "any",
    model: str | None = None,
) -> CodingModel:
    """`qualcode learn`: read the codings (codings.csv files or coding sheets), learn, and
    write the model folder."""
    from .sheets import load_codings

    if not codings_files:
        raise QualcodeError("no codings given", fix="name one or more coders' codings files")
    if combine not in ("any", "every"):
        raise QualcodeError(f"unknown combine '{combine}'", fix="use any or every")
    segs, book = _segments_and_codebook(segments, codebook)
    loaded, seen = [], set()
    for path in map(Path, codings_files):
        each = load_codings(path, segs, book)
        loaded.append(each)
        rows = _seen_rows(path, each)
        if rows is None:  # a codings.csv: every segment of the transcripts it codes
            transcripts = {c.transcript_id for c in each}
            rows = {s.id for s in segs if s.transcript_id in transcripts}
        seen |= rows
    result = learn(loaded, segs, book, settings=settings, seen=seen, combine=combine, model=model)
    save_model(result, out)
    return result


def run_suggest(
    model_dir: str | Path,
    segments: str | Path,
    output: str | Path,
    *,
    threshold: float | None = None,
    model: str | None = None,
) -> Codings:
    """`qualcode suggest`: the model's codings as a codings.csv, or as a coding sheet with
    them pre-filled as suggestions when the output ends in .xlsx."""
    from .segments import read_segments
    from .sheets import write_coding_sheet

    loaded = load_model(model_dir)
    segs = read_segments(segments)
    codings = suggest(loaded, segs, threshold=threshold, nlp=load_pipeline(model))
    output = Path(output)
    if output.suffix.lower() == ".xlsx":
        write_coding_sheet(
            segs,
            loaded.codebook,
            output,
            suggestions=codings,
            include_moderators="moderator" in unit_roles(loaded.codebook),
        )
    else:
        write_codings(codings, output)
    return codings


def run_next(
    model_dir: str | Path,
    segments: str | Path,
    output: str | Path,
    *,
    n: int = 40,
    exclude: Sequence[str | Path] = (),
    model: str | None = None,
) -> list[Segment]:
    """`qualcode next`: a coding sheet of the `n` segments to code next, the model's
    suggestions pre-filled; segments in `exclude` codings files are skipped."""
    from .segments import read_segments
    from .sheets import load_codings, write_coding_sheet

    loaded = load_model(model_dir)
    segs = read_segments(segments)
    skipped: set[str] = set()
    for path in exclude:
        skipped |= {c.segment_id for c in load_codings(path, segs, loaded.codebook)}
    found = predict(loaded, segs, nlp=load_pipeline(model))
    chosen = next_to_code(loaded, segs, n, exclude=skipped, predictions=found)
    ids = {s.id for s in chosen}
    suggestions = suggest(loaded, segs, predictions=found)
    write_coding_sheet(
        Segments(chosen, segs.unit),
        loaded.codebook,
        output,
        suggestions=Codings([c for c in suggestions if c.segment_id in ids], segs),
        include_moderators=True,
    )
    return chosen
