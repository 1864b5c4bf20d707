"""Bytes to clean text: detect the encoding, never crash on any byte sequence.

The cascade is BOM, then strict UTF-8, then BOM-less UTF-16 by its NUL pattern,
then the Chinese legacy encodings. Trying codecs until one "works" is wrong here:
GB18030 and Big5 decode each other's bytes without error, as mojibake, so the
choice between them is left to a detector restricted to those codecs.

The result is NFC text with ``\\n`` line ends and no character that XML 1.0
forbids (feedgen raises on them at render time, so one bad byte would break
every feed of its tags).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CJK_CODECS = ["gb18030", "cp950", "big5hkscs"]
# Below this many non-ASCII bytes the detector guesses Big5 for plain GBK text.
_DETECT_MIN_BYTES = 64
# Characters XML 1.0 forbids, plus C1 controls (mis-decoded cp1252, never meant).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_REPLACEMENT = "\ufffd"
_C0_ILLEGAL = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_NOT_C0_ILLEGAL = bytes(b for b in range(256) if b not in _C0_ILLEGAL)
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080..U+009F; a literal prefix is fast
_NONCHAR_UTF8 = re.compile(rb"\xef\xbf[\xbe\xbf]")  # U+FFFE, U+FFFF
_REPLACED = re.compile(_REPLACEMENT)
_NOT_TEXT = re.compile(_ILLEGAL.pattern[:-1] + _REPLACEMENT + "]")
# A decoded text with more than this share of replaced or control characters is binary.
BINARY_SHARE = 0.10
# More NUL bytes than this share (outside UTF-16) make a file binary, as do the zeroed
# blocks a crash can leave at the end of a file.
NUL_SHARE = 0.01
MAX_LINES_NAMED = 5

# The fast path (``_plain_utf8``). A BOM sends a file the general way; so do the NULs
# of BOM-less UTF-16 and UTF-32, as they are not among the plain ASCII bytes.
_BOM_LEADS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)
# The ASCII bytes that need no cleaning: printable, tab and line ends (not _C0_ILLEGAL).
_PLAIN_ASCII = bytes(b for b in range(128) if b not in _C0_ILLEGAL)
# Non-ASCII characters that need no cleaning and cannot make a text non-NFC: none is in
# ``_ILLEGAL`` or is U+FFFD, and each has canonical combining class 0, is its own NFC
# and is not the second character of any canonical composition, so a text of these and
# ASCII passes the NFC quick check (UAX #15). Latin, Greek, Cyrillic, general
# punctuation, CJK punctuation, kana, CJK ideographs, Hangul, full-width forms; any
# other character just takes the general path. tests/test_encodings.py proves each one
# against the running Python's Unicode database.
PLAIN_NON_ASCII_RANGES = (
    ("\u00a0", "\u02ff"), ("\u03a3", "\u0482"), ("\u0488", "\u052f"),
    ("\u2002", "\u2064"), ("\u3000", "\u3029"), ("\u3030", "\u303f"),
    ("\u3041", "\u3096"), ("\u309b", "\u30ff"), ("\u3220", "\ua48c"),
    ("\uac00", "\ud7a3"), ("\uff01", "\uffbe"),
)
# Matched whole (the complement class, searched, took twice as long to compile and run)
_ALL_PLAIN = re.compile("[" + "".join(f"{a}-{b}" for a, b in PLAIN_NON_ASCII_RANGES) + "]*")


class BinaryFile(ValueError):
    """The bytes are not text; ``line`` is where that shows first, if known."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.line = line


@dataclass(frozen=True)
class Decoded:
    """Clean text and what was done to get it: (line, message) notes."""

    text: str
    encoding: str
    notes: tuple[tuple[int | None, str], ...] = ()
    # True if every line is printable (``str.isprintable()``), known for free on the
    # fast path: the reader then skips that check per headline and summary. False
    # means unknown, not that some line is not.
    printable: bool = False


def decode(data: bytes) -> Decoded:
    """Decode seed-file bytes to clean NFC text; raise ``BinaryFile`` if not text."""
    plain = _plain_utf8(data)
    if plain is not None:
        return plain
    encoding, text = _decode(data)
    replaced = text.count(_REPLACEMENT)
    if encoding == "utf-8" and not replaced and _clean_utf8(data):
        controls = 0  # proven on the bytes, ten times faster than searching the text
    else:
        controls = len(_ILLEGAL.findall(text)) if _ILLEGAL.search(text) else 0
    bad_share = (replaced + controls) / max(len(text), 1)
    if bad_share > BINARY_SHARE and replaced + controls > 1:
        first = _first_line_matching(text, _NOT_TEXT)
        raise BinaryFile(f"binary data, not text ({bad_share:.0%} of the characters "
                         f"are not text in {encoding})", first)
    notes: list[tuple[int | None, str]] = []
    if replaced:
        lines = _lines_matching(text, _REPLACED)
        notes.append((lines[0], f"bytes that are not valid {encoding} replaced by U+FFFD "
                      f"on {_describe_lines(lines)}"))
    if controls:
        lines = _lines_matching(text, _ILLEGAL)
        text = _ILLEGAL.sub("", text)
        notes.append((lines[0], f"{controls} control character(s) removed on "
                      f"{_describe_lines(lines)}"))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if encoding not in {"utf-8", "ascii"}:
        notes.insert(0, (None, f"decoded as {encoding}"))
    return Decoded(text, encoding, tuple(notes))


def _plain_utf8(data: bytes) -> Decoded | None:
    """The common case decided on the bytes, or None for the general path in ``decode``.

    BOM-less UTF-8 whose every non-ASCII character is in ``PLAIN_NON_ASCII_RANGES``
    and whose ASCII has no control character but tab and line ends needs none of
    the general path's work: nothing to replace (no U+FFFD), no character to strip
    (``_ILLEGAL``), and it is already NFC. Proving that on the bytes costs one C
    pass (``translate``) plus a regex over the few non-ASCII characters, where the
    general path scans the whole text four times (U+FFFD count, two byte regexes,
    ``is_normalized``, the last alone three times the cost of the UTF-8 decode).
    """
    if data.startswith(_BOM_LEADS):
        return None  # a BOM (or the NULs of UTF-16/32) is for the general path
    # Deleting plain ASCII leaves the non-ASCII bytes and any ASCII control byte.
    rest = data.translate(None, _PLAIN_ASCII)
    others = ""
    if rest:
        try:
            # ASCII bytes never occur inside a multi-byte sequence, so this is the
            # text's non-ASCII characters in order (if the whole is valid UTF-8, which
            # the decode below checks); any ASCII control byte left is not plain.
            others = rest.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _ALL_PLAIN.fullmatch(others) is None:
            return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if b"\r" in data:  # (a byte search is faster than a search of the decoded text)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Of plain ASCII only the tab is not printable (line ends end lines).
    return Decoded(text, "utf-8", (), b"\t" not in data and others.isprintable())


def _decode(data: bytes) -> tuple[str, str]:
    """Choose the encoding and decode, replacing what does not decode."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, data[len(bom):].decode(codec, "replace")
    if b"\x00" in data:
        utf16 = _utf16_by_nul_pattern(data)
        if utf16 is not None:
            return utf16, data.decode(utf16, "replace")
        if data.count(0) > max(1, len(data) * NUL_SHARE):
            raise BinaryFile("binary data, not text (NUL bytes)",
                             data.count(b"\n", 0, data.index(b"\x00")) + 1)
        # A stray NUL in text is stripped below like any control character.
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    as_utf8 = data.decode("utf-8", "replace")
    invalid = as_utf8.count(_REPLACEMENT)
    valid_multibyte = len(as_utf8) - invalid - _ascii_count(data)
    if valid_multibyte >= 4 * invalid:
        return "utf-8", as_utf8  # UTF-8 with a few damaged bytes, not a legacy encoding
    try:
        as_gb = data.decode("gb18030")
    except UnicodeDecodeError:
        as_gb = None
    if as_gb is not None:
        if len(data) - _ascii_count(data) >= _DETECT_MIN_BYTES:
            # Imported here: only a legacy-encoded file needs it (15 ms at start-up).
            import charset_normalizer

            best = charset_normalizer.from_bytes(data, cp_isolation=_CJK_CODECS).best()
            if best is not None and best.encoding in {"cp950", "big5hkscs"}:
                return best.encoding, data.decode(best.encoding, "replace")
        return "gb18030", as_gb
    candidates = [("utf-8", as_utf8), ("gb18030", data.decode("gb18030", "replace"))]
    return min(candidates, key=lambda pair: pair[1].count(_REPLACEMENT))


def _clean_utf8(data: bytes) -> bool:
    """True if valid UTF-8 ``data`` holds none of the characters ``_ILLEGAL`` strips."""
    return (not data.translate(None, _NOT_C0_ILLEGAL) and _C1_UTF8.search(data) is None
            and _NONCHAR_UTF8.search(data) is None)


def _utf16_by_nul_pattern(data: bytes) -> str | None:
    """UTF-16 without BOM shows NULs on one byte parity (the high bytes of ASCII)."""
    sample = data[:65536]
    if len(sample) % 2:
        sample = sample[:-1]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = len(sample) // 2
    if odd >= 0.3 * pairs and even <= 0.02 * pairs:
        return "utf-16-le"
    if even >= 0.3 * pairs and odd <= 0.02 * pairs:
        return "utf-16-be"
    return None


def _ascii_count(data: bytes) -> int:
    return len(data) - len(data.translate(None, bytes(range(128))))


def _lines_matching(text: str, pattern: re.Pattern[str]) -> list[int]:
    lines: list[int] = []
    line, pos = 1, 0
    for match in pattern.finditer(text):
        line += text.count("\n", pos, match.start())
        pos = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


def _first_line_matching(text: str, pattern: re.Pattern[str]) -> int | None:
    match = pattern.search(text)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def _describe_lines(lines: list[int]) -> str:
    named = ", ".join(str(n) for n in lines[:MAX_LINES_NAMED])
    more = f" and {len(lines) - MAX_LINES_NAMED} more" if len(lines) > MAX_LINES_NAMED else ""
    return ("line " if len(lines) == 1 else "lines ") + named + more
