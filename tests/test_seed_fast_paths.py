"""The reader's fast paths give exactly what the general way gives (hypothesis).

Each speed-up in the reader is a shortcut for a common case beside the general code
it stands for: these properties run both on arbitrary and on format-shaped input.
"""

import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.seed import decoding
from service.seed.decoding import BinaryFile
from service.seed.header import split_header_with
from service.seed.text import clean, summary_of

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PIECES = st.sampled_from([
    "", " ", "  ", "|", "｜", " | ", "!", "?", ".", "。", "！", "\t", "\u3000", "\xa0",
    "\u200b", "\x0b", "\r", "\r\n", "\n", "\n\n", "é", "e\u0301", "Å", "\u2000", "中文",
    "—", "“q”", "\ufeff", "\ufffd", "\x85", "\uffff", "Ｆｅｒｒｙ", "Navy", "Chinese Fleet",
    "Release time:", "Apr 14, 2024 03:24 AM", "ferry", "harbour news",
])
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=40).map("".join)


def both_ways(data: bytes, monkeypatch) -> tuple[object, object]:
    def outcome():
        try:
            return decoding.decode(data)
        except BinaryFile as exc:
            return ("binary", str(exc), exc.line)
    fast = outcome()
    with monkeypatch.context() as patch:
        patch.setattr(decoding, "_plain_utf8", lambda _data: None)
        return fast, outcome()


@SETTINGS
@given(st.one_of(TEXT, st.text(max_size=300)))
def test_utf8_decoding_takes_the_fast_path_to_the_same_text(monkeypatch, text):
    data = text.encode("utf-8", "surrogatepass")
    fast, general = both_ways(data, monkeypatch)
    if isinstance(fast, tuple):
        assert fast == general
        return
    assert (fast.text, fast.encoding, fast.notes) == (general.text, general.encoding,
                                                      general.notes)
    assert not fast.printable or all(line.isprintable() for line in fast.text.split("\n"))
    assert unicodedata.is_normalized("NFC", fast.text)


HEADER = st.lists(st.one_of(PIECES, st.sampled_from(["Sea", "Port", "the ferry", "Go! Now"]),
                            st.text(max_size=8)), min_size=1, max_size=12).map("".join)


@SETTINGS
@given(HEADER)
def test_a_plain_header_splits_the_same_by_the_short_way(header):
    header = header.replace("\n", " ").replace("\r", " ")
    if "  " in header or not header.isprintable():
        header = clean(header)  # single spaces, and most often printable
    assume(header.isprintable())
    assert split_header_with(header, True) == split_header_with(header, False)


@SETTINGS
@given(TEXT, st.integers(min_value=0, max_value=400))
def test_the_summary_of_printable_text_is_the_same_by_the_short_way(text, padding):
    paragraph = clean(text.replace("\n", " ")) + " word" * (padding // 5)
    assume(paragraph.isprintable())  # (clean() keeps unassigned characters, for one)
    assert summary_of([paragraph], True) == summary_of([paragraph], False)


@pytest.mark.parametrize("paragraphs", [[], [""], ["x" * 400], ["a " * 200], ["中文" * 200]])
def test_the_summary_edge_cases_agree_both_ways(paragraphs):
    assert summary_of(paragraphs, True) == summary_of(paragraphs, False)
