"""Codebooks: themes > subthemes > codes with definitions, criteria, examples and match rules.

Read from YAML (canonical), CSV or XLSX (one row a code); validated in one place, with every
problem reported at once, each naming the file, the line and the code id.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import CodebookError, QualcodeError
from .files import atomic_write_bytes, atomic_write_text, csv_rows, csv_text, xlsx_bytes, xlsx_rows

ID_PATTERN = re.compile(r"^[a-z0-9_-]+$")
RULE_KINDS = ("keywords", "phrases", "patterns", "regex")
NEGATION = ("keep", "skip")
SPEAKERS = ("participants", "all", "moderators")
UNITS = ("sentence", "turn")
CODEBOOK_KEYS = ("name", "version", "language", "unit", "speakers", "description", "themes")
THEME_KEYS = ("id", "label", "description", "subthemes", "codes", "color")
SUBTHEME_KEYS = ("id", "label", "description", "codes")
CODE_KEYS = (
    "id",
    "label",
    "definition",
    "description",
    "include",
    "exclude",
    "examples",
    "match",
    "unless",
    "min_matches",
    "negation",
    "speakers",
    "memo",
)


@dataclass(frozen=True)
class Rules:
    """Match rules of one kind-set: keywords (lemmas), phrases, spaCy patterns, regexes."""

    keywords: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    patterns: tuple[tuple[dict[str, Any], ...], ...] = ()
    regex: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any(getattr(self, kind) for kind in RULE_KINDS)

    def entries(self) -> Iterator[tuple[str, int, Any]]:
        """(kind, index, entry) for every rule entry."""
        for kind in RULE_KINDS:
            for index, entry in enumerate(getattr(self, kind)):
                yield kind, index, entry

    def __len__(self) -> int:
        return sum(len(getattr(self, kind)) for kind in RULE_KINDS)

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            kind: [_plain_pattern(e) if kind == "patterns" else e for e in getattr(self, kind)]
            for kind in RULE_KINDS
            if getattr(self, kind)
        }


def _plain_pattern(pattern: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [dict(token) for token in pattern]


@dataclass(frozen=True)
class Code:
    """A code with its definition, criteria, examples and match rules."""

    id: str
    label: str
    theme_id: str
    subtheme_id: str = ""
    definition: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    match: Rules = field(default_factory=Rules)
    unless: Rules = field(default_factory=Rules)
    min_matches: int = 1
    negation: str = "keep"
    speakers: str | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def manual_only(self) -> bool:
        """A code without match rules: only human codings fill it."""
        return not self.match

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "label": self.label}
        if self.definition:
            data["definition"] = self.definition
        for key in ("include", "exclude", "examples"):
            if getattr(self, key):
                data[key] = list(getattr(self, key))
        if self.match:
            data["match"] = self.match.to_dict()
        if self.unless:
            data["unless"] = self.unless.to_dict()
        if self.min_matches != 1:
            data["min_matches"] = self.min_matches
        if self.negation != "keep":
            data["negation"] = self.negation
        if self.speakers:
            data["speakers"] = self.speakers
        return data


@dataclass(frozen=True)
class Subtheme:
    id: str
    label: str
    theme_id: str
    description: str = ""
    codes: tuple[Code, ...] = ()
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Theme:
    """A theme: its subthemes, and codes placed directly under it (subtheme_id empty)."""

    id: str
    label: str
    description: str = ""
    subthemes: tuple[Subtheme, ...] = ()
    codes: tuple[Code, ...] = ()
    line: int | None = field(default=None, compare=False)
    color: str = ""  # "#RRGGBB"; exports use a palette colour when empty

    @property
    def all_codes(self) -> tuple[Code, ...]:
        return self.codes + tuple(c for s in self.subthemes for c in s.codes)


@dataclass(frozen=True)
class Codebook:
    """A whole codebook; `sha256` is over the bytes of the file it was read from."""

    name: str
    themes: tuple[Theme, ...]
    version: str = ""
    language: str = "en"
    unit: str = "sentence"
    speakers: str = "participants"
    description: str = ""
    source: str = ""
    sha256: str = ""

    @property
    def codes(self) -> tuple[Code, ...]:
        return tuple(code for theme in self.themes for code in theme.all_codes)

    @property
    def subthemes(self) -> tuple[Subtheme, ...]:
        return tuple(sub for theme in self.themes for sub in theme.subthemes)

    def code(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    def summary(self) -> dict[str, int]:
        return {
            "themes": len(self.themes),
            "subthemes": len(self.subthemes),
            "codes": len(self.codes),
            "rules": sum(len(c.match) + len(c.unless) for c in self.codes),
            "manual_only": sum(c.manual_only for c in self.codes),
        }

    def text(self) -> str:
        """Every piece of text in the codebook (labels, definitions, examples, rules), one a
        line: what the reports copy from it."""

        def strings(value: Any) -> Iterator[str]:
            if isinstance(value, str):
                yield value
            elif isinstance(value, dict):
                for item in value.values():
                    yield from strings(item)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    yield from strings(item)

        return "\n".join(strings(self.to_dict()))

    def to_dict(self) -> dict[str, Any]:
        themes = []
        for theme in self.themes:
            item: dict[str, Any] = {"id": theme.id, "label": theme.label}
            if theme.description:
                item["description"] = theme.description
            if theme.color:
                item["color"] = theme.color
            if theme.subthemes:
                item["subthemes"] = [
                    {
                        "id": s.id,
                        "label": s.label,
                        **({"description": s.description} if s.description else {}),
                        "codes": [c.to_dict() for c in s.codes],
                    }
                    for s in theme.subthemes
                ]
            if theme.codes:
                item["codes"] = [c.to_dict() for c in theme.codes]
            themes.append(item)
        head = {
            "name": self.name,
            "version": self.version,
            "language": self.language,
            "unit": self.unit,
            "speakers": self.speakers,
        }
        if self.description:
            head["description"] = self.description
        return {**head, "themes": themes}


# --- reading --------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that records the line of every mapping as `__line__`."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    keys: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        keys[key] = key_node.start_mark.line + 1
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

MAX_NODES = 200_000  # a codebook expands to far fewer YAML nodes; more is an alias bomb


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes the YAML document has once every alias is expanded."""
    key = id(node)
    if key not in memo:
        memo[key] = 1  # guards against recursive aliases
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(child, memo) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(
                _expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value
            )
    return memo[key]


def _load_yaml(text: str, path: Path) -> Any:
    tab = re.search(r"^ *\t", text, re.MULTILINE)
    if tab:
        raise CodebookError(
            "a tab indents this line",
            file=path,
            line=text.count("\n", 0, tab.start()) + 1,
            fix="indent YAML with spaces only",
        )
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        size = _expanded_size(node, {}) if node is not None else 0
    except yaml.YAMLError:
        node, size = None, 0  # reported with its line by the full load below
    except RecursionError:
        raise CodebookError(
            "the YAML is nested too deeply",
            file=path,
            fix="a codebook nests themes, subthemes and codes: check the brackets and indents",
        ) from None
    if size > MAX_NODES:
        raise CodebookError(
            "the YAML expands to an enormous document (an alias bomb?)",
            file=path,
            fix="write the codebook out without '*alias' references",
        )
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
        raise CodebookError(
            f"not valid YAML ({problem})",
            file=path,
            line=mark.line + 1 if mark else None,
            fix="check the indentation and quoting on that line",
        ) from None


@dataclass
class _Problems:
    path: Path
    items: list[CodebookError] = field(default_factory=list)

    def add(self, what: str, line: int | None, fix: str, code: str | None = None) -> None:
        prefix = f"{code}: " if code else ""
        self.items.append(CodebookError(prefix + what, file=self.path, line=line, fix=fix))


def _without_lines(value: Any) -> Any:
    """Parsed YAML without the `__line__` bookkeeping keys."""
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(_text(v) for v in value if _text(v))
    return (_text(value),) if _text(value) else ()


def _check_keys(
    data: dict[str, Any],
    allowed: tuple[str, ...],
    where: str,
    problems: _Problems,
    code: str | None,
) -> None:
    for key in data:
        if key == "__line__" or key in allowed:
            continue
        guess = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        fix = f"did you mean '{guess[0]}'?" if guess else f"use one of: {', '.join(allowed)}"
        problems.add(f"unknown key '{key}' in {where}", data.get("__line__"), fix, code)


def _rules(data: Any, line: int | None, problems: _Problems, code: str, where: str) -> Rules:
    if data is None:
        return Rules()
    if not isinstance(data, dict):
        problems.add(
            f"'{where}' must be a mapping of rule kinds",
            line,
            f"use keys {', '.join(RULE_KINDS)}",
            code,
        )
        return Rules()
    line = data.get("__line__", line)
    _check_keys(data, RULE_KINDS, f"'{where}'", problems, code)
    patterns = []
    for pattern in data.get("patterns") or []:
        if isinstance(pattern, list) and all(isinstance(t, dict) for t in pattern) and pattern:
            patterns.append(tuple(_without_lines(t) for t in pattern))
        else:
            problems.add(
                f"a pattern in '{where}' is not a list of token mappings",
                line,
                "write it like [{LEMMA: help}, {OP: '?'}]",
                code,
            )
    return Rules(
        keywords=tuple(k.casefold() for k in _list(data.get("keywords"))),
        phrases=tuple(p.casefold() for p in _list(data.get("phrases"))),
        patterns=tuple(patterns),
        regex=_list(data.get("regex")),
    )


def _code(
    data: Any, theme_id: str, subtheme_id: str, problems: _Problems, parent_line: int | None
) -> Code | None:
    if not isinstance(data, dict):
        problems.add("a code must be a mapping", parent_line, "give id, label, definition")
        return None
    line = data.get("__line__")
    code_id = _text(data.get("id"))
    _check_keys(data, CODE_KEYS, "a code", problems, code_id or None)
    min_matches = data.get("min_matches", 1)
    if not isinstance(min_matches, int) or isinstance(min_matches, bool) or min_matches < 1:
        problems.add(
            f"min_matches must be a whole number of at least 1, not '{min_matches}'",
            line,
            "write e.g. min_matches: 2",
            code_id,
        )
        min_matches = 1
    code = Code(
        id=code_id,
        label=_text(data.get("label")),
        theme_id=theme_id,
        subtheme_id=subtheme_id,
        definition=_text(data.get("definition") or data.get("description")),
        include=_list(data.get("include")),
        exclude=_list(data.get("exclude")),
        examples=_list(data.get("examples")),
        match=_rules(data.get("match"), line, problems, code_id, "match"),
        unless=_rules(data.get("unless"), line, problems, code_id, "unless"),
        min_matches=min_matches,
        negation=_text(data.get("negation")) or "keep",
        speakers=_text(data.get("speakers")) or None,
        line=line,
    )
    return code


def _items(
    value: Any, line: int | None, what: str, problems: _Problems, code: str | None = None
) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(f"'{what}' must be a list", line, f"write each of the {what} as '- ...'", code)
        return []
    return value


def codebook_from_dict(data: Any, path: Path, digest: str = "") -> Codebook:
    """Build and validate a codebook from parsed YAML (or converted rows)."""
    problems = _Problems(path)
    if not isinstance(data, dict):
        raise CodebookError(
            "the codebook is not a mapping",
            file=path,
            line=1,
            fix="start with 'name:', 'version:' and 'themes:'",
        )
    _check_keys(data, CODEBOOK_KEYS, "the codebook", problems, None)
    themes: list[Theme] = []
    for theme_data in _items(data.get("themes"), data.get("__line__"), "themes", problems):
        if not isinstance(theme_data, dict):
            problems.add(
                "a theme must be a mapping",
                data.get("__line__"),
                "give id, label, description and subthemes or codes",
            )
            continue
        theme_id = _text(theme_data.get("id"))
        line = theme_data.get("__line__")
        _check_keys(theme_data, THEME_KEYS, "a theme", problems, theme_id or None)
        subthemes = []
        for sub_data in _items(theme_data.get("subthemes"), line, "subthemes", problems, theme_id):
            if not isinstance(sub_data, dict):
                problems.add(
                    "a subtheme must be a mapping", line, "give id, label and codes", theme_id
                )
                continue
            sub_id = _text(sub_data.get("id"))
            _check_keys(sub_data, SUBTHEME_KEYS, "a subtheme", problems, sub_id or None)
            codes = [
                c
                for c in (
                    _code(c, theme_id, sub_id, problems, sub_data.get("__line__"))
                    for c in _items(
                        sub_data.get("codes"), sub_data.get("__line__"), "codes", problems, sub_id
                    )
                )
                if c
            ]
            subthemes.append(
                Subtheme(
                    sub_id,
                    _text(sub_data.get("label")),
                    theme_id,
                    _text(sub_data.get("description")),
                    tuple(codes),
                    sub_data.get("__line__"),
                )
            )
        codes = [
            c
            for c in (
                _code(c, theme_id, "", problems, line)
                for c in _items(theme_data.get("codes"), line, "codes", problems, theme_id)
            )
            if c
        ]
        themes.append(
            Theme(
                theme_id,
                _text(theme_data.get("label")),
                _text(theme_data.get("description")),
                tuple(subthemes),
                tuple(codes),
                line,
                _text(theme_data.get("color")),
            )
        )
    codebook = Codebook(
        name=_text(data.get("name")) or path.stem,
        themes=tuple(themes),
        version=_text(data.get("version")),
        language=_text(data.get("language")) or "en",
        unit=_text(data.get("unit")) or "sentence",
        speakers=_text(data.get("speakers")) or "participants",
        description=_text(data.get("description")),
        source=str(path),
        sha256=digest,
    )
    _validate(codebook, data, problems)
    if problems.items:
        raise CodebookProblems(problems.items)
    return codebook


class CodebookProblems(CodebookError):
    """Several codebook problems, reported together (`.problems` holds each one)."""

    def __init__(self, problems: list[CodebookError]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.what, file=first.file, line=first.line, fix=first.fix)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def _validate(codebook: Codebook, data: dict[str, Any], problems: _Problems) -> None:
    top = data.get("__line__")
    if codebook.unit not in UNITS:
        problems.add(f"unknown unit '{codebook.unit}'", top, f"use one of: {', '.join(UNITS)}")
    if codebook.speakers not in SPEAKERS:
        problems.add(
            f"unknown speakers '{codebook.speakers}'", top, f"use one of: {', '.join(SPEAKERS)}"
        )
    if not codebook.themes:
        problems.add("the codebook has no themes", top, "add a 'themes:' list")
    seen: dict[str, str] = {}
    seen_folded: dict[str, str] = {}
    items: list[tuple[str, str, str, int | None]] = [
        (t.id, t.label, "theme", t.line) for t in codebook.themes
    ]
    items += [(s.id, s.label, "subtheme", s.line) for s in codebook.subthemes]
    items += [(c.id, c.label, "code", c.line) for c in codebook.codes]
    for item_id, label, kind, line in items:
        if not item_id:
            problems.add(f"a {kind} has no id", line, "give it an id like 'self_confidence'")
            continue
        collides = item_id not in seen and item_id.casefold() in seen_folded
        if not ID_PATTERN.match(item_id) and not collides:  # a collision says it already
            folded = item_id.casefold()
            problems.add(
                f"bad {kind} id",
                line,
                "use lowercase letters, digits, '_' and '-' only"
                + (f", e.g. '{re.sub(r'[^a-z0-9_-]+', '_', folded)}'"),
                item_id,
            )
        if item_id in seen:
            problems.add(
                f"duplicate id (also a {seen[item_id]})",
                line,
                "ids must be unique across the whole codebook",
                item_id,
            )
        elif item_id.casefold() in seen_folded:
            problems.add(
                f"id collides with '{seen_folded[item_id.casefold()]}' after lower-casing",
                line,
                "ids are lowercase and unique across the whole codebook: rename one",
                item_id,
            )
        seen[item_id] = kind
        seen_folded[item_id.casefold()] = item_id
        if not label:
            problems.add(
                f"the {kind} has an empty label", line, "give it a readable label", item_id
            )
    for theme in codebook.themes:
        if theme.color and not re.fullmatch(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})", theme.color):
            problems.add(
                f"bad colour '{theme.color}'", theme.line, "write it like '#4E79A7'", theme.id
            )
        if not theme.all_codes:
            problems.add(
                "the theme has no codes",
                theme.line,
                "add subthemes with codes, or codes directly under the theme",
                theme.id,
            )
        for sub in theme.subthemes:
            if not sub.codes:
                problems.add("the subtheme has no codes", sub.line, "add codes to it", sub.id)
    for code in codebook.codes:
        line = code.line
        if code.negation not in NEGATION:
            problems.add(
                f"unknown negation '{code.negation}'",
                line,
                f"use one of: {', '.join(NEGATION)}",
                code.id,
            )
        if code.speakers and code.speakers not in SPEAKERS:
            problems.add(
                f"unknown speakers '{code.speakers}'",
                line,
                f"use one of: {', '.join(SPEAKERS)}",
                code.id,
            )
        if code.match and code.min_matches > len(code.match):
            problems.add(
                f"min_matches {code.min_matches} is more than the {len(code.match)} match entries",
                line,
                "lower min_matches or add rules",
                code.id,
            )
        if code.unless and not code.match:
            problems.add(
                "'unless' without 'match' rules",
                line,
                "add match rules, or remove 'unless' from a manual-only code",
                code.id,
            )
        for rules in (code.match, code.unless):
            for kind, _index, entry in rules.entries():
                if kind == "regex":
                    try:
                        compile_regex(entry)
                    except (re.error, regex_module().error) as error:
                        problems.add(
                            f"invalid regex '{entry}' ({error})",
                            line,
                            "fix the regular expression (Python syntax)",
                            code.id,
                        )
                elif kind == "patterns":
                    message = pattern_problem(entry)
                    if message:
                        problems.add(
                            f"invalid spaCy pattern ({message})",
                            line,
                            "see spaCy's Matcher token attributes (LEMMA, LOWER, POS, OP, …)",
                            code.id,
                        )


def regex_module() -> Any:
    """The `regex` package, which runs codebook regexes with a time limit."""
    import regex

    return regex


def compile_regex(pattern: str) -> Any:
    """A codebook regex compiled as the coder runs it: case-insensitive, with Python's `re`
    syntax (the `regex` package in its compatible mode, which allows a time limit)."""
    regex = regex_module()
    return regex.compile(pattern, regex.IGNORECASE | regex.V0)


def pattern_problem(pattern: tuple[dict[str, Any], ...]) -> str | None:
    """Why spaCy's Matcher rejects a token pattern, or None if it accepts it."""
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

    matcher = Matcher(Vocab(), validate=True)
    try:
        matcher.add("check", [[dict(token) for token in pattern]])
    except Exception as error:  # spaCy raises ValueError/KeyError/MatchPatternError
        text = " ".join(str(error).split())
        return text[:160]
    return None


def read_codebook_text(path: Path) -> str:
    if not path.is_file():
        raise CodebookError(
            "the codebook file does not exist",
            file=path,
            fix="give the path of a .yaml, .csv or .xlsx codebook",
        )
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise CodebookError(
            "the codebook is not UTF-8 text", file=path, fix="save it as UTF-8"
        ) from None


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook (`.yaml`/`.yml`, `.csv`, `.xlsx`, REFI-QDA `.qdc`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv", ".xlsx", ".qdc"):
        raise CodebookError(
            f"unknown codebook format '{suffix or '(no suffix)'}'",
            file=path,
            fix="use a .yaml, .csv, .xlsx or .qdc codebook",
        )
    if not path.is_file():
        raise CodebookError(
            "the codebook file does not exist",
            file=path,
            fix="give the path of a .yaml, .csv or .xlsx codebook",
        )
    if suffix == ".qdc":
        from .exchange import read_qdc

        return read_qdc(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if suffix in (".yaml", ".yml"):
        data = _load_yaml(read_codebook_text(path), path)
    elif suffix == ".csv":
        data = _rows_to_dict(_csv_rows(path), path)
    else:
        data = _rows_to_dict(_xlsx_rows(path), path)
    return codebook_from_dict(data, path, digest)


# --- tables (CSV / XLSX): one row a code ----------------------------------------------

TABLE_COLUMNS = (
    "theme_id",
    "theme_label",
    "theme_description",
    "theme_color",
    "subtheme_id",
    "subtheme_label",
    "subtheme_description",
    "code_id",
    "label",
    "definition",
    "include",
    "exclude",
    "examples",
    "keywords",
    "phrases",
    "patterns",
    "regex",
    "unless",
    "min_matches",
    "negation",
    "speakers",
)
_COLUMN_ALIASES = {
    "theme": "theme_id",
    "subtheme": "subtheme_id",
    "code": "code_id",
    "id": "code_id",
    "code id": "code_id",
    "code_label": "label",
    "description": "definition",
}


def _csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    return _named_rows(csv_rows(read_codebook_text(path), path, CodebookError), path)


def _xlsx_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    return _named_rows(xlsx_rows(path, CodebookError), path)


def _named_rows(rows: list[tuple[int, list[str]]], path: Path) -> list[tuple[int, dict[str, str]]]:
    if not rows:
        raise CodebookError(
            "the codebook table is empty",
            file=path,
            line=1,
            fix=f"the first row names the columns: {', '.join(TABLE_COLUMNS)}",
        )
    header = [
        _COLUMN_ALIASES.get(h.strip().casefold(), h.strip().casefold().replace(" ", "_"))
        for h in rows[0][1]
    ]
    for needed in ("theme_id", "code_id"):
        if needed not in header:
            raise CodebookError(
                f"no {needed} column",
                file=path,
                line=rows[0][0],
                fix=f"name the columns: {', '.join(TABLE_COLUMNS)}",
            )
    unknown = [h for h in header if h and h not in TABLE_COLUMNS]
    if unknown:
        guess = difflib.get_close_matches(unknown[0], TABLE_COLUMNS, n=1)
        raise CodebookError(
            f"unknown column '{unknown[0]}'",
            file=path,
            line=rows[0][0],
            fix=f"did you mean '{guess[0]}'?" if guess else f"use: {', '.join(TABLE_COLUMNS)}",
        )
    named = []
    for line, row in rows[1:]:
        if any(cell.strip() for cell in row):
            named.append(
                (line, {h: (row[i] if i < len(row) else "") for i, h in enumerate(header) if h})
            )
    return named


def _cell_list(value: str, separators: str = "\n") -> list[str]:
    value = value.replace("\r\n", "\n")
    pattern = "[" + re.escape(separators) + "]" if "\n" not in value else "\n"
    return [part.strip() for part in re.split(pattern, value) if part.strip()]


def _cell_rules(row: dict[str, str], line: int, path: Path, prefix: str = "") -> dict[str, Any]:
    rules: dict[str, Any] = {"__line__": line}
    for kind in RULE_KINDS:
        value = row.get(prefix + kind, "") or ""
        if not value.strip():
            continue
        if kind == "patterns":
            try:
                parsed = [json.loads(p) for p in _cell_list(value)]
            except json.JSONDecodeError:
                raise CodebookError(
                    f"{row.get('code_id')}: the patterns cell is not JSON",
                    file=path,
                    line=line,
                    fix='write one JSON pattern a line: [{"LEMMA": "help"}]',
                ) from None
            rules[kind] = parsed
        else:
            rules[kind] = _cell_list(value, ";" if kind in ("keywords", "phrases") else "\n")
    return rules


def _rows_to_dict(rows: list[tuple[int, dict[str, str]]], path: Path) -> dict[str, Any]:
    themes: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        theme_id = row.get("theme_id", "").strip()
        theme = themes.setdefault(
            theme_id,
            {
                "id": theme_id,
                "label": "",
                "description": "",
                "subthemes": [],
                "codes": [],
                "__line__": line,
            },
        )
        theme["label"] = theme["label"] or row.get("theme_label", "").strip()
        theme["description"] = theme["description"] or row.get("theme_description", "").strip()
        if row.get("theme_color", "").strip() and not theme.get("color"):
            theme["color"] = row["theme_color"].strip()
        code: dict[str, Any] = {
            "id": row.get("code_id", "").strip(),
            "label": row.get("label", "").strip(),
            "definition": row.get("definition", "").strip(),
            "__line__": line,
        }
        for key in ("include", "exclude", "examples"):
            if row.get(key, "").strip():
                code[key] = _cell_list(row[key])
        match = _cell_rules(row, line, path)
        if len(match) > 1:
            code["match"] = match
        unless_cell = row.get("unless", "").strip()
        if unless_cell:
            try:
                unless = yaml.safe_load(unless_cell)
            except yaml.YAMLError:
                unless = None
            if not isinstance(unless, dict):
                raise CodebookError(
                    f"{code['id']}: the unless cell is not a mapping",
                    file=path,
                    line=line,
                    fix="write it like {keywords: [homework]}",
                )
            code["unless"] = {**unless, "__line__": line}
        for key in ("min_matches",):
            if row.get(key, "").strip():
                try:
                    code[key] = int(float(row[key]))
                except ValueError:
                    code[key] = row[key]
        for key in ("negation", "speakers"):
            if row.get(key, "").strip():
                code[key] = row[key].strip()
        sub_id = row.get("subtheme_id", "").strip()
        if sub_id:
            subs = {s["id"]: s for s in theme["subthemes"]}
            if sub_id not in subs:
                theme["subthemes"].append(
                    {
                        "id": sub_id,
                        "label": row.get("subtheme_label", "").strip(),
                        "description": row.get("subtheme_description", "").strip(),
                        "codes": [],
                        "__line__": line,
                    }
                )
                subs = {s["id"]: s for s in theme["subthemes"]}
            subs[sub_id]["codes"].append(code)
        else:
            theme["codes"].append(code)
    for theme in themes.values():  # a table without label columns: labels from the ids
        theme["label"] = theme["label"] or _humanise(theme["id"])
        for sub in theme["subthemes"]:
            sub["label"] = sub["label"] or _humanise(sub["id"])
    return {"name": path.stem, "themes": list(themes.values()), "__line__": 1}


def _humanise(identifier: str) -> str:
    return identifier.replace("_", " ").replace("-", " ").strip().capitalize()


def table_rows(codebook: Codebook) -> list[list[Any]]:
    """One row a code, in the columns of `TABLE_COLUMNS`."""
    subthemes = {(s.theme_id, s.id): s for s in codebook.subthemes}
    rows = []
    for theme in codebook.themes:
        for code in theme.all_codes:
            sub = subthemes.get((theme.id, code.subtheme_id))
            unless = code.unless.to_dict()
            rows.append(
                [
                    theme.id,
                    theme.label,
                    theme.description,
                    theme.color,
                    code.subtheme_id,
                    sub.label if sub else "",
                    sub.description if sub else "",
                    code.id,
                    code.label,
                    code.definition,
                    "\n".join(code.include),
                    "\n".join(code.exclude),
                    "\n".join(code.examples),
                    "\n".join(code.match.keywords),
                    "\n".join(code.match.phrases),
                    "\n".join(
                        json.dumps(_plain_pattern(p), ensure_ascii=False)
                        for p in code.match.patterns
                    ),
                    "\n".join(code.match.regex),
                    yaml.safe_dump(
                        unless, default_flow_style=True, allow_unicode=True, width=10000
                    ).strip()
                    if unless
                    else "",
                    code.min_matches,
                    code.negation,
                    code.speakers or "",
                ]
            )
    return rows


def write_codebook(codebook: Codebook, path: str | Path) -> Path:
    """Write a codebook as YAML, CSV, XLSX or REFI-QDA `.qdc`, chosen by the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(codebook.to_dict(), allow_unicode=True, sort_keys=False, width=100)
        atomic_write_text(path, text)
    elif suffix == ".csv":
        atomic_write_text(path, csv_text(TABLE_COLUMNS, table_rows(codebook)))
    elif suffix == ".xlsx":
        atomic_write_bytes(path, xlsx_bytes({"codebook": (TABLE_COLUMNS, table_rows(codebook))}))
    elif suffix == ".qdc":
        from .exchange import write_qdc

        write_qdc(codebook, path)
    else:
        raise QualcodeError(
            f"unknown codebook format '{suffix or '(no suffix)'}'",
            file=path,
            fix="write .yaml, .csv, .xlsx or .qdc",
        )
    return path
