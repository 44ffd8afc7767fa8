"""`qualcode.yaml`: the settings of `qualcode run`, mirroring its options."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigurationError

CONFIG_FILE = "qualcode.yaml"
FORMATS = ("md", "json", "html", "docx", "xlsx", "qdpx")
MERGE_HUMAN = ("no", "add", "override")
ALL_FORMATS = ("md", "html", "docx", "xlsx", "json", "qdpx")


@dataclass(frozen=True)
class RunConfig:
    """Everything `qualcode run` needs; paths are resolved against the config's folder."""

    transcripts: tuple[Path, ...] = ()
    codebook: Path | None = None
    roster: Path | None = None
    out: Path = Path("out")
    private: Path | None = None
    unit: str | None = None
    anonymize: bool = True
    anonymization: dict[str, Any] = field(default_factory=dict)  # AnonymizeSettings keys
    formats: tuple[str, ...] = FORMATS
    model: str | None = None
    human_codings: tuple[Path, ...] = ()  # codings.csv files or coding sheets, one a coder
    merge_human: str = "no"  # no | add | override: human codings in the themes too

    @property
    def private_folder(self) -> Path:
        """`--private`, by default `private/` beside the output folder."""
        return self.private or self.out.parent / "private"

    def with_options(self, **options: Any) -> RunConfig:
        """A copy with the options that were given (None means not given)."""
        given = {key: value for key, value in options.items() if value is not None}
        if "transcripts" in given:
            given["transcripts"] = tuple(Path(p) for p in given["transcripts"])
            if not given["transcripts"]:
                del given["transcripts"]
        if "formats" in given:
            given["formats"] = parse_formats(given["formats"])
        return replace(self, **given)


def parse_formats(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    formats = tuple(
        dict.fromkeys(item.strip().lower().lstrip(".") for item in items if item.strip())
    )
    for item in formats:
        if item not in ALL_FORMATS:
            raise ConfigurationError(
                f"unknown format '{item}'", fix=f"use some of: {', '.join(ALL_FORMATS)}"
            )
    return formats


def load_config(path: str | Path = CONFIG_FILE) -> RunConfig:
    """Read `qualcode.yaml`; relative paths are taken from the file's folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(
            "no qualcode.yaml here",
            file=path,
            fix="give transcripts and --codebook, or write a qualcode.yaml",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ConfigurationError(
            "not valid YAML",
            file=path,
            line=mark.line + 1 if mark else None,
            fix="check the indentation and quoting",
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            "the settings are not a mapping", file=path, line=1, fix="write 'key: value' lines"
        )
    keys = [f.name for f in fields(RunConfig) if f.name != "anonymization"]
    for key in data:
        if key not in keys:
            guess = difflib.get_close_matches(str(key), keys, n=1)
            raise ConfigurationError(
                f"unknown setting '{key}'",
                file=path,
                fix=f"did you mean '{guess[0]}'?" if guess else f"use: {', '.join(keys)}",
            )
    base = path.parent

    def resolve(value: Any) -> Path | None:
        return None if value in (None, "") else base / str(value)

    anonymize = data.get("anonymize", True)  # true, false, or a mapping of settings
    if not isinstance(anonymize, (bool, dict)):
        raise ConfigurationError(
            "'anonymize' must be true, false or a mapping of settings",
            file=path,
            fix="write e.g. 'anonymize: true'",
        )
    transcripts = data.get("transcripts") or []
    if isinstance(transcripts, str):
        transcripts = [transcripts]
    human = data.get("human_codings") or []
    if isinstance(human, str):
        human = [human]
    merge_human = str(data.get("merge_human", "no")).lower()
    if merge_human in ("false", "none"):
        merge_human = "no"
    if merge_human not in MERGE_HUMAN:
        raise ConfigurationError(
            f"unknown merge_human '{merge_human}'",
            file=path,
            fix=f"use one of: {', '.join(MERGE_HUMAN)}",
        )
    return RunConfig(
        transcripts=tuple(base / str(t) for t in transcripts),
        codebook=resolve(data.get("codebook")),
        roster=resolve(data.get("roster")),
        out=resolve(data.get("out")) or base / "out",
        private=resolve(data.get("private")),
        unit=data.get("unit"),
        anonymize=bool(anonymize),
        anonymization=dict(anonymize) if isinstance(anonymize, dict) else {},
        formats=parse_formats(data.get("formats") or list(FORMATS)),
        model=data.get("model"),
        human_codings=tuple(base / str(h) for h in human),
        merge_human=merge_human,
    )
