"""qualcode: transparent, reproducible thematic analysis of focus-group transcripts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qualcode")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from .anonymize import AnonymizationResult, AnonymizeSettings, LeakError, anonymize, read_key
from .codebook import Code, Codebook, Subtheme, Theme, load_codebook, write_codebook
from .coding import Coding, Codings, apply_codebook, read_codings, write_codings
from .config import RunConfig, load_config
from .errors import (
    CodebookError,
    ConfigurationError,
    ModelNotFoundError,
    OutputError,
    QualcodeError,
    QualcodeWarning,
    RosterError,
    TranscriptFormatError,
)
from .identifiers import Identifier, detect_identifiers
from .nlp import load_pipeline, pipeline_info
from .pipeline import RunResult, run, run_anonymize, run_code, run_segments
from .reports import write_report
from .roster import Roster, RosterEntry, read_roster
from .segments import Segment, Segments, read_segments, segment, write_segments
from .themes import ThemeReport, build_themes
from .transcripts import Transcript, Turn, read_transcript, read_transcripts, write_transcript

__all__ = [
    "AnonymizationResult",
    "AnonymizeSettings",
    "Code",
    "Codebook",
    "CodebookError",
    "Coding",
    "Codings",
    "ConfigurationError",
    "Identifier",
    "LeakError",
    "ModelNotFoundError",
    "OutputError",
    "QualcodeError",
    "QualcodeWarning",
    "Roster",
    "RosterEntry",
    "RosterError",
    "RunConfig",
    "RunResult",
    "Segment",
    "Segments",
    "Subtheme",
    "Theme",
    "ThemeReport",
    "Transcript",
    "TranscriptFormatError",
    "Turn",
    "__version__",
    "anonymize",
    "apply_codebook",
    "build_themes",
    "detect_identifiers",
    "load_codebook",
    "load_config",
    "load_pipeline",
    "pipeline_info",
    "read_codings",
    "read_key",
    "read_roster",
    "read_segments",
    "read_transcript",
    "read_transcripts",
    "run",
    "run_anonymize",
    "run_code",
    "run_segments",
    "segment",
    "write_codebook",
    "write_codings",
    "write_report",
    "write_segments",
    "write_transcript",
]
