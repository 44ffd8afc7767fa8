"""REFI-QDA exchange (QDA-XML 1.0) with NVivo, ATLAS.ti, MAXQDA and QualCoder.

Codebooks go out and in as `.qdc`, whole projects as `.qdpx` (a ZIP with `project.qde` and
`sources/<GUID>.txt`). What qualcode writes is exact: selections slice the segment text,
GUIDs are derived from ids, and the codebook's criteria and rules ride in each `Description`
in a plain layout that a person can read and qualcode can read back. What other tools write
is read as it really is (UTF-16 positions, a BOM, CRLF, `Sources/`, a `.qde` named after the
project): every selection is checked against its text, and whatever was repaired, folded or
dropped is listed, never dropped silently. XML is parsed without DTDs, entities or network
access; ZIP members may not escape the archive or unpack beyond fixed limits.
"""

from __future__ import annotations

import bisect
import io
import itertools
import json
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from lxml import etree

from .codebook import ID_PATTERN, Code, Codebook, codebook_from_dict, load_codebook
from .coding import RULE_CODER, Coding, Codings, Evidence, parse_evidence, read_codings
from .errors import QualcodeError, warn
from .files import atomic_write_bytes, atomic_write_text, csv_text
from .labels import find_labels
from .roster import KNOWN_COLUMNS, RosterEntry, role_for_label
from .segments import Segment, Segments, read_segments
from .transcripts import Transcript, Turn, render

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
# GUIDs are uuid5 names in this namespace: the same ids give the same GUIDs in every export
GUID_NAMESPACE = uuid.UUID("6f0f5e3c-1d2b-5c4e-9a7b-2c1e0d9f8a63")
PALETTE = (  # one colour a theme, in theme order, unless the theme sets `color`
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#B07AA1",
    "#76B7B2",
    "#EDC948",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
)
MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 256 * 2**20
MAX_TOTAL_BYTES = 1024 * 2**20
MAX_RATIO = 200  # uncompressed / compressed for members over 1 MiB; text stays far below
UNGROUPED = "Ungrouped codes"
FOLD = " › "  # joins the labels of levels below the code level

_RGB = re.compile(r"#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})")
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def guid(kind: str, key: str) -> str:
    """The stable GUID of a theme, code, source, selection, user, case or variable."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}"))


# --- the plain Description layout -----------------------------------------------------
# `Field: value` lines, list fields with `- item` lines, continuation lines indented by two
# spaces, a blank line between fields. Anything else in a line's first column means the
# text is not in this layout and is read as free text.

LIST_FIELDS = frozenset({"Include", "Exclude", "Examples", "Match", "Unless", "Roles"})
CODEBOOK_FIELDS = frozenset({"Version", "Language", "Unit", "Speakers", "Description"})
GROUP_FIELDS = frozenset({"Description", "Colour", "ID"})
CODE_FIELDS = frozenset(
    {
        "Definition",
        "Include",
        "Exclude",
        "Examples",
        "Match",
        "Unless",
        "Min matches",
        "Negation",
        "Speakers",
        "ID",
    }
)
SOURCE_FIELDS = frozenset({"Group", "Roles"})
_FIELD = re.compile(r"^([A-Z][A-Za-z ]*?):(?: (.*))?$")
_RULE_NAMES = {"keyword": "keywords", "phrase": "phrases", "pattern": "patterns", "regex": "regex"}


def _lines(head: str, value: str) -> list[str]:
    first, *rest = value.split("\n")
    return [head + first] + ["  " + line for line in rest]


def layout(fields: Sequence[tuple[str, str | Sequence[str]]]) -> str:
    """Render fields in the plain Description layout (empty fields are left out)."""
    blocks = []
    for name, value in fields:
        if isinstance(value, str):
            if value:
                blocks.append("\n".join(_lines(f"{name}: ", value)))
        elif value:
            items = [line for item in value for line in _lines("- ", item)]
            blocks.append("\n".join([f"{name}:", *items]))
    return "\n\n".join(blocks)


def parse_layout(text: str, known: frozenset[str]) -> dict[str, Any] | None:
    """The fields of a Description in the plain layout, or None if it is free text."""
    fields: dict[str, list[Any]] = {}
    current: list[str] | None = None
    list_name: str | None = None
    blanks = 0
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            blanks += current is not None
            continue
        if line.startswith("  "):
            if current is None:
                return None
            current.extend([""] * blanks + [line[2:]])
            blanks = 0
            continue
        blanks = 0
        if line.startswith("- ") or line == "-":
            if list_name is None:
                return None
            current = [line[2:]]
            fields[list_name].append(current)
            continue
        found = _FIELD.match(line)
        if not found or found[1] not in known or found[1] in fields:
            return None
        name = found[1]
        if name in LIST_FIELDS:
            if found[2]:
                return None
            fields[name], list_name, current = [], name, None
        else:
            current = [found[2] or ""]
            fields[name], list_name = current, None
    if not fields:
        return None
    return {
        name: ["\n".join(item) for item in value] if name in LIST_FIELDS else "\n".join(value)
        for name, value in fields.items()
    }


def _rule_items(rules: Any) -> list[str]:
    items = []
    for kind, _index, entry in rules.entries():
        singular = {"keywords": "keyword", "phrases": "phrase", "patterns": "pattern"}.get(
            kind, "regex"
        )
        if kind == "patterns":
            entry = json.dumps([dict(t) for t in entry], ensure_ascii=False)
        items.append(f"{singular}: {entry}")
    return items


def code_description(code: Code) -> str:
    """A code's definition, criteria, examples and rules in the plain layout."""
    return layout(
        [
            ("Definition", code.definition),
            ("Include", code.include),
            ("Exclude", code.exclude),
            ("Examples", code.examples),
            ("Match", _rule_items(code.match)),
            ("Unless", _rule_items(code.unless)),
            ("Min matches", str(code.min_matches) if code.min_matches != 1 else ""),
            ("Negation", code.negation if code.negation != "keep" else ""),
            ("Speakers", code.speakers or ""),
            ("ID", code.id),
        ]
    )


def _rules_from_items(items: list[str], path: Path, code_id: str) -> dict[str, list[Any]]:
    rules: dict[str, list[Any]] = {}
    for item in items:
        kind, sep, entry = item.partition(": ")
        if not sep or kind not in _RULE_NAMES:
            raise QualcodeError(
                f"{code_id}: unknown rule '{item[:40]}'",
                file=path,
                fix=f"write rules as 'keyword: …', one of: {', '.join(_RULE_NAMES)}",
            )
        if kind == "pattern":
            try:
                entry = json.loads(entry)
            except json.JSONDecodeError:
                raise QualcodeError(
                    f"{code_id}: a pattern rule is not JSON",
                    file=path,
                    fix='write it like pattern: [{"LEMMA": "help"}]',
                ) from None
        rules.setdefault(_RULE_NAMES[kind], []).append(entry)
    return rules


# --- safe reading ---------------------------------------------------------------------


def parse_xml(data: bytes, where: str | Path) -> Any:
    """Parse XML without DTDs, entity expansion or network access; one error if it is bad."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        message = str(error.msg or error).split(",")[0][:80]
        raise QualcodeError(
            f"not well-formed XML ({message})",
            file=where,
            line=error.lineno or None,
            fix="export the file again from the QDA tool",
        ) from None
    if root is None:
        raise QualcodeError("the XML file is empty", file=where, fix="export it again")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise QualcodeError(
            "the XML declares a DTD (<!DOCTYPE>), which REFI-QDA files never need",
            file=where,
            line=1,
            fix="qualcode refuses DTDs and entities; export the file again from the QDA tool",
        )
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise QualcodeError(
            "the XML uses entity references", file=where, fix="export the file again"
        )
    return root


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _kids(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _kid(element: Any, name: str) -> Any | None:
    found = _kids(element, name)
    return found[0] if found else None


def _text_of(element: Any, name: str) -> str:
    child = _kid(element, name)
    return (child.text or "") if child is not None else ""


def _safe_member(name: str, archive: Path) -> str:
    """A member name that stays inside the archive folder, `/`-separated."""
    clean = name.replace("\\", "/")
    parts = PurePosixPath(clean).parts
    if (
        not clean
        or clean.startswith("/")
        or re.match(r"^[A-Za-z]:", clean)
        or ".." in parts
        or "\x00" in clean
    ):
        raise QualcodeError(
            f"a member's path escapes the project folder ('{name[:60]}')",
            file=archive,
            fix="this .qdpx is unsafe; export the project again from the QDA tool",
        )
    return clean


class _Archive:
    """A `.qdpx` ZIP opened with limits: member paths, count and sizes (declared and real)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise QualcodeError("the project file does not exist", file=path, fix="check the path")
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError):
            raise QualcodeError(
                "not a .qdpx project (not a ZIP archive)",
                file=path,
                fix="export the project from the QDA tool as REFI-QDA project (.qdpx)",
            ) from None
        if len(infos) > MAX_MEMBERS:
            raise QualcodeError(
                f"the archive holds {len(infos)} members (at most {MAX_MEMBERS})",
                file=path,
                fix="this does not look like a QDA project; export it again",
            )
        self.members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = _safe_member(info.filename, path)
            if info.is_dir():
                continue
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if (
                info.file_size > MAX_MEMBER_BYTES
                or total > MAX_TOTAL_BYTES
                or (info.file_size > 2**20 and ratio > MAX_RATIO)
            ):
                raise QualcodeError(
                    f"a member unpacks to {info.file_size:,} bytes (compressed "
                    f"{info.compress_size:,}): too large or a ZIP bomb",
                    file=path,
                    fix=f"members may hold at most {MAX_MEMBER_BYTES // 2**20} MiB and "
                    f"{MAX_RATIO}× their compressed size",
                )
            self.members[name] = info
        self._folded = {name.casefold(): name for name in self.members}

    def find(self, name: str) -> str | None:
        """The member of that name, compared without case."""
        return self._folded.get(name.casefold())

    def read(self, name: str) -> bytes:
        """A member's bytes, never more than it declares."""
        info = self.members[name]
        chunks, size = [], 0
        try:
            with self.zip.open(info) as handle:
                while chunk := handle.read(2**20):
                    size += len(chunk)
                    if size > info.file_size:
                        raise QualcodeError(
                            "a member unpacks to more than its declared size (a ZIP bomb?)",
                            file=self.path,
                            fix="this .qdpx is unsafe; export the project again",
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
            raise QualcodeError(
                "a member of the archive is damaged or unpacks to more than it declares "
                f"({type(error).__name__}: {str(error)[:60]})",
                file=self.path,
                fix="export the project again from the QDA tool",
            ) from None
        except NotImplementedError:
            raise QualcodeError(
                "a member is compressed or encrypted in a way qualcode cannot read",
                file=self.path,
                fix="export the project again without encryption",
            ) from None
        return b"".join(chunks)


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_source(data: bytes, where: str) -> tuple[str, str]:
    """A source's text as stored and what its bytes began with (a BOM's encoding or '')."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "strict"), encoding
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        raise QualcodeError(
            f"the text of source '{where}' is not UTF-8",
            fix="REFI-QDA sources are UTF-8; export the project again",
        ) from None


# --- codebooks --------------------------------------------------------------------------


def _xml_safe(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold."""
    return _BAD_XML_CHARS.sub("\ufffd", text)


def _add(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    namespace = etree.QName(parent).namespace
    element = etree.SubElement(
        parent, f"{{{namespace}}}{tag}", {k: _xml_safe(v) for k, v in attributes.items()}
    )
    if text:
        element.text = _xml_safe(text)
    return element


def _code_node(
    parent: Any, item_id: str, label: str, codable: bool, color: str, description: str
) -> Any:
    node = _add(
        parent,
        "Code",
        guid=guid("code", item_id),
        name=label,
        isCodable="true" if codable else "false",
        color=color,
    )
    if description:
        _add(node, "Description", description)
    return node


def _add_codes(parent: Any, codebook: Codebook) -> None:
    """`Codes`: themes and subthemes as non-codable parents, codes as codable children."""
    codes = _add(parent, "Codes")
    for index, theme in enumerate(codebook.themes):
        color = theme.color or PALETTE[index % len(PALETTE)]
        described = layout(
            [
                ("Description", theme.description),
                ("Colour", theme.color),
                ("ID", theme.id),
            ]
        )
        node = _code_node(codes, theme.id, theme.label, False, color, described)
        for sub in theme.subthemes:
            described = layout([("Description", sub.description), ("ID", sub.id)])
            sub_node = _code_node(node, sub.id, sub.label, False, color, described)
            for code in sub.codes:
                _code_node(sub_node, code.id, code.label, True, color, code_description(code))
        for code in theme.codes:
            _code_node(node, code.id, code.label, True, color, code_description(code))


def _codebook_set_description(codebook: Codebook) -> str:
    return layout(
        [
            ("Version", codebook.version),
            ("Language", codebook.language),
            ("Unit", codebook.unit),
            ("Speakers", codebook.speakers),
            ("Description", codebook.description),
        ]
    )


CODEBOOK_SET = guid("set", "qualcode codebook")


def qdc_bytes(codebook: Codebook) -> bytes:
    """The codebook as a QDA-XML `CodeBook` document (UTF-8)."""
    from . import __version__

    root = etree.Element(
        f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"qualcode {__version__}"
    )
    _add_codes(root, codebook)
    sets = _add(root, "Sets")
    book_set = _add(sets, "Set", guid=CODEBOOK_SET, name=codebook.name or "codebook")
    _add(book_set, "Description", _codebook_set_description(codebook))
    for code in codebook.codes:
        _add(book_set, "MemberCode", guid=guid("code", code.id))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_qdc(codebook: Codebook, path: str | Path) -> Path:
    """Write the codebook as REFI-QDA `.qdc` (namespace `urn:QDA-XML:codebook:1.0`)."""
    path = Path(path)
    atomic_write_bytes(path, qdc_bytes(codebook))
    return path


@dataclass(frozen=True)
class ImportNote:
    """One thing an import repaired, folded or dropped (`kind`), said in plain words."""

    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


@dataclass
class _Node:
    """A `Code` element of a QDA-XML codebook."""

    guid: str
    name: str
    codable: bool
    color: str
    description: str
    children: list[_Node]
    notes: list[str] = field(default_factory=list)


def _nodes(codes: Any) -> list[_Node]:
    found = []
    for element in _kids(codes, "Code"):
        found.append(
            _Node(
                guid=_guid_of(element),
                name=(element.get("name") or "").strip(),
                codable=(element.get("isCodable") or "true").strip().lower() in ("true", "1"),
                color=(element.get("color") or "").strip(),
                description=_text_of(element, "Description").strip(),
                children=_nodes(element),
                notes=[_norm_guid(ref.get("targetGUID")) for ref in _kids(element, "NoteRef")],
            )
        )
    return found


def _norm_guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def _guid_of(element: Any) -> str:
    return _norm_guid(element.get("guid"))


def slug(text: str, fallback: str = "item") -> str:
    """An id from a label: lowercase ASCII letters, digits and `_`."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:60].rstrip("_") or fallback


class _Ids:
    """Hands out ids that are unique across the codebook."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, wanted: str | None, label: str, fallback: str) -> str:
        if wanted and ID_PATTERN.match(wanted) and wanted not in self.taken:
            self.taken.add(wanted)
            return wanted
        base = slug(label, fallback)
        candidate, n = base, 2
        while candidate in self.taken:
            candidate, n = f"{base}_{n}", n + 1
        self.taken.add(candidate)
        return candidate


@dataclass
class _CodebookReading:
    """A codebook read from QDA-XML: the data for `codebook_from_dict`, which GUID became which
    code id, and what was folded or dropped on the way."""

    data: dict[str, Any]
    codes: dict[str, str]  # code GUID → code id
    notes: list[ImportNote]
    memos: dict[str, list[str]]  # code id → GUIDs of its notes


def _read_codebook_tree(
    nodes: list[_Node],
    meta: dict[str, str],
    path: Path,
    coded: frozenset[str] | set[str] = frozenset(),
) -> _CodebookReading:
    """Fold a code tree of any depth into theme → subtheme → code."""
    ids = _Ids()
    notes: list[ImportNote] = []
    mapping: dict[str, str] = {}
    memos: dict[str, list[str]] = {}
    themes: list[dict[str, Any]] = []
    ungrouped: list[_Node] = []
    folded: list[str] = []

    def code_from(node: _Node, label: str) -> dict[str, Any]:
        fields = parse_layout(node.description, CODE_FIELDS) if node.description else None
        if fields is None or "ID" not in fields:
            fields = None
        code_id = ids.take(fields.get("ID") if fields else None, label, "code")
        mapping[node.guid] = code_id
        if node.notes:
            memos[code_id] = node.notes
        if fields is None:
            return {"id": code_id, "label": label or code_id, "definition": node.description}
        data: dict[str, Any] = {"id": code_id, "label": label or code_id}
        data["definition"] = fields.get("Definition", "")
        for key in ("Include", "Exclude", "Examples"):
            if fields.get(key):
                data[key.lower()] = fields[key]
        for key in ("Match", "Unless"):
            if fields.get(key):
                data[key.lower()] = _rules_from_items(fields[key], path, code_id)
        if fields.get("Min matches"):
            value = fields["Min matches"]
            data["min_matches"] = int(value) if value.isdigit() else value
        for key, name in (("Negation", "negation"), ("Speakers", "speakers")):
            if fields.get(key):
                data[name] = fields[key]
        return data

    def general(node: _Node, level: str) -> dict[str, Any]:
        label = f"{node.name} (general)"
        notes.append(
            ImportNote(
                "folded",
                f"codings on the {level} '{node.name}' kept as the code '{label}' "
                f"(qualcode codes only the lowest level)",
            )
        )
        return code_from(_Node(node.guid, node.name, True, "", "", []), label)

    def group(node: _Node, index: int | None) -> dict[str, Any]:
        fields = parse_layout(node.description, GROUP_FIELDS) if node.description else None
        if fields is None or "ID" not in fields:
            fields = None
        item_id = ids.take(fields.get("ID") if fields else None, node.name, "theme")
        data: dict[str, Any] = {
            "id": item_id,
            "label": node.name or item_id,
            "description": fields.get("Description", "") if fields else node.description,
            "codes": [],
        }
        if index is not None and node.color:
            default = PALETTE[index % len(PALETTE)]
            explicit = fields is None or "Colour" in fields or node.color.upper() != default
            if explicit and _RGB.fullmatch(node.color):
                data["color"] = node.color
            elif explicit:
                notes.append(
                    ImportNote("dropped", f"colour '{node.color[:20]}' of '{node.name}' (not RGB)")
                )
        return data

    def below(node: _Node, prefix: list[str], depth: int) -> list[dict[str, Any]]:
        label = FOLD.join([*prefix, node.name])
        found = []
        if node.codable or not node.children:
            if depth > 3:
                folded.append(label)
            found.append(code_from(node, label))
        for child in node.children:
            found += below(child, [*prefix, node.name], depth + 1)
        return found

    for index, top in enumerate(nodes):
        if not top.children:
            ungrouped.append(top)
            continue
        theme = group(top, index)
        theme["subthemes"] = []
        if top.codable and top.guid in coded:
            theme["codes"].append(general(top, "theme"))
        for child in top.children:
            if not child.children:
                theme["codes"].append(code_from(child, child.name))
                continue
            sub = group(child, None)
            if child.codable and child.guid in coded:
                sub["codes"].append(general(child, "subtheme"))
            for grandchild in child.children:
                sub["codes"] += below(grandchild, [], 3)
            theme["subthemes"].append(sub)
        themes.append(theme)
    if ungrouped:
        theme_id = ids.take(None, UNGROUPED, "codes")
        themes.append(
            {
                "id": theme_id,
                "label": UNGROUPED,
                "codes": [code_from(node, node.name) for node in ungrouped],
            }
        )
        notes.append(
            ImportNote(
                "folded",
                f"top-level codes without children, gathered under the theme '{UNGROUPED}': "
                f"{len(ungrouped)}",
            )
        )
    if folded:
        shown = "; ".join(f"'{label}'" for label in folded[:5])
        notes.append(
            ImportNote(
                "folded",
                f"codes below the third level, placed under their subtheme with the path as "
                f"label: {len(folded)} ({shown}{' …' if len(folded) > 5 else ''})",
            )
        )
    recoloured = sum(_recoloured(top) for top in nodes)
    if recoloured:
        notes.append(
            ImportNote(
                "dropped",
                "own colours of subthemes and codes (qualcode keeps one colour a theme): "
                f"{recoloured}",
            )
        )
    data = {
        "name": meta.get("name") or path.stem,
        "version": meta.get("Version", ""),
        "language": meta.get("Language", ""),
        "unit": meta.get("Unit", ""),
        "speakers": meta.get("Speakers", ""),
        "description": meta.get("Description", ""),
        "themes": themes,
    }
    return _CodebookReading(data, mapping, notes, memos)


def _recoloured(top: _Node) -> int:
    """Subthemes and codes whose own colour differs from their theme's (qualcode keeps one
    colour a theme; a top-level code without children joins a theme without colour)."""
    colour = top.color.upper() if top.children else ""

    def walk(node: _Node) -> int:
        own = bool(node.color) and node.color.upper() != colour
        return own + sum(walk(child) for child in node.children)

    return walk(top) if not top.children else sum(walk(child) for child in top.children)


def _codebook_meta(sets: list[Any], member_tag: str, notes: list[ImportNote]) -> dict[str, str]:
    """The codebook's name and settings from qualcode's own set; other sets are noted."""
    meta: dict[str, str] = {}
    for element in sets:
        if _guid_of(element) == CODEBOOK_SET:
            meta["name"] = element.get("name") or ""
            description = _text_of(element, "Description")
            fields = parse_layout(description, CODEBOOK_FIELDS) if description else None
            meta.update(fields or ({"Description": description.strip()} if description else {}))
        else:
            members = len(_kids(element, member_tag)) + len(_kids(element, "MemberSource"))
            notes.append(
                ImportNote(
                    "dropped",
                    f"the set '{element.get('name') or ''}' ({members} members): qualcode "
                    "has no sets",
                )
            )
    return meta


def read_qdc_notes(path: str | Path) -> tuple[Codebook, list[ImportNote]]:
    """Read a `.qdc` codebook and what was folded or dropped to fit qualcode's shape."""
    import hashlib

    path = Path(path)
    if not path.is_file():
        raise QualcodeError("the codebook file does not exist", file=path, fix="check the path")
    data = path.read_bytes()
    if len(data) > MAX_MEMBER_BYTES:
        raise QualcodeError("the codebook file is too large", file=path, fix="check the file")
    root = parse_xml(data, path)
    if _local(root) != "CodeBook":
        raise QualcodeError(
            f"not a REFI-QDA codebook (the root element is '{_local(root)}')",
            file=path,
            line=root.sourceline,
            fix="export the codebook as REFI-QDA codebook (.qdc)",
        )
    codes = _kid(root, "Codes")
    if codes is None or not _kids(codes, "Code"):
        raise QualcodeError("the codebook has no codes", file=path, fix="export it again")
    notes: list[ImportNote] = []
    sets = _kids(_kid(root, "Sets"), "Set") if _kid(root, "Sets") is not None else []
    meta = _codebook_meta(sets, "MemberCode", notes)
    reading = _read_codebook_tree(_nodes(codes), meta, path)
    codebook = codebook_from_dict(reading.data, path, hashlib.sha256(data).hexdigest())
    return codebook, [*notes, *reading.notes]


def read_qdc(path: str | Path) -> Codebook:
    """Read a REFI-QDA `.qdc` codebook of any depth (also what `load_codebook` does for
    `.qdc`); what had to be folded or dropped is reported as one warning."""
    codebook, notes = read_qdc_notes(path)
    if notes:
        warn(
            "; ".join(note.what for note in notes),
            file=path,
            fix="check the codebook (qualcode codebook check)",
        )
    return codebook


# --- projects: export ---------------------------------------------------------------------


def _evidence_line(coding: Coding, label: str) -> str:
    evidence = " | ".join(
        str(Evidence(e.kind, e.rule, e.text.replace("\n", " "), e.start, e.end))
        for e in coding.evidence
    )
    label, coder = " ".join(label.split()), " ".join(coding.coder.split())
    head = f"{label} [{coding.code_id}] by {coder} ({coding.source}), score {coding.score:g}"
    return f"{head}: {evidence}" if evidence else head


_EVIDENCE_LINE = re.compile(
    r"^(?P<label>.*?) \[(?P<code>[a-z0-9_-]+)\] by (?P<coder>.*?) \((?P<source>rule|human|model)\)"
    r", score (?P<score>[0-9.eE+-]+)(?:: (?P<evidence>.*))?$"
)


def _variable_type(values: list[str]) -> str:
    present = [v for v in values if v != ""]
    if present and all(re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", v) for v in present):
        return "Integer"
    return "Text"


def _with_coder(coding: Coding) -> Coding:
    """A coding with a coder's name (older `codings.csv` files have none)."""
    if coding.coder:
        return coding
    return replace(coding, coder=RULE_CODER if coding.source == "rule" else coding.source)


def project_bytes(
    codebook: Codebook,
    texts: dict[str, str],
    segments: Segments,
    codings: Iterable[Coding],
    attributes: dict[tuple[str, str], dict[str, str]] | None = None,
    name: str = "",
) -> bytes:
    """A `.qdpx` archive: `project.qde` and `sources/<GUID>.txt` for each transcript.

    Selections are the coded segments (code points from 0, end exclusive); each is checked to
    slice exactly its segment's text.
    """
    from . import __version__

    attributes = attributes or {}
    items = list(dict.fromkeys(_with_coder(c) for c in codings))
    codes = {code.id: code for code in codebook.codes}
    for coding in items:
        if coding.code_id not in codes:
            raise QualcodeError(
                f"a coding uses the code '{coding.code_id}', which is not in the codebook",
                fix="export with the codebook the codings were made with (--codebook)",
            )
    by_segment: dict[str, list[Coding]] = {}
    for coding in items:
        by_segment.setdefault(coding.segment_id, []).append(coding)
    coded = [s for s in segments if s.id in by_segment]
    missing = sorted(set(by_segment) - {s.id for s in segments})
    if missing:
        raise QualcodeError(
            f"{len(missing)} codings refer to segments that are not in segments.csv",
            fix="export the output folder of one run",
        )
    for segment in coded:
        text = texts.get(segment.transcript_id)
        if text is None or text[segment.start : segment.end] != segment.text:
            raise QualcodeError(
                f"segment {segment.id} does not match transcripts/{segment.transcript_id}.txt",
                fix="the output folder is inconsistent; run qualcode again",
            )
    coders = list(dict.fromkeys([RULE_CODER, *(c.coder for c in items)]))
    user = {name: guid("user", name) for name in coders}

    root = etree.Element(
        f"{{{PROJECT_NS}}}Project",
        nsmap={None: PROJECT_NS},
        name=_xml_safe(name or codebook.name or "qualcode project"),
        origin=f"qualcode {__version__}",
        creatingUserGUID=user[RULE_CODER],
    )
    users = _add(root, "Users")
    for coder in coders:
        _add(users, "User", guid=user[coder], name=coder)
    _add_codes(_add(root, "CodeBook"), codebook)

    # cases: one a participant, split by transcript when the attributes differ
    names = list(dict.fromkeys(n for values in attributes.values() for n in values))
    speakers: dict[str, list[str]] = {}
    for segment in segments:
        if segment.role == "participant":
            found = speakers.setdefault(segment.speaker, [])
            if segment.transcript_id not in found:
                found.append(segment.transcript_id)
    if names:
        variables = _add(root, "Variables")
        for variable in names:
            values = [v.get(variable, "") for v in attributes.values()]
            _add(
                variables,
                "Variable",
                guid=guid("variable", variable),
                name=variable,
                typeOfVariable=_variable_type(values),
            )
    cases: list[tuple[str, str, list[str], dict[str, str]]] = []  # guid, name, tids, values
    for speaker, tids in speakers.items():
        values = [attributes.get((tid, speaker), {}) for tid in tids]
        if all(v == values[0] for v in values):
            cases.append((guid("case", speaker), speaker, tids, values[0]))
        else:
            cases += [
                (guid("case", f"{tid}/{speaker}"), speaker, [tid], v)
                for tid, v in zip(tids, values, strict=True)
            ]
    if cases:
        cases_element = _add(root, "Cases")
        types = {n: _variable_type([v.get(n, "") for v in attributes.values()]) for n in names}
        for case_guid, speaker, tids, values in cases:
            case = _add(cases_element, "Case", guid=case_guid, name=speaker)
            for variable in names:
                if values.get(variable, "") == "":
                    continue
                value = _add(case, "VariableValue")
                _add(value, "VariableRef", targetGUID=guid("variable", variable))
                tag = "IntegerValue" if types[variable] == "Integer" else "TextValue"
                _add(value, tag, values[variable])
            for tid in tids:
                _add(case, "SourceRef", targetGUID=guid("source", tid))
            for segment in coded:
                if segment.speaker == speaker and segment.transcript_id in tids:
                    _add(case, "SelectionRef", targetGUID=guid("selection", segment.id))

    sources = _add(root, "Sources")
    members: list[tuple[str, bytes]] = []
    roles: dict[str, dict[str, str]] = {}
    groups: dict[str, str] = {}
    for segment in segments:
        roles.setdefault(segment.transcript_id, {}).setdefault(segment.speaker, segment.role)
        groups.setdefault(segment.transcript_id, segment.group)
    for tid, text in texts.items():
        source_guid = guid("source", tid)
        members.append((f"sources/{source_guid}.txt", text.encode("utf-8")))
        source = _add(
            sources,
            "TextSource",
            guid=source_guid,
            name=tid,
            plainTextPath=f"internal://{source_guid}.txt",
            creatingUser=user[RULE_CODER],
        )
        described = layout(
            [
                ("Group", groups.get(tid, "")),
                ("Roles", [f"{s}: {r}" for s, r in roles.get(tid, {}).items()]),
            ]
        )
        if described:
            _add(source, "Description", described)
        for segment in coded:
            if segment.transcript_id != tid:
                continue
            on_segment = by_segment[segment.id]
            selection = _add(
                source,
                "PlainTextSelection",
                guid=guid("selection", segment.id),
                name=segment.id,
                startPosition=str(segment.start),
                endPosition=str(segment.end),
                creatingUser=user[on_segment[0].coder],
            )
            lines = [_evidence_line(c, codes[c.code_id].label) for c in on_segment]
            _add(selection, "Description", "\n".join(lines))
            for coding in on_segment:
                element = _add(
                    selection,
                    "Coding",
                    guid=guid("coding", f"{segment.id}/{coding.code_id}/{coding.coder}"),
                    creatingUser=user[coding.coder],
                )
                _add(element, "CodeRef", targetGUID=guid("code", coding.code_id))
    sets = _add(root, "Sets")
    book_set = _add(sets, "Set", guid=CODEBOOK_SET, name=codebook.name or "codebook")
    _add(book_set, "Description", _codebook_set_description(codebook))
    for code in codebook.codes:
        _add(book_set, "MemberCode", targetGUID=guid("code", code.id))
    _add(root, "Description", f"Exported by qualcode {__version__}: {codebook.name}")
    qde = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in [("project.qde", qde), *members]:
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def export_qdpx(
    out_dir: str | Path,
    path: str | Path,
    *,
    codebook: str | Path | Codebook | None = None,
    codings: Iterable[str | Path | Codings] = (),
) -> Path:
    """Write the output folder of a run as a REFI-QDA project (`.qdpx`).

    Reads `transcripts/<id>.txt`, `segments.csv`, `codings.csv`, `codebook.yaml` (or
    `codebook`) and `attributes.csv` if present; `codings` adds other coders' codings
    (`codings.csv` files or coding sheets, or `Codings`). Returns the path written.
    """
    out_dir, path = Path(out_dir), Path(path)
    for needed in ("segments.csv", "codings.csv", "transcripts"):
        if not (out_dir / needed).exists():
            raise QualcodeError(
                f"not the output folder of a run: {needed} missing",
                file=out_dir,
                fix="give the folder that 'qualcode run' or 'qualcode code' wrote",
            )
    if isinstance(codebook, Codebook):
        book = codebook
    elif codebook is not None or (out_dir / "codebook.yaml").is_file():
        book = load_codebook(codebook or out_dir / "codebook.yaml")
    else:
        raise QualcodeError(
            "the output folder has no codebook.yaml",
            file=out_dir,
            fix="pass the codebook the run used with --codebook",
        )
    segments = read_segments(out_dir / "segments.csv")
    items = list(read_codings(out_dir / "codings.csv", segments, book))
    for extra in codings:
        if isinstance(extra, Codings):
            items += extra
        else:
            from .sheets import load_codings

            items += load_codings(extra, segments, book)
    texts = {}
    transcript_ids = list(dict.fromkeys(s.transcript_id for s in segments))
    for tid in transcript_ids:
        file = out_dir / "transcripts" / f"{tid}.txt"
        if not file.is_file():
            raise QualcodeError(
                f"transcripts/{tid}.txt is missing",
                file=out_dir,
                fix="export the complete output folder of a run",
            )
        texts[tid] = file.read_text(encoding="utf-8")
    attributes: dict[tuple[str, str], dict[str, str]] = {}
    if (out_dir / "attributes.csv").is_file():
        from .pipeline import read_attributes

        attributes = read_attributes(out_dir / "attributes.csv")
    name = out_dir.resolve().name if out_dir.resolve().name not in ("out", "") else ""
    data = project_bytes(book, texts, segments, items, attributes, name=name or book.name)
    atomic_write_bytes(path, data)
    return path


# --- projects: import -----------------------------------------------------------------------


@dataclass
class ImportResult:
    """A REFI-QDA project read into qualcode's shapes, with what was repaired or dropped."""

    codebook: Codebook
    texts: dict[str, str]  # transcript id → text of `transcripts/<id>.txt`
    segments: Segments
    codings: Codings
    roster: list[RosterEntry]
    notes: list[ImportNote]
    memos: list[tuple[str, str]] = field(default_factory=list)  # (attached to, text)
    origin: str = ""
    source: str = ""
    out: Path | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def coders(self) -> list[str]:
        return list(dict.fromkeys(c.coder for c in self.codings))

    def __repr__(self) -> str:
        return (
            f"<ImportResult: {len(self.texts)} transcripts, {len(self.codebook.codes)} codes, "
            f"{len(self.segments)} segments, {len(self.codings)} codings by "
            f"{len(self.coders)} coders, {len(self.notes)} notes>"
        )


@dataclass
class _Selection:
    guid: str
    name: str
    start: int
    end: int
    user: str
    description: str
    codings: list[tuple[str, str]]  # (code GUID, user GUID)


@dataclass
class _Source:
    guid: str
    name: str
    raw: str  # text as stored (BOM removed)
    selections: list[_Selection]
    description: str = ""


def _position(element: Any, attribute: str, where: str) -> int:
    value = (element.get(attribute) or "").strip()
    if not re.fullmatch(r"-?\d+", value):
        raise QualcodeError(
            f"a selection in source '{where}' has {attribute}='{value[:20]}', not a number",
            file="project.qde",
            line=element.sourceline,
            fix="export the project again from the QDA tool",
        )
    return int(value)


def _readings(raw: str, norm: str) -> list[tuple[str, list[int] | None]]:
    """Ways real tools count positions, each as a table from their offsets to code points
    in `norm` (-1 for an offset inside a character); None is the identity."""
    astral = any(ord(c) > 0xFFFF for c in raw)
    found: list[tuple[str, list[int] | None]] = [("characters", None)]
    if astral:
        found.append(("UTF-16 code units", _table(norm, None)))
    if raw != norm:
        to_norm, j, i = [0] * (len(raw) + 1), 0, 0
        while i < len(raw):
            to_norm[i] = j
            if raw[i] == "\r" and i + 1 < len(raw) and raw[i + 1] == "\n":
                to_norm[i + 1] = j
                i += 1
            i += 1
            j += 1
        to_norm[len(raw)] = j
        found.append(("characters with CR LF line breaks", to_norm))
        if astral:
            found.append(("UTF-16 code units with CR LF line breaks", _table(raw, to_norm)))
    return found


def _table(base: str, to_norm: list[int] | None) -> list[int]:
    table = []
    for i, char in enumerate(base):
        table.append(to_norm[i] if to_norm else i)
        if ord(char) > 0xFFFF:
            table.append(-1)
    table.append(to_norm[len(base)] if to_norm else len(base))
    return table


def _aligned(text: str, start: int, end: int) -> int:
    def inside_word(i: int) -> bool:
        return 0 < i < len(text) and text[i - 1].isalnum() and text[i].isalnum()

    return (not inside_word(start)) + (not inside_word(end))


def _choose_reading(
    source: _Source, norm: str, origin: str, where: str
) -> tuple[str, Callable[[int], int]]:
    """The reading of positions under which every selection fits the text best: all inside
    it, names matching the text, boundaries between words (ties: NVivo counts UTF-16 code
    units, every other tool characters). Returns the reading's name and its map."""
    prefer_utf16 = "nvivo" in origin.casefold()
    best: tuple[Any, ...] | None = None
    for rank, (label, table) in enumerate(_readings(source.raw, norm)):

        def mapped(offset: int, table: list[int] | None = table) -> int:
            if table is None:
                return offset if 0 <= offset <= len(norm) else -1
            return table[offset] if 0 <= offset < len(table) else -1

        spans = [(mapped(s.start), mapped(s.end)) for s in source.selections]
        if any(a < 0 or b < 0 or a > b for a, b in spans):
            continue
        names = sum(
            1
            for s, (a, b) in zip(source.selections, spans, strict=True)
            if len(s.name) >= 3 and norm[a:b].startswith(s.name.rstrip("….").rstrip())
        )
        aligned = sum(_aligned(norm, a, b) for a, b in spans)
        order = 1 if prefer_utf16 and "UTF-16" in label else -rank
        score = (names, aligned, order)
        if best is None or score > best[0]:
            best = (score, label, mapped)
    if best is None:
        bad = max(source.selections, key=lambda s: (s.start < 0 or s.end < s.start, s.end))
        what = (
            f"runs from {bad.start} to {bad.end}"
            if bad.start < 0 or bad.end < bad.start
            else f"ends at {bad.end}, past the end of its text ({len(norm)} characters)"
        )
        raise QualcodeError(
            f"a selection in source '{source.name}' {what}",
            file=where,
            fix="the project's positions do not fit its texts; export it again from the tool",
        )
    return best[1], best[2]


def _qualcode_turns(text: str, tid: str) -> tuple[dict[str, Any], list[Turn], list[int]] | None:
    """The turns of a transcript in qualcode's own layout, if it is exactly that."""
    metadata: dict[str, Any] = {}
    body = text
    if text.startswith("---\n"):
        end = text.find("\n---\n\n")
        if end < 0:
            return None
        try:
            metadata = yaml.safe_load(text[4 : end + 1]) or {}
        except yaml.YAMLError:
            return None
        if not isinstance(metadata, dict):
            return None
        body = text[end + len("\n---\n\n") :]
    if not body.endswith("\n"):
        return None
    turns = []
    for block in body[:-1].split("\n\n"):
        speaker, sep, said = block.partition(": ")
        if not sep:
            if not block.endswith(":") or "\n" in block:
                return None
            speaker, said = block[:-1], ""
        if not speaker or "\n" in speaker:
            return None
        turns.append(Turn(len(turns), speaker, said))
    rendered, offsets = render(Transcript(tid, tuple(turns), metadata))
    if rendered != text:
        return None
    return metadata, turns, offsets


@dataclass
class _TurnMap:
    """Where turns start in a text and who speaks them."""

    starts: list[int]
    speakers: list[str]
    group: str

    def at(self, offset: int) -> tuple[int, str]:
        index = max(bisect.bisect_right(self.starts, offset) - 1, 0)
        return index, self.speakers[index]


def _turn_map(text: str, tid: str, known: list[str], sole: str | None) -> _TurnMap:
    """Turns from qualcode's own layout, else from speaker labels, else one turn."""
    own = _qualcode_turns(text, tid)
    if own is not None:
        metadata, turns, offsets = own
        return _TurnMap(
            [o - len(f"{t.speaker}:") - (1 if t.text else 0) for t, o in zip(turns, offsets)],
            [t.speaker for t in turns],
            str(metadata.get("group") or tid),
        )
    lines = text.split("\n")
    starts, speakers, position = [], [], 0
    for line, label in zip(lines, find_labels(lines, known), strict=True):
        if label is not None and label.label:
            if not starts and text[:position].strip():
                starts.append(0)
                speakers.append("UNKNOWN")
            starts.append(position)
            speakers.append(label.label)
        position += len(line) + 1
    return _TurnMap(starts or [0], speakers or [sole or "UNKNOWN"], tid)


def _transcript_id(name: str, taken: set[str]) -> str:
    """A file-safe, unique transcript id from a source's name."""
    stem = re.sub(r"\.(docx?|txt|rtf|pdf|odt|md)$", "", name.strip(), flags=re.IGNORECASE)
    stem = re.sub(r"[^\w .()-]+", "_", stem).strip(" ._") or "source"
    candidate, n = stem, 2
    while candidate.casefold() in taken:
        candidate, n = f"{stem}_{n}", n + 1
    taken.add(candidate.casefold())
    return candidate


def _source_text(element: Any, archive: _Archive, name: str, notes: list[ImportNote]) -> str | None:
    """The stored text of a `TextSource` (a file in the archive or inline), BOM removed."""
    path = (element.get("plainTextPath") or "").strip()
    if not path:
        content = _kid(element, "PlainTextContent")
        if content is not None:
            return content.text or ""
        rich = element.get("richTextPath") or "nothing"
        notes.append(ImportNote("dropped", f"source '{name}' has no plain text (only {rich})"))
        return None
    scheme, sep, rest = path.partition("://")
    if not sep or scheme.lower() != "internal":
        notes.append(
            ImportNote(
                "dropped",
                f"source '{name}': its text is outside the project ({path[:60]}); export the "
                "project with the sources embedded",
            )
        )
        return None
    rest = _safe_member(rest, archive.path)
    member = archive.find(f"sources/{rest}") or next(
        (m for m in archive.members if PurePosixPath(m).name.casefold() == rest.casefold()), None
    )
    if member is None:
        notes.append(ImportNote("dropped", f"source '{name}': its text file is missing"))
        return None
    if not member.startswith("sources/"):
        notes.append(
            ImportNote(
                "repaired",
                f"source '{name}': text read from '{member}' (the standard folder is sources/)",
            )
        )
    text, bom = decode_source(archive.read(member), name)
    if bom:
        notes.append(ImportNote("repaired", f"source '{name}': its {bom} byte-order mark removed"))
    return text


def _project_root(archive: _Archive, notes: list[ImportNote]) -> tuple[Any, str]:
    """The parsed `project.qde` (or the one `.qde` however it is named) and its name."""
    qde = archive.find("project.qde")
    if qde is None:
        candidates = [m for m in archive.members if m.casefold().endswith(".qde")]
        if len(candidates) != 1:
            raise QualcodeError(
                f"{len(candidates)} .qde files in the archive"
                if candidates
                else "no project.qde in the archive",
                file=archive.path,
                fix="export the project from the QDA tool as REFI-QDA project (.qdpx)",
            )
        qde = candidates[0]
        notes.append(ImportNote("repaired", f"the project file is named '{qde}' (read as such)"))
    root = parse_xml(archive.read(qde), qde)
    if _local(root) != "Project":
        raise QualcodeError(
            f"not a REFI-QDA project (the root element is '{_local(root)}')",
            file=qde,
            line=root.sourceline,
            fix="export the project from the QDA tool as REFI-QDA project (.qdpx)",
        )
    return root, qde


def _all(root: Any, container: str, item: str) -> list[Any]:
    parent = _kid(root, container)
    return [] if parent is None else _kids(parent, item)


def _codings_of(element: Any) -> list[tuple[str, str]]:
    """(code GUID, user GUID) of each `Coding` child."""
    found = []
    for coding in _kids(element, "Coding"):
        ref = _kid(coding, "CodeRef")
        if ref is not None:
            found.append(
                (_norm_guid(ref.get("targetGUID")), _norm_guid(coding.get("creatingUser")))
            )
    return found


def _read_sources(root: Any, archive: _Archive, notes: list[ImportNote]) -> list[_Source]:
    """Text sources (and the text representation of PDF sources) with their selections."""
    sources: list[_Source] = []
    taken: set[str] = set()
    skipped: dict[str, int] = {}
    parent = _kid(root, "Sources")
    for element in [] if parent is None else [e for e in parent if _local(e)]:
        kind, name = _local(element), element.get("name") or _guid_of(element)
        text_element = element
        if kind == "PDFSource":
            areas = len(_kids(element, "PDFSelection"))
            if areas:
                skipped["PDF area selections"] = skipped.get("PDF area selections", 0) + areas
            text_element = _kid(element, "Representation")
            if text_element is None:
                notes.append(ImportNote("dropped", f"PDF source '{name}' has no text"))
                continue
        elif kind != "TextSource":
            skipped[f"{kind}s"] = skipped.get(f"{kind}s", 0) + 1
            continue
        raw = _source_text(text_element, archive, name, notes)
        if raw is None:
            continue
        selections = [
            _Selection(
                _guid_of(selection),
                (selection.get("name") or "").strip(),
                _position(selection, "startPosition", name),
                _position(selection, "endPosition", name),
                _norm_guid(selection.get("creatingUser")),
                _text_of(selection, "Description"),
                _codings_of(selection),
            )
            for selection in _kids(text_element, "PlainTextSelection")
        ]
        whole = _codings_of(text_element)
        if whole:
            notes.append(
                ImportNote(
                    "repaired",
                    f"source '{name}': codings of the whole source, kept as codings of its "
                    f"whole text: {len(whole)}",
                )
            )
            selections.append(
                _Selection(guid("whole", _guid_of(element)), "", 0, len(raw), "", "", whole)
            )
        values = len(_kids(element, "VariableValue"))
        if values:
            skipped["variable values of sources"] = skipped.get("variable values of sources", 0)
            skipped["variable values of sources"] += values
        tid = _transcript_id(name, taken)
        description = _text_of(text_element, "Description")
        sources.append(_Source(_guid_of(element), tid, raw, selections, description))
    for what, count in skipped.items():
        notes.append(ImportNote("dropped", f"{what} (qualcode reads text only): {count}"))
    return sources


@dataclass
class _Case:
    name: str
    sources: set[str]  # GUIDs
    selections: set[str]  # GUIDs
    values: dict[str, str]


def _read_cases(root: Any, notes: list[ImportNote]) -> tuple[list[_Case], list[str]]:
    """Cases with their variable values, and the variables' names in order."""
    variables = {
        _guid_of(v): v.get("name") or _guid_of(v) for v in _all(root, "Variables", "Variable")
    }
    cases, coded = [], 0
    for element in _all(root, "Cases", "Case"):
        values = {}
        for value in _kids(element, "VariableValue"):
            ref = _kid(value, "VariableRef")
            name = variables.get(_norm_guid(ref.get("targetGUID"))) if ref is not None else None
            given = [v for v in value if _local(v).endswith("Value")]
            if name and given:
                values[name] = (given[0].text or "").strip()
        coded += len(_kids(element, "CodeRef"))
        cases.append(
            _Case(
                (element.get("name") or "").strip() or f"case {len(cases) + 1}",
                {_norm_guid(r.get("targetGUID")) for r in _kids(element, "SourceRef")},
                {_norm_guid(r.get("targetGUID")) for r in _kids(element, "SelectionRef")},
                values,
            )
        )
    if coded:
        notes.append(ImportNote("dropped", f"codings of whole cases: {coded}"))
    return cases, list(dict.fromkeys(variables.values()))


@dataclass
class _Context:
    """What every source's codings need from the project as a whole."""

    users: dict[str, str]
    default_user: str
    codes: dict[str, str]  # code GUID → code id
    codebook: Codebook
    cases: list[_Case]
    counts: dict[str, int]
    seen: set[tuple[str, str, str]] = field(default_factory=set)
    speakers: dict[tuple[str, str], str] = field(default_factory=dict)  # (tid, name) → role


class _CaseRanges:
    """The case whose selection holds a range (the nearest one starting before it): NVivo
    and qualcode name who speaks by coding a case's selections."""

    def __init__(self, ranges: Iterable[tuple[int, int, str]]) -> None:
        self.ranges = sorted(ranges)
        self.lefts = [left for left, _, _ in self.ranges]
        self.reach = list(itertools.accumulate((right for _, right, _ in self.ranges), max))

    def __call__(self, start: int, end: int) -> str | None:
        i = bisect.bisect_right(self.lefts, start) - 1
        while i >= 0 and self.reach[i] >= end:  # no earlier range reaches the end: stop
            if self.ranges[i][1] >= end:
                return self.ranges[i][2]
            i -= 1
        return None


def _trimmed(norm: str, start: int, end: int) -> tuple[int, int]:
    while start < end and norm[start].isspace():
        start += 1
    while end > start and norm[end - 1].isspace():
        end -= 1
    return start, end


def _source_segments(
    source: _Source,
    norm: str,
    mapped: Callable[[int], int],
    context: _Context,
) -> tuple[list[Segment], list[Coding]]:
    """One segment a coded range of the source, and the codings on it."""
    tid, counts = source.name, context.counts
    selections = {s.guid: s for s in source.selections}
    linked = [c for c in context.cases if source.guid in c.sources] or [
        c for c in context.cases if c.selections & set(selections)
    ]
    fields = parse_layout(source.description, SOURCE_FIELDS) if source.description else None
    roles = dict(item.rpartition(": ")[::2] for item in (fields or {}).get("Roles", []))
    case_names = {c.name for c in context.cases}
    turns = _turn_map(norm, tid, sorted(case_names), linked[0].name if len(linked) == 1 else None)

    def role_of(speaker: str) -> str:
        return roles.get(speaker) or (
            "participant" if speaker in case_names else role_for_label(speaker)
        )

    for speaker in turns.speakers:
        context.speakers.setdefault((tid, speaker), role_of(speaker))
    speaker_of = _CaseRanges(
        (mapped(selections[ref].start), mapped(selections[ref].end), case.name)
        for case in context.cases
        for ref in case.selections & set(selections)
    )
    pending = []
    for selection in source.selections:
        if not selection.codings:
            counts["uncoded"] += 1
            continue
        if not any(code in context.codes for code, _ in selection.codings):
            counts["unknown code"] += len(selection.codings)
            continue
        start, end = mapped(selection.start), mapped(selection.end)
        a, b = _trimmed(norm, start, end)
        if a >= b:
            counts["empty"] += 1
            continue
        counts["trimmed"] += (a, b) != (start, end)
        pending.append((selection, a, b))
    pending.sort(key=lambda item: (item[1], item[2]))

    # segment ids: qualcode's own (the selection's name) where it fits, else new ones
    own = re.compile(rf"^{re.escape(tid)}:(\d+):(\d+)$")
    ids: dict[tuple[int, int], str] = {}
    for selection, a, b in pending:
        if own.match(selection.name) and (a, b) not in ids and selection.name not in ids.values():
            ids[(a, b)] = selection.name
    used = set(ids.values())
    segments: dict[tuple[int, int], Segment] = {}
    codings: list[Coding] = []
    for selection, a, b in pending:
        segment = segments.get((a, b))
        if segment is None:
            turn, speaker = turns.at(a)
            speaker = speaker_of(a, b) or speaker
            if (a, b) in ids:
                segment_id = ids[(a, b)]
                turn = int(own.match(segment_id)[1])  # type: ignore[index]
            else:
                n = 0
                while f"{tid}:{turn}:{n}" in used:
                    n += 1
                segment_id = f"{tid}:{turn}:{n}"
                used.add(segment_id)
            segment = Segment(
                segment_id, tid, turns.group, speaker, role_of(speaker), turn, a, b, norm[a:b]
            )
            segments[(a, b)] = segment
        else:
            counts["merged"] += 1
        codings += _selection_codings(selection, segment, norm, context)
    return sorted(segments.values(), key=lambda s: (s.start, s.end)), codings


def _selection_codings(
    selection: _Selection, segment: Segment, norm: str, context: _Context
) -> list[Coding]:
    """The codings of one selection; qualcode's own descriptions give source, score and
    evidence back."""
    described = {}
    for line in selection.description.split("\n"):
        match = _EVIDENCE_LINE.match(line)
        if match:
            described[(match["code"], match["coder"])] = match
    rule_user = guid("user", RULE_CODER)
    found = []
    for code_guid, user_guid in selection.codings:
        code_id = context.codes.get(code_guid)
        if code_id is None:
            context.counts["unknown code"] += 1
            continue
        user_guid = user_guid or selection.user or context.default_user
        coder = context.users.get(user_guid, "unknown coder")
        key = (segment.id, code_id, coder)
        if key in context.seen:
            context.counts["duplicate"] += 1
            continue
        context.seen.add(key)
        kind, score, evidence = ("rule" if user_guid == rule_user else "human"), 1.0, ()
        match = described.get((code_id, coder))
        if match:
            kind, score = match["source"], float(match["score"])
            evidence = tuple(
                _repair_evidence(e, norm) for e in parse_evidence(match["evidence"] or "")
            )
        code = context.codebook.code(code_id)
        found.append(
            Coding(
                segment.id,
                segment.transcript_id,
                segment.speaker,
                code_id,
                code.subtheme_id,
                code.theme_id,
                score,
                evidence,
                kind,
                coder,
            )
        )
    return found


def _roster(
    cases: list[_Case],
    variables: list[str],
    sources: list[_Source],
    segments: list[Segment],
    speakers: dict[tuple[str, str], str],
) -> list[RosterEntry]:
    """A roster row per case and transcript, and one per other speaker of each transcript."""
    order = [s.name for s in sources]
    tid_of = {s.guid: s.name for s in sources}
    tid_of.update({sel.guid: s.name for s in sources for sel in s.selections})
    spoken: dict[str, set[str]] = {}
    for segment in segments:
        spoken.setdefault(segment.speaker, set()).add(segment.transcript_id)
    roster, listed = [], set()
    for case in cases:
        tids = {tid_of[g] for g in case.sources | case.selections if g in tid_of}
        tids |= spoken.get(case.name, set())
        attributes = {v: case.values.get(v, "") for v in variables}
        for tid in sorted(tids, key=order.index) or [""]:
            if (tid, case.name.casefold()) not in listed:
                listed.add((tid, case.name.casefold()))
                roster.append(RosterEntry(case.name, "participant", tid, "", (), attributes))
    for segment in segments:
        speakers.setdefault((segment.transcript_id, segment.speaker), segment.role)
    for (tid, speaker), role in speakers.items():
        if (tid, speaker.casefold()) not in listed and speaker != "UNKNOWN":
            listed.add((tid, speaker.casefold()))
            roster.append(RosterEntry(speaker, role, tid))
    return roster


def read_qdpx(path: str | Path) -> ImportResult:
    """Read a REFI-QDA project (`.qdpx`) from any tool into qualcode's shapes, in memory.

    Every selection is checked against its text; positions counted in UTF-16 code units
    (NVivo) or over CR LF line breaks are converted; what was repaired, folded or dropped is
    in `.notes`.
    """
    import hashlib

    path = Path(path)
    archive = _Archive(path)
    notes: list[ImportNote] = []
    root, qde = _project_root(archive, notes)
    origin = root.get("origin") or ""
    users = {
        _guid_of(user): (user.get("name") or user.get("id") or f"user {n}").strip()
        for n, user in enumerate(_all(root, "Users", "User"), start=1)
    }
    sources = _read_sources(root, archive, notes)

    codebook_element = _kid(root, "CodeBook")
    codes_element = None if codebook_element is None else _kid(codebook_element, "Codes")
    if codes_element is None or not _kids(codes_element, "Code"):
        raise QualcodeError(
            "the project has no codebook", file=qde, fix="export a project that has codes"
        )
    meta = _codebook_meta(_all(root, "Sets", "Set"), "MemberCode", notes)
    meta.setdefault("name", root.get("name") or path.stem)
    coded = {code for s in sources for sel in s.selections for code, _ in sel.codings}
    reading = _read_codebook_tree(_nodes(codes_element), meta, path, coded)
    notes += reading.notes
    digest = hashlib.sha256(archive.read(qde)).hexdigest()
    codebook = codebook_from_dict(reading.data, path, digest)

    cases, variables = _read_cases(root, notes)
    counts = dict.fromkeys(
        ("trimmed", "merged", "empty", "uncoded", "unknown code", "duplicate"), 0
    )
    context = _Context(
        users, _norm_guid(root.get("creatingUserGUID")), reading.codes, codebook, cases, counts
    )
    texts: dict[str, str] = {}
    segments: list[Segment] = []
    codings: list[Coding] = []
    for source in sources:
        norm = source.raw.replace("\r\n", "\n").replace("\r", "\n")
        texts[source.name] = norm
        if norm != source.raw:
            notes.append(
                ImportNote("repaired", f"source '{source.name}': CR LF line breaks written as LF")
            )
        label, mapped = _choose_reading(source, norm, origin, qde)
        if label != "characters":
            moved = sum(
                mapped(s.start) != s.start or mapped(s.end) != s.end for s in source.selections
            )
            notes.append(
                ImportNote(
                    "repaired",
                    f"source '{source.name}': positions counted in {label}"
                    f"{' (as NVivo does)' if 'UTF-16' in label else ''}; {moved} of "
                    f"{len(source.selections)} selections moved to their characters",
                )
            )
        found, coded_here = _source_segments(source, norm, mapped, context)
        inside = sum(2 - _aligned(norm, s.start, s.end) for s in found)
        if inside:
            notes.append(
                ImportNote(
                    "checked",
                    f"source '{source.name}': {inside} segment boundaries fall inside a word "
                    "(kept as selected)",
                )
            )
        segments += found
        codings += coded_here
    for key, kind, what in (
        ("trimmed", "repaired", "selections trimmed of spaces and line breaks at their ends"),
        ("merged", "repaired", "selections with the same range as another, made one segment"),
        ("duplicate", "repaired", "codings repeated by one coder on one segment, kept once"),
        ("empty", "dropped", "coded selections of nothing but spaces"),
        ("uncoded", "dropped", "selections without a coding"),
        ("unknown code", "dropped", "codings of codes that are not in the codebook"),
    ):
        if counts[key]:
            notes.append(ImportNote(kind, f"{what}: {counts[key]}"))
    for container, item, what in (("Links", "Link", "links"), ("Graphs", "Graph", "graphs")):
        if _all(root, container, item):
            found = len(_all(root, container, item))
            notes.append(ImportNote("dropped", f"{what} (qualcode has none): {found}"))
    roster = _roster(cases, variables, sources, segments, context.speakers)
    memos = _memos(root, archive, reading, codebook, notes)
    all_segments = Segments(segments, codebook.unit)
    return ImportResult(
        codebook,
        texts,
        all_segments,
        Codings(codings, all_segments, codebook),
        roster,
        notes,
        memos,
        origin,
        str(path),
    )


def _repair_evidence(evidence: Evidence, text: str) -> Evidence:
    """Evidence with its words taken from the source text (the description flattens line
    breaks)."""
    if 0 <= evidence.start < evidence.end <= len(text):
        words = text[evidence.start : evidence.end]
        if words.replace("\n", " ") == evidence.text:
            return Evidence(evidence.kind, evidence.rule, words, evidence.start, evidence.end)
    return evidence


def _memos(
    root: Any,
    archive: _Archive,
    reading: _CodebookReading,
    codebook: Codebook,
    notes: list[ImportNote],
) -> list[tuple[str, str]]:
    """Every note (memo) of the project with what it is attached to: qualcode has no memos,
    so the import report keeps their text."""
    notes_element = _kid(root, "Notes")
    if notes_element is None:
        return []
    labels = {code.id: code.label for code in codebook.codes}
    attached = {
        note: f"code '{labels.get(code_id, code_id)}'"
        for code_id, refs in reading.memos.items()
        for note in refs
    }
    memos = []
    for element in _kids(notes_element, "Note"):
        text = _kid(element, "PlainTextContent")
        body = text.text if text is not None else None
        if body is None:
            quiet: list[ImportNote] = []
            body = _source_text(element, archive, element.get("name") or "note", quiet) or ""
        where = attached.get(_guid_of(element), "the project")
        title = element.get("name") or "memo"
        memos.append((f"{title} ({where})", body.strip()))
    if memos:
        notes.append(
            ImportNote(
                "dropped",
                f"memos (qualcode has none; their text is in import-report.md): {len(memos)}",
            )
        )
    return memos


def import_report(result: ImportResult) -> str:
    """`import-report.md`: what was read, and everything repaired, folded or dropped."""
    from . import __version__

    summary = result.codebook.summary()
    coders = result.coders
    lines = [
        "# Import report",
        "",
        f"`{Path(result.source).name}` (origin: {result.origin or 'not given'}), read by "
        f"qualcode {__version__}.",
        "",
        "| what | count |",
        "| --- | --- |",
        f"| transcripts | {len(result.texts)} |",
        f"| themes, subthemes, codes | {summary['themes']}, {summary['subthemes']}, "
        f"{summary['codes']} |",
        f"| segments (one a coded selection) | {len(result.segments)} |",
        f"| codings | {len(result.codings)} |",
        f"| coders | {', '.join(coders) if coders else '–'} |",
        f"| participants (cases) | {sum(1 for r in result.roster if r.role == 'participant')} |",
        "",
        "`segments.csv` holds the coded selections only, so counts of segments in the reports "
        "are counts of coded passages.",
        "",
    ]
    for kind, title in (
        ("repaired", "Repaired"),
        ("folded", "Folded into theme → subtheme → code"),
        ("dropped", "Dropped"),
        ("checked", "Checked"),
    ):
        found = [n.what for n in result.notes if n.kind == kind]
        lines += [f"## {title}", ""]
        lines += [f"- {what}" for what in found] or ["Nothing."]
        lines.append("")
    if result.memos:
        lines += ["## Memos", ""]
        for where, text in result.memos:
            lines += [f"### {where}", "", text or "(empty)", ""]
    return "\n".join(lines)


def _file_names(coders: list[str]) -> list[str]:
    """A distinct file-name part for each coder."""
    names: list[str] = []
    for coder in coders:
        base = slug(coder, "coder")
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def write_import(result: ImportResult, out_dir: str | Path) -> list[Path]:
    """Write an import: `transcripts/<id>.txt`, `codebook.yaml`, `segments.csv`,
    `codings.csv` (and `codings_<coder>.csv` for each of several coders), `participants.csv`,
    `attributes.csv` (with variables), `themes.json` and `import-report.md`."""
    from .codebook import write_codebook
    from .coding import write_codings
    from .pipeline import write_attributes
    from .reports import write_report
    from .segments import write_segments
    from .themes import build_themes

    out = Path(out_dir)
    written = []
    for tid, text in result.texts.items():
        path = out / "transcripts" / f"{tid}.txt"
        atomic_write_text(path, text)
        written.append(path)
    written.append(write_codebook(result.codebook, out / "codebook.yaml"))
    codebook = load_codebook(out / "codebook.yaml")  # its SHA-256 is over the file written
    written.append(write_segments(result.segments, out / "segments.csv"))
    written.append(write_codings(result.codings, out / "codings.csv"))
    if len(result.coders) > 1:  # one file a coder, for `qualcode agree`
        for coder, name in zip(result.coders, _file_names(result.coders), strict=True):
            own = Codings([c for c in result.codings if c.coder == coder], result.segments)
            written.append(write_codings(own, out / f"codings_{name}.csv"))
    names = list(dict.fromkeys(n for entry in result.roster for n in entry.attributes))
    rows = [
        [e.transcript, e.speaker, e.role, e.pseudonym, ";".join(e.aliases)]
        + [e.attributes.get(n, "") for n in names]
        for e in result.roster
    ]
    participants = out / "participants.csv"
    atomic_write_text(participants, csv_text((*KNOWN_COLUMNS, *names), rows))
    written.append(participants)
    attributes = {
        (e.transcript, e.speaker): dict(e.attributes)
        for e in result.roster
        if e.transcript and e.role == "participant" and any(e.attributes.values())
    }
    if attributes:
        written.append(write_attributes(attributes, out / "attributes.csv"))
    themes = build_themes(Codings(result.codings, result.segments, codebook), codebook, attributes)
    written.append(write_report(themes, out / "themes.json"))
    report = out / "import-report.md"
    atomic_write_text(report, import_report(result))
    written.append(report)
    return written


def import_qdpx(path: str | Path, out_dir: str | Path) -> ImportResult:
    """Import a REFI-QDA project (`.qdpx`) into `out_dir` (see `write_import`); the result
    can go straight into `qualcode agree` and `qualcode report`."""
    result = read_qdpx(path)
    result.out = Path(out_dir)
    result.files = write_import(result, out_dir)
    return result
