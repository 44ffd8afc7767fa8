"""qualcode: transparent, reproducible thematic analysis of focus-group transcripts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("qualcode")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from .agreement import Agreement, ManyCoders, agreement, agreement_among, consensus
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
    WorkerError,
)
from .exchange import (
    ImportNote,
    ImportResult,
    export_qdpx,
    import_qdpx,
    read_qdc,
    read_qdpx,
    write_qdc,
)
from .identifiers import Identifier, detect_identifiers
from .learning import (
    CodingModel,
    LearnSettings,
    ModelCard,
    learn,
    load_model,
    next_to_code,
    save_model,
    suggest,
)
from .nlp import load_pipeline, pipeline_info
from .pipeline import RunResult, run, run_anonymize, run_code, run_segments
from .reports import write_report
from .roster import Roster, RosterEntry, read_roster
from .segments import Segment, Segments, read_segments, segment, write_segments
from .sheets import load_codings, merge_codings, read_coding_sheet, write_coding_sheet
from .themes import Saturation, ThemeReport, build_themes, co_occurrence, saturation
from .transcripts import Transcript, Turn, read_transcript, read_transcripts, write_transcript

__all__ = [
    "Agreement",
    "AnonymizationResult",
    "AnonymizeSettings",
    "Code",
    "Codebook",
    "CodebookError",
    "Coding",
    "CodingModel",
    "Codings",
    "ConfigurationError",
    "Identifier",
    "ImportNote",
    "ImportResult",
    "LeakError",
    "LearnSettings",
    "ManyCoders",
    "ModelCard",
    "ModelNotFoundError",
    "OutputError",
    "QualcodeError",
    "QualcodeWarning",
    "Roster",
    "RosterEntry",
    "RosterError",
    "RunConfig",
    "RunResult",
    "Saturation",
    "Segment",
    "Segments",
    "Subtheme",
    "Theme",
    "ThemeReport",
    "Transcript",
    "TranscriptFormatError",
    "Turn",
    "WorkerError",
    "__version__",
    "agreement",
    "agreement_among",
    "anonymize",
    "apply_codebook",
    "build_themes",
    "co_occurrence",
    "consensus",
    "detect_identifiers",
    "export_qdpx",
    "import_qdpx",
    "learn",
    "load_codebook",
    "load_codings",
    "load_config",
    "load_model",
    "load_pipeline",
    "merge_codings",
    "next_to_code",
    "pipeline_info",
    "read_coding_sheet",
    "read_codings",
    "read_key",
    "read_qdc",
    "read_qdpx",
    "read_roster",
    "read_segments",
    "read_transcript",
    "read_transcripts",
    "run",
    "run_anonymize",
    "run_code",
    "run_segments",
    "saturation",
    "save_model",
    "segment",
    "suggest",
    "write_codebook",
    "write_coding_sheet",
    "write_codings",
    "write_qdc",
    "write_report",
    "write_segments",
    "write_transcript",
]
