"""Realistic exports of transcription tools, read by `qualcode.read_transcript`.

Every file in `tests/data/formats/` imitates one tool's documented export layout (Zoom and
Teams WebVTT, Teams and Rev Word documents, Otter/Rev/Descript text, f4transkript/NVivo
interviews, subtitle SRT, Markdown, CSV, Excel) or a common encoding accident. The expected
values below were worked out from the files by hand (line numbers with `grep -n`), not taken
from the reader's output.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.roster import Roster, RosterEntry

DATA = Path(__file__).resolve().parent / "data" / "formats"
SKIP = object()  # "do not check this value"


@dataclass(frozen=True)
class Sample:
    """One turn checked in full: its exact text, source line and times."""

    index: int
    text: str
    line: int
    start: object = SKIP
    end: object = SKIP


@dataclass(frozen=True)
class Case:
    file: str
    speakers: tuple[str, ...]  # the speaker of every turn, in order
    samples: tuple[Sample, ...]
    starts: tuple[float | None, ...] | None = None  # start of every turn, when checked
    moderators: tuple[str, ...] = ()  # speakers whose label alone makes them moderators
    roster_moderator: str | None = None  # the moderator's label, when a roster is needed
    warnings: tuple[str, ...] = ()  # each QualcodeWarning expected, as a message fragment
    encoding: str = "utf-8"  # what the reader reports
    source_encoding: str | None = None  # how the test decodes the file to compare lines
    body_from: int = 1  # first line after front matter


ZK, GN, HO, BT, MK = (
    "Zsófia Kovács",
    "Gergő Nagy",
    "Hannah O'Brien",
    "Bence Tóth",
    "Mary-Kate Szabó",
)
UNKNOWN = "UNKNOWN"

# --- Zoom cloud recording: "Display Name: text" cues; one speaker's cues merge. -------------
GNP = "Gergő Nagy (he/him)"
ZOOM = Case(
    "zoom_cloud_recording.vtt",
    speakers=(ZK, GNP, HO, ZK, GNP, BT, MK, ZK, MK, HO, GNP, HO, BT, ZK, BT, GNP, MK, HO, ZK),
    starts=(
        4.21,
        17.10,
        20.05,
        27.40,
        32.01,
        44.90,
        53.50,
        61.90,
        65.13,
        77.30,
        83.40,
        85.60,
        90.50,
        94.20,
        102.55,
        108.01,
        116.12,
        124.02,
        128.30,
    ),
    samples=(
        Sample(
            0,
            "Okay, I think the recording has started. Welcome, everyone, and thanks for "
            "joining on a Tuesday evening. As I said in the email, tonight is about how you "
            "use the local library, or why you don't.",
            5,
            4.21,
            16.45,
        ),
        Sample(
            4,
            "Um, honestly, probably two months ago? I went to return a book for my "
            "daughter. And the thing is: the opening hours don't really work if you "
            "commute.",
            25,
            32.01,
            44.20,
        ),
        Sample(
            8,
            "The staff, really. Ildikó at the desk knows every child by name. And it's "
            "free, which, with three kids, matters.",
            49,
            65.13,
            76.04,
        ),
        Sample(
            13,
            "Okay, let me move us on to question two: if you could change one thing, what "
            "would it be?",
            73,
            94.20,
            101.87,
        ),
        Sample(
            18,
            "Great, thank you. We have about ten minutes left, so let's talk about the "
            "online catalogue.",
            93,
            128.30,
            133.95,
        ),
    ),
    roster_moderator=ZK,
)

# --- Zoom with display names as people really set them (user name, device name). ---------
AK, BTL, ZIP, ESP, DM = (
    "Anna Kovács",
    "bence.toth",
    "Zsófia's iPhone",
    "Enikő Szőke (she/her)",
    "DÁVID MOLNÁR",
)
ZOOM_NAMES = Case(
    "zoom_display_names.vtt",
    speakers=(AK, BTL, ZIP, ESP, AK, DM, BTL, ZIP, ESP, AK, BTL, DM, ZIP),
    starts=(1.5, 7.0, 8.9, 13.3, 15.8, 23.1, 30.5, 36.7, 44.0, 49.2, 54.9, 61.0, 65.5),
    samples=(
        Sample(1, "Yes, loud and clear.", 9, 7.0, 8.4),
        Sample(3, "Hi, I can hear you.", 17, 13.3, 15.1),
        Sample(12, "Honestly, a bike rack would already help a lot.", 53, 65.5, 70.2),
    ),
    roster_moderator=AK,
)

# --- Microsoft Teams .vtt: <guid>/<n>-<part> cue ids, <v Name> voice spans, &amp; ----------
DZK, TB, SKE = "Dr. Zsófia Kovács", "Tóth, Bence", "Szabó-Kiss Enikő"
TEAMS_VTT = Case(
    "teams_meeting.vtt",
    speakers=(DZK, GN, TB, DZK, HO, GN, TB, SKE, DZK, GN, HO, TB, SKE, DZK, GN, HO, TB),
    starts=(
        3.126,
        12.846,
        14.846,
        17.246,
        29.686,
        36.006,
        42.336,
        50.416,
        61.016,
        67.326,
        76.506,
        78.706,
        86.106,
        90.116,
        99.846,
        101.116,
        102.726,
    ),
    samples=(
        Sample(
            0,
            "OK, I think the transcript is running now. So welcome, everyone, to the "
            "second staff focus group on hybrid working.",
            5,
            3.126,
            11.926,
        ),
        Sample(
            4,
            "For me it's two, Tuesday and Thursday, because that's when the Q&A sessions are.",
            29,
            29.686,
            35.246,
        ),
        Sample(
            7,
            "Lucky you. I'm the opposite. It's an hour and a half each way from Vác, so I "
            "do one day a week, that's my limit.",
            41,
            50.416,
            60.206,
        ),
        Sample(
            13,
            "OK. Let's talk about the H&S training next, because a few of you mentioned "
            "it in the survey. Who has done the new module?",
            69,
            90.116,
            99.006,
        ),
        Sample(
            16,
            "Not yet. The link in the email didn't work for me, it said: access denied.",
            85,
            102.726,
            108.876,
        ),
    ),
    roster_moderator=DZK,
)

# --- Teams "Download as .docx": header block, "Name   m:ss" paragraphs, text below. ------
TEAMS_DOCX = Case(
    "teams_meeting.docx",
    speakers=(UNKNOWN, ZK, ZK, GN, HO, ZK, BT, GN, ZK, HO, MK, BT, ZK, MK, GN, ZK, HO, ZK),
    starts=(None, 3, 8, 19, 21, 27, 33, 41, 52, 55, 67, 70, 74, 79, 92, 105, 111, 123),
    samples=(
        Sample(
            0,
            "Library focus group 3-20240305_180214-Meeting Transcript\nMarch 5, 2024, "
            "6:02PM\n41m 37s\nZsófia Kovács started transcription",
            1,
            None,
            None,
        ),
        Sample(
            2,
            "So tonight is about the library's digital services: the app, e-books, the website.",
            7,
            8.0,
            None,
        ),
        Sample(
            7,
            "I had it, but I deleted it.\nIt kept logging me out, and then it wanted the "
            "card number again, every time.",
            17,
            41.0,
            None,
        ),
        Sample(
            14,
            "That's the same problem I had. Search for Gárdonyi without the accent and "
            "you get nothing.",
            32,
            92.0,
            None,
        ),
    ),
    roster_moderator=ZK,
    warnings=("teams_meeting.docx:1: text before the first speaker label",),
)

# --- Otter.ai text export: "Name  m:ss" header lines, "Speaker 3", "Unknown Speaker". -----
S3, US = "Speaker 3", "Unknown Speaker"
OTTER = Case(
    "otter_export.txt",
    speakers=(ZK, GN, ZK, GN, S3, HO, ZK, HO, GN, S3, US, ZK, S3, GN, ZK, HO, GN, S3, ZK, ZK),
    starts=(
        3,
        41,
        44,
        52,
        79,
        98,
        105,
        122,
        140,
        151,
        185,
        189,
        200,
        214,
        892,
        906,
        921,
        930,
        3552,
        3604,
    ),
    samples=(
        Sample(1, "No problem.", 4, 41.0, None),
        Sample(10, "Sorry, I'm late. The tram was stuck.", 31, 185.0, None),
        Sample(
            13,
            "Two things: the racks, and where you leave your helmet all day. I carry mine "
            "around like a handbag.",
            40,
            214.0,
            None,
        ),
        Sample(18, "Great. I think we'll stop there.", 55, 3552.0, None),
    ),
    roster_moderator=ZK,
)

# --- Rev.com .txt: "Name (mm:ss):" alone on a line; UTF-8 with BOM and CRLF. --------------
REV_TXT = Case(
    "rev_export.txt",
    speakers=(ZK, GN, GN, ZK, GN, S3, GN, ZK, GN, ZK, GN, ZK, GN, ZK),
    starts=(0, 9, 31, 42, 43, 49, 51, 62, 65, 84, 90, 3718, 3726, 3735),
    samples=(
        Sample(
            0,
            "Okay, it's recording. So, just to start, could you tell me a bit about your "
            "mum and how the caring started?",
            1,
            0.0,
            None,
        ),
        Sample(
            4,
            "Every evening. Seven days. For about, what, two years? [crosstalk 00:00:49]",
            13,
            43.0,
            None,
        ),
        Sample(
            8,
            "I had to drop to four days. My manager was good about it, but the money, you "
            "feel it.\nI also stopped doing the overtime, and in my job the overtime is "
            "where the [inaudible 00:01:19] is.",
            25,
            65.0,
            None,
        ),
        Sample(13, "Thank you, Gergő. That's a good place to stop.", 42, 3735.0, None),
    ),
    roster_moderator=ZK,
    encoding="utf-8-sig",
    source_encoding="utf-8-sig",
)

# --- Rev.com .docx: title and export note, "Name (mm:ss):" + line break + text. ----------
DK, ES = "Dr. Kovács", "Enikő Szőke"
REV_DOCX = Case(
    "rev_export.docx",
    speakers=(UNKNOWN, *(DK, ES) * 7),
    starts=(None, 0, 7, 16, 18, 27, 30, 47, 49, 58, 61, 72, 76, 79, 81),
    samples=(
        Sample(
            0,
            "Night shifts interview 04\nThis transcript was exported on Mar 12, 2024 - "
            "view latest version here.",
            1,
            None,
            None,
        ),
        Sample(
            1,
            "Thank you for doing this after a night shift. How long have you been working nights?",
            3,
            0.0,
            None,
        ),
        Sample(
            6,
            "Handover at quarter to eight, then meds, then the first round.\nBetween two "
            "and four it's quieter, that's when we do the paperwork, if nobody falls.",
            8,
            30.0,
            None,
        ),
        Sample(
            12,
            "They put a microwave in the staff room. [crosstalk 00:01:19] I'm serious.",
            15,
            76.0,
            None,
        ),
    ),
    roster_moderator=DK,
    warnings=("rev_export.docx:1: text before the first speaker label",),
)

# --- Descript plain-text export: "[hh:mm:ss] Name: text". ---------------------------------
IVH = "Ildikó Varga-Horváth"
DESCRIPT = Case(
    "descript_export.txt",
    speakers=(ZK, ZK, BT, IVH, HO, ZK, BT, IVH, HO, ZK, IVH, BT, HO, ZK),
    starts=(0, 7, 13, 19, 26, 33, 36, 41, 49, 56, 59, 67, 75, 82),
    samples=(
        Sample(
            0,
            "Hi everyone, and welcome to the third group conversation about volunteering "
            "in the district.",
            1,
            0.0,
            None,
        ),
        Sample(
            7, "My mother was in that home. After she died I just... kept going.", 15, 41.0, None
        ),
        Sample(
            8,
            "Honestly, I saw a post on the neighbourhood group and thought: why not?",
            17,
            49.0,
            None,
        ),
        Sample(
            12,
            "Seeing the park clean for, like, a day. (laughs) Then it's back to normal.",
            25,
            75.0,
            None,
        ),
    ),
    roster_moderator=ZK,
)

# --- Subtitles of a filmed consultation: "NAME:" starts a speaker, other cues continue. ---
SRT = Case(
    "consultation_captions.srt",
    speakers=(
        "MODERATOR",
        "DR. KOVÁCS",
        "MODERATOR",
        "GERGŐ",
        "DR. KOVÁCS",
        "ENIKŐ SZŐKE",
        "DR. KOVÁCS",
        "ENIKŐ SZŐKE",
        "MODERATOR",
        "HANNAH O'BRIEN",
        "DR. KOVÁCS",
        "MODERATOR",
    ),
    starts=(1.0, 8.5, 17.2, 20.5, 25.3, 31.8, 36.0, 41.0, 45.9, 50.3, 55.6, 61.4),
    samples=(
        Sample(
            0,
            "Good evening, and welcome to the consultation on the new tram line. We'll "
            "hear from the council first, then open it up to questions.",
            3,
            1.0,
            7.9,
        ),
        Sample(
            1,
            "Thank you. The line will run from the station to the hospital. Construction "
            "starts next spring and should take eighteen months.",
            13,
            8.5,
            16.0,
        ),
        Sample(4, "The 9 and the 41 will be diverted along the river. (murmuring)", 33, 25.3, 31.1),
        Sample(7, '"Most of them" is not a number. (laughter)', 52, 41.0, 45.2),
        Sample(
            9,
            "Will there be step-free access at every stop? My mother uses a wheelchair.",
            66,
            50.3,
            55.1,
        ),
    ),
    moderators=("MODERATOR",),
)

# --- f4transkript/NVivo interview: "I:"/"R:", #hh:mm:ss-d# marks; UTF-16 LE BOM, CRLF. ---
F4 = Case(
    "f4_interview_utf16.txt",
    speakers=("I", "R") * 8 + ("I",),
    starts=(None,) * 17,
    samples=(
        Sample(
            0,
            "Thanks for making time for this. Could you start by telling me how you got "
            "involved with the garden? #00:00:07-4#",
            1,
            None,
            None,
        ),
        Sample(
            3,
            "(laughs) Mostly carried compost. Bags and bags of it. But people talked to "
            "me, which, in a new place, is everything. #00:00:41-6#",
            7,
            None,
            None,
        ),
        Sample(15, "(pause) It's where I stopped being new here. #00:02:11-5#", 31, None, None),
    ),
    moderators=("I",),
    encoding="utf-16",
    source_encoding="utf-16",
)

# --- Word "Save as plain text" in Windows-1252: smart quotes, dashes, €, è, û; CRLF -------
CP1252 = Case(
    "cafe_interview_cp1252.txt",
    speakers=("Interviewer", "Respondent") * 5,
    starts=(None,) * 10,
    samples=(
        Sample(
            1,
            "Eleven years in May. We opened in 2013 – my wife’s idea, originally. I was "
            "the “sensible one” who said it would never work.",
            3,
        ),
        Sample(
            3,
            "Honestly? The rent. The unit was cheap because nobody wanted it… a former "
            "betting shop, no windows at the back.",
            7,
        ),
        Sample(
            5,
            "Completely. Back then it was a bakery, a pharmacy and us. Now there are four "
            "coffee places within two hundred metres.\nMy regulars say, “Tamás, don’t "
            "change anything.” So I don’t.",
            11,
        ),
        Sample(9, "Don’t. (laughs) No – do it, but have a ‘plan B’ for the first winter.", 20),
    ),
    moderators=("Interviewer",),
    warnings=("cafe_interview_cp1252.txt: not UTF-8",),
    encoding=SKIP,  # type: ignore[arg-type]  # the detector's name for it varies
    source_encoding="cp1252",
)

# --- Hungarian focus group in ISO-8859-2 (ő, ű); "M:" is the moderator. -----------------
NG, SZE, FO = "Nagy Gergő", "Szőke Enikő", "Fűzfa Ödön"
LATIN2 = Case(
    "fokuszcsoport_latin2.txt",
    speakers=("M", NG, SZE, "M", FO, NG, SZE, "M", FO, SZE, "M"),
    starts=(None,) * 11,
    samples=(
        Sample(
            1,
            "Kezdem én. Minden nap busszal járok dolgozni, a 7-essel, és őszintén szólva "
            "elég kiszámíthatatlan.",
            3,
        ),
        Sample(
            5,
            "Igen, ez így van.\nSzerintem: a kiszámíthatóság a legfontosabb. Ha tudom, "
            "hogy késik, alkalmazkodom.",
            11,
        ),
        Sample(6, "Télen a fűtés is. Vagy túlfűtött a kocsi, vagy jéghideg, középút nincs.", 14),
        Sample(9, "Tűrhető lenne, ha legalább a kijelzők működnének az Üllői úton.", 20),
    ),
    moderators=("M",),
    warnings=("fokuszcsoport_latin2.txt: not UTF-8",),
    encoding=SKIP,  # type: ignore[arg-type]
    source_encoding="iso-8859-2",
)

# --- Typed focus-group transcript: MODERATOR, P1..P5, verbatim notation. -----------------
MOD = "MODERATOR"
NOTES = Case(
    "school_meals_notes.txt",
    speakers=(
        MOD,
        "P1",
        "P2",
        "P3",
        MOD,
        "P4",
        MOD,
        "P5",
        "P2",
        "P1",
        MOD,
        "P3",
        "P4",
        "P2",
        "P5",
        "P1",
        MOD,
    ),
    starts=(None,) * 17,
    samples=(
        Sample(
            3,
            "I'll be the positive one. [laughter] My daughter has a dairy allergy and the "
            "kitchen has been brilliant about it.\nThey even phoned me before the first week "
            "to go through the menu.",
            7,
            None,
            None,
        ),
        Sample(7, "Sorry, sorry. Parking. [inaudible] ... anyway, I'm here.", 19),
        Sample(
            8,
            "Can I say something about the price? It went from 2.40 to 2.95 in one year."
            "\nCost: that's the big one for us. We have three kids in the school.",
            21,
        ),
        Sample(
            12, "A longer lunch break. They get twenty minutes, and half of that is queuing—", 30
        ),
        Sample(13, "—and then they're told to hurry up.", 32),
    ),
    moderators=(MOD,),
)

# --- Markdown with YAML front matter and **bold** labels (colon inside or outside). -----
MARKDOWN = Case(
    "renting_focus_group.md",
    speakers=(
        UNKNOWN,
        DK,
        "P1",
        "P2",
        "P3",
        DK,
        "P1",
        "P3",
        "P2",
        DK,
        "P2",
        "P1",
        "P3",
        DK,
        "P3",
        DK,
    ),
    starts=(None,) * 16,
    samples=(
        Sample(0, "# Renting in the city — focus group 2", 10, None, None),
        Sample(
            1,
            "Thank you for coming. Let's start with an easy one: how long have you been renting?",
            12,
        ),
        Sample(3, "Since university, so... twelve years? *(laughs)* That's depressing.", 16),
        Sample(4, "Three years. Before that I lived with my parents in Győr.", 18),
        Sample(
            10,
            "Utilities. The gas bill last winter was more than my rent in January.\n> I "
            "kept the heating at 18 degrees and it was still 60,000 forints.",
            30,
        ),
        Sample(13, "*[to P3]* Did you ask the landlord about the chair?", 38),
        Sample(14, 'Twice. He said: "It\'s vintage."', 40),
    ),
    roster_moderator=DK,
    warnings=("renting_focus_group.md:10: text before the first speaker label",),
    body_from=9,
)

# --- Word table: Speaker | Timestamp | Transcript, under a title paragraph. --------------
INT = "Interviewer"
TABLE = Case(
    "remote_learning_table.docx",
    speakers=(INT, ZK, INT, ZK, ZK, INT, ZK, INT, ZK, INT),
    starts=(2, 9, 18, 21, 35, 39, 44, 55, 58, 68),
    samples=(
        Sample(
            1,
            "Chaos, mostly. Two kids, one laptop, and my own job on the kitchen table.",
            3,
            9.0,
            None,
        ),
        Sample(
            3,
            "The older one had it mornings, for the live lessons.\nThe little one did "
            "worksheets, which I printed at work, secretly.",
            5,
            21.0,
            None,
        ),
        Sample(4, "(laughs) Don't put that in the report.", 6, 35.0, None),
        Sample(9, "Thank you, that's really helpful.", 11, 68.0, None),
    ),
    moderators=(INT,),
    warnings=("remote_learning_table.docx: both paragraphs and a speaker table found",),
)

# --- CSV export: Speaker, Start Time, End Time, Text; quoted commas, quotes, a newline. ---
CSV = Case(
    "museum_focus_group.csv",
    speakers=(ZK, BT, HO, ZK, GN, BT, GN, HO, ZK, BT, ZK),
    starts=(1.2, 7.4, 12.6, 20.01, 23.1, 35.3, 37.5, 42.4, 49.8, 55.9, 63.05),
    samples=(
        Sample(
            1,
            "I'll start. Price, mostly. It's 4,500 forints for an adult, that's a family lunch.",
            3,
            7.4,
            12.01,
        ),
        Sample(
            4,
            "I do, with the annual pass.\nI go on Thursday evenings, when it's open late, "
            "and it's almost empty.",
            6,
            23.1,
            34.72,
        ),
        Sample(5, "I didn't know it was open late.", 8, 35.3, 37.05),
        Sample(10, "Great, thank you.", 13, 63.05, 65.0),
    ),
    roster_moderator=ZK,
)

# --- Excel: Start, End, Speaker, Text; a row without speaker; Excel leaves out row 7. ---
XLSX = Case(
    "football_coach_interview.xlsx",
    speakers=(INT, GN, INT, GN, GN, INT, GN, INT, GN, INT),
    starts=(0.0, 5.9, 14.0, 19.1, 32.3, 38.2, 43.3, 55.9, 60.6, 73.0),
    samples=(
        Sample(0, "So how long have you been coaching at the club?", 2, 0.0, 5.4),
        Sample(4, "Except on match days, when they think they're the coach.", 6, 32.3, 37.0),
        Sample(5, "How do you handle that?", 8, 38.2, 42.75),
        Sample(
            6,
            "We have a rule: parents stand on the far side of the pitch. It halved the shouting.",
            9,
            43.3,
            55.1,
        ),
    ),
    moderators=(INT,),
)

# --- Excel "CSV UTF-8" in a European locale: ";" separator, BOM, CRLF, decimal commas. --
FAC, DOR, MKI, LHS = "Facilitator", "Dorina", "Máté Kiss", "Lili Horváth-Szabó"
EU_CSV = Case(
    "youth_club_excel_eu.csv",
    speakers=(FAC, DOR, MKI, FAC, DOR, MKI, LHS, FAC, LHS, FAC),
    starts=(0.0, 7.1, 13.3, 19.6, 23.0, 32.1, 36.4, 44.6, 47.8, 54.0),
    samples=(
        Sample(
            0,
            "Welcome to the youth club session. Tonight: what would you change about the club?",
            2,
            0.0,
            6.4,
        ),
        Sample(1, "The opening hours; we can't come before five because of school.", 3, 7.1, 12.85),
        Sample(
            6,
            "Can I add something? The toilets. Honestly, the toilets need fixing.",
            8,
            36.4,
            44.05,
        ),
        Sample(9, "Thank you, everyone.", 11, 54.0, 56.75),
    ),
    moderators=(FAC,),
    encoding="utf-8-sig",
)

CASES = (
    ZOOM,
    ZOOM_NAMES,
    TEAMS_VTT,
    TEAMS_DOCX,
    OTTER,
    REV_TXT,
    REV_DOCX,
    DESCRIPT,
    SRT,
    F4,
    CP1252,
    LATIN2,
    NOTES,
    MARKDOWN,
    TABLE,
    CSV,
    EU_CSV,
    XLSX,
)
LINE_FORMATS = (".txt", ".md", ".docx")


def cases(test: str, only: tuple[Case, ...] = CASES):
    """One param per case."""
    return [pytest.param(case, id=case.file) for case in only]


@functools.cache
def read(name: str) -> tuple[qc.Transcript, tuple[str, ...]]:
    """The transcript and the QualcodeWarning messages emitted while reading it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        transcript = qc.read_transcript(DATA / name)
    return transcript, tuple(
        str(w.message) for w in caught if issubclass(w.category, qc.QualcodeWarning)
    )


def source_lines(case: Case) -> list[tuple[int, str]]:
    """(line number, text) of the file, decoded by the test itself (paragraphs for .docx)."""
    path = DATA / case.file
    if path.suffix == ".docx":
        from docx import Document

        return [
            (number, part)
            for number, paragraph in enumerate(Document(str(path)).paragraphs, start=1)
            for part in paragraph.text.split("\n")
        ]
    text = path.read_bytes().decode(case.source_encoding or "utf-8").lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").split("\n")
    return list(enumerate(lines, start=1))[case.body_from - 1 :]


# --- tests for every file ---------------------------------------------------------------


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.name for p in DATA.iterdir() if p.name != "teams_legacy.docx") == sorted(
        case.file for case in CASES
    )


@pytest.mark.parametrize("case", cases("test_speaker_of_every_turn"))
def test_speaker_of_every_turn(case: Case) -> None:
    transcript, _ = read(case.file)
    assert transcript.id == Path(case.file).stem
    assert [turn.speaker for turn in transcript.turns] == list(case.speakers)
    assert [turn.index for turn in transcript.turns] == list(range(len(case.speakers)))
    # without a roster the speaker is the label as written
    assert [turn.label for turn in transcript.turns] == list(case.speakers)
    assert transcript.speakers == list(dict.fromkeys(case.speakers))


@pytest.mark.parametrize("case", cases("test_roles_from_labels"))
def test_roles_from_labels(case: Case) -> None:
    transcript, _ = read(case.file)
    for turn in transcript.turns:
        expected = "moderator" if turn.speaker in case.moderators else "participant"
        assert turn.role == expected, (turn.index, turn.speaker)
    if case.moderators:
        assert any(turn.role == "moderator" for turn in transcript.turns)


@pytest.mark.parametrize(
    "case",
    cases("test_roster_gives_the_moderator_role", tuple(c for c in CASES if c.roster_moderator)),
)
def test_roster_gives_the_moderator_role(case: Case) -> None:
    others = [s for s in dict.fromkeys(case.speakers) if s not in (case.roster_moderator, UNKNOWN)]
    roster = Roster(
        (
            RosterEntry(case.roster_moderator, "moderator"),
            *(RosterEntry(name, "participant") for name in others),
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", qc.QualcodeWarning)  # every label is in the roster
        warnings.filterwarnings("ignore", ".*text before the first", qc.QualcodeWarning)
        transcript = qc.read_transcript(DATA / case.file, roster)
    roles = [(turn.speaker, turn.role) for turn in transcript.turns]
    assert roles == [
        (s, "moderator" if s == case.roster_moderator else "participant") for s in case.speakers
    ]


@pytest.mark.parametrize("case", cases("test_sample_turns"))
def test_sample_turns(case: Case) -> None:
    transcript, _ = read(case.file)
    for sample in case.samples:
        turn = transcript.turns[sample.index]
        assert turn.text == sample.text, sample.index
        assert turn.line == sample.line, sample.index
        if sample.start is not SKIP:
            assert turn.start == (
                pytest.approx(sample.start) if sample.start is not None else None
            ), sample.index
        if sample.end is not SKIP:
            assert turn.end == (pytest.approx(sample.end) if sample.end is not None else None), (
                sample.index
            )


@pytest.mark.parametrize(
    "case", cases("test_start_times", tuple(c for c in CASES if c.starts is not None))
)
def test_start_times(case: Case) -> None:
    transcript, _ = read(case.file)
    starts = [turn.start for turn in transcript.turns]
    assert len(starts) == len(case.starts)
    for index, (got, expected) in enumerate(zip(starts, case.starts)):
        if expected is None:
            assert got is None, index
        else:
            assert got == pytest.approx(expected), index


@pytest.mark.parametrize("case", cases("test_warnings_and_encoding"))
def test_warnings_and_encoding(case: Case) -> None:
    transcript, messages = read(case.file)
    assert len(messages) == len(case.warnings), messages
    for message, fragment in zip(messages, case.warnings):
        assert message.startswith(fragment), message
        assert " — " in message  # every warning says how to fix it
    if case.encoding is not SKIP:
        assert transcript.encoding == case.encoding


@pytest.mark.parametrize(
    "case",
    cases(
        "test_every_source_line_is_kept",
        tuple(c for c in CASES if Path(c.file).suffix in LINE_FORMATS and c is not TABLE),
    ),
)
def test_every_source_line_is_kept(case: Case) -> None:
    """Walk the source: each non-blank line is a label line, or its text is the next line of
    the turns' text (a label line's rest of line is a suffix of it). Nothing lost or added."""
    transcript, _ = read(case.file)
    pieces = [line for turn in transcript.turns for line in turn.text.split("\n")]
    assert all(piece.strip() for piece in pieces)  # blank lines are not kept
    assert not any("\r" in piece for piece in pieces)  # line ends are normalised
    starts = {turn.line for turn in transcript.turns}
    position = 0
    for number, text in source_lines(case):
        stripped = text.strip()
        if not stripped:
            continue
        if position < len(pieces) and stripped.endswith(pieces[position]):
            position += 1
            continue
        # a label with no text after it: "Name  0:03", "Name (00:03):", "Name   0:03"
        assert number in starts and re.search(r"(:|\d:\d\d)$", stripped), (number, stripped)
    assert position == len(pieces)


# --- format-specific checks -------------------------------------------------------------


def test_markdown_front_matter_is_metadata() -> None:
    transcript, _ = read("renting_focus_group.md")
    assert transcript.metadata == {
        "title": "Renting in the city, focus group 2",
        "date": "2024-04-18",
        "group": "FG2",
        "site": "Budapest",
        "moderator": "Dr. Kovács",
        "note_taker": "Hannah O'Brien",
    }
    assert transcript.group == "FG2"
    assert not any("title:" in turn.text for turn in transcript.turns)


def test_rev_docx_page_header_and_footer_are_not_turns() -> None:
    transcript, _ = read("rev_export.docx")
    text = "\n".join(turn.text for turn in transcript.turns)
    assert "Transcript by Rev.com" not in text
    assert "Page 1 of 2" not in text
    assert "(Completed" not in text


@pytest.mark.parametrize("name", ["cafe_interview_cp1252.txt", "fokuszcsoport_latin2.txt"])
def test_fallback_encoding_warns(name: str) -> None:
    with pytest.warns(qc.QualcodeWarning, match=rf"^{re.escape(name)}: not UTF-8; read as "):
        transcript = qc.read_transcript(DATA / name)
    assert transcript.encoding not in ("utf-8", "utf-8-sig")


def test_cp1252_letters_that_cp1250_lacks() -> None:
    transcript, _ = read("cafe_interview_cp1252.txt")
    turn = transcript.turns[7]
    assert (turn.speaker, turn.line) == ("Respondent", 16)
    assert turn.text == (
        "A flat white was €2.20 when we opened. It’s €3.40 now, and I’m still losing money on "
        "milk. The crème brûlée is the only thing that pays."
    )


@pytest.mark.parametrize("name", ["f4_interview_utf16.txt", "rev_export.txt"])
def test_unicode_with_bom_reads_without_warning(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", qc.QualcodeWarning)
        transcript = qc.read_transcript(DATA / name)
    assert not transcript.turns[0].label.startswith("\ufeff")
    assert all("\ufeff" not in turn.text for turn in transcript.turns)


def test_zoom_capitalised_display_names_are_speakers() -> None:
    """The part of zoom_display_names.vtt the reader does handle: pronouns, capitals."""
    transcript, _ = read("zoom_display_names.vtt")
    turns = {label: [t for t in transcript.turns if t.label == label] for label in (ESP, DM)}
    assert [(t.text, t.start, t.end, t.line) for t in turns[ESP]] == [
        ("Hi, I can hear you.", 13.3, 15.1, 17),
        ("Twice a week, and I bring the kids on Saturdays.", 44.0, 48.64, 37),
    ]
    assert [(t.start, t.line) for t in turns[DM]] == [(23.1, 25), (61.0, 49)]
    assert turns[DM][0].text.startswith(
        "Most days, to be honest. I'm retired, so the garden is basically my office now."
    )


def test_csv_doubled_quotes_stay_in_the_text() -> None:
    transcript, _ = read("museum_focus_group.csv")
    turn = transcript.turns[2]
    assert (turn.speaker, turn.line) == (HO, 4)
    assert turn.text == (
        'For me it\'s the "quiet please" atmosphere. My kids are loud, I feel watched.'
    )
    assert (turn.start, turn.end) == (pytest.approx(12.6), pytest.approx(19.33))


def test_teams_legacy_docx() -> None:
    transcript = qc.read_transcript(DATA / "teams_legacy.docx")
    assert transcript.speakers == [
        "Kovács, Zsófia",
        "Nagy, Gergő",
        "O'Brien, Hannah",
        "Tóth, Bence",
    ]
    first = transcript.turns[0]
    assert (first.speaker, first.text, first.start) == (
        "Kovács, Zsófia",
        "OK, good morning everyone, I think we can start.",
        0.0,
    )
    loaves = [turn for turn in transcript.turns if "Forty loaves last week." in turn.text]
    assert [turn.speaker for turn in loaves] == ["Kovács, Zsófia"]
    assert all("-->" not in turn.text for turn in transcript.turns)
