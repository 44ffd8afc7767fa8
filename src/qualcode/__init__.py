"""qualcode: transparent, reproducible thematic analysis of focus-group transcripts."""

from importlib.metadata import PackageNotFoundError, version

from .errors import (
    ModelNotFoundError,
    OutputError,
    QualcodeError,
    QualcodeWarning,
    RosterError,
    TranscriptFormatError,
)
from .nlp import load_pipeline, pipeline_info
from .roster import Roster, RosterEntry, read_roster
from .segments import Segment, Segments, read_segments, segment, write_segments
from .transcripts import Transcript, Turn, read_transcript, read_transcripts, write_transcript

try:
    __version__ = version("qualcode")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "ModelNotFoundError",
    "OutputError",
    "QualcodeError",
    "QualcodeWarning",
    "Roster",
    "RosterEntry",
    "RosterError",
    "Segment",
    "Segments",
    "Transcript",
    "TranscriptFormatError",
    "Turn",
    "__version__",
    "load_pipeline",
    "pipeline_info",
    "read_roster",
    "read_segments",
    "read_transcript",
    "read_transcripts",
    "segment",
    "write_segments",
    "write_transcript",
]
