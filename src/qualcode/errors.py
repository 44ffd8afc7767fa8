"""Errors and warnings that qualcode raises for bad input.

Every message names where the problem is (file and line) and how to fix it, and never quotes
a participant's name: labels and text from transcripts stay out of messages.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def _where(file: str | Path | None, line: int | None) -> str:
    if file is None:
        return ""
    name = Path(file).name or str(file)
    return f"{name}:{line}: " if line is not None else f"{name}: "


class QualcodeError(Exception):
    """Bad input that a user can fix; the CLI prints it as one `Error:` line."""

    def __init__(
        self,
        what: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.what = what
        self.file = file
        self.line = line
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = _where(self.file, self.line) + _one_line(self.what)
        return f"{text} — {_one_line(self.fix)}" if self.fix else text

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (a worker process's error reaches the main process as it was)."""
        return _rebuild, (type(self), self.what, self.file, self.line, self.fix, self.__dict__)


def _rebuild(
    kind: type[QualcodeError],
    what: str,
    file: str | Path | None,
    line: int | None,
    fix: str | None,
    state: dict[str, Any],
) -> QualcodeError:
    error = kind.__new__(kind)
    error.__dict__.update(state)
    QualcodeError.__init__(error, what, file=file, line=line, fix=fix)
    return error


def _one_line(text: str) -> str:
    """A message on one line: line breaks (a parser's message often ends in one) become
    spaces."""
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


class TranscriptFormatError(QualcodeError):
    """A transcript file cannot be read as a transcript."""


class RosterError(QualcodeError):
    """The participant roster is malformed."""


class CodebookError(QualcodeError):
    """A codebook cannot be read or is invalid."""


class WorkerError(QualcodeError):
    """A worker process of a parallel stage stopped before it finished."""


class ModelNotFoundError(QualcodeError):
    """No installed spaCy pipeline matches the requested model."""


class ConfigurationError(QualcodeError):
    """The settings of a run are incomplete or contradictory."""


class OutputError(QualcodeError):
    """Output cannot be written where it was asked for."""


class QualcodeWarning(UserWarning):
    """Something was odd in the input but qualcode could go on."""


def warn(
    what: str, *, file: str | Path | None = None, line: int | None = None, fix: str | None = None
) -> None:
    """Emit a `QualcodeWarning` in the same `file:line: what — fix` layout as errors."""
    text = _where(file, line) + what
    warnings.warn(f"{text} — {fix}" if fix else text, QualcodeWarning, stacklevel=3)
