"""Every supported encoding reads to the same articles; invalid bytes never crash."""

import codecs
import unicodedata

import pytest

from service.seed import decoding
from service.seed.read import parse_seed

CHINESE = ("渡轮今天恢复运营！交通｜港口｜城市\n渡轮今天恢复运营！交通｜港口｜城市\n\n"
           "发布时间：2024年4月14日 03:24\n\n"
           "今天上午，连接老港区和河滨区的第一艘电动渡轮正式启航，全程仅需十二分钟。"
           "市交通局表示，工作日每十五分钟一班，周末每半小时一班。\n\n"
           "“我们希望这条河重新成为一条路，”港务长说。\n")


def fields(seed):
    return [(a.id, a.title, a.tags, a.published, a.paragraphs) for a in seed.articles]


def read(data: bytes, name: str = "news.txt"):
    return parse_seed(data, name)


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("gb18030"),
    lambda t: t.encode("gbk"),
    lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
    lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    lambda t: t.encode("utf-16"),
    lambda t: t.replace("\n", "\r\n").encode("utf-8"),
], ids=["gb18030", "gbk", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-16", "crlf"])
def test_each_encoding_gives_the_same_articles_as_utf8(encode):
    expected = fields(read(CHINESE.encode("utf-8")))
    assert expected and expected[0][1] == "渡轮今天恢复运营！"
    assert fields(read(encode(CHINESE))) == expected


def test_gb18030_is_named_in_a_note():
    seed = read(CHINESE.encode("gb18030"))
    assert seed.encoding == "gb18030"
    assert any("gb18030" in w.message for w in seed.warnings)


def test_short_gbk_text_is_read_as_gb18030_not_big5():
    seed = read("新闻 | 港口\n新闻 | 港口\n\n你好\n".encode("gbk"))
    assert seed.encoding == "gb18030"
    assert seed.articles[0].paragraphs == ("你好",)


def test_utf16_without_bom_is_recognised_by_its_nul_pattern():
    text = "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\nThe ferry is back.\n"
    for codec in ("utf-16-le", "utf-16-be"):
        assert [a.title for a in read(text.encode(codec)).articles] == ["Ferry news!"]


def test_a_few_invalid_bytes_become_replacement_characters_with_a_warning_naming_the_line():
    data = "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\nCafé ok.\n\nBad \xff byte.\n"
    seed = read(data.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    assert seed.articles[0].paragraphs == ("Café ok.", "Bad \ufffd byte.")
    assert [(w.line, "U+FFFD" in w.message) for w in seed.warnings] == [(6, True)]


def test_a_utf8_file_cut_inside_a_character_still_publishes():
    data = "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\n渡轮恢复运营".encode()[:-2]
    seed = read(data)
    assert seed.articles[0].title == "Ferry news!"
    assert seed.articles[0].paragraphs[0].startswith("渡轮恢复")


def test_text_is_normalised_to_nfc():
    decomposed = "Cafe\u0301 opens! Food | City\nCafe\u0301 opens! Food | City\n\nBody.\n"
    assert read(decomposed.encode()).articles[0].title == "Café opens!"


def test_the_plain_characters_of_the_fast_path_cannot_change_under_nfc_or_cleaning():
    """Every character the UTF-8 fast path lets through unexamined must be one that the
    general path would neither strip nor replace, and that passes the NFC quick check
    in any context: combining class 0, its own NFC, and never the second character of
    a canonical composition (the quick check's "maybe"), checked against the whole
    Unicode database of the running Python."""
    seconds = {0x1161 + i for i in range(21)} | {0x11A8 + i for i in range(27)}  # Hangul V, T
    for cp in range(0x110000):
        mapping = unicodedata.decomposition(chr(cp))
        if mapping and not mapping.startswith("<") and len(parts := mapping.split()) == 2:
            seconds.add(int(parts[1], 16))
    plain = [chr(cp) for cp in range(128) if cp not in decoding._C0_ILLEGAL]
    for first, last in decoding.PLAIN_NON_ASCII_RANGES:
        plain += [chr(cp) for cp in range(ord(first), ord(last) + 1)]
    for char in plain:
        assert unicodedata.combining(char) == 0, hex(ord(char))
        assert unicodedata.normalize("NFC", char) == char, hex(ord(char))
        assert ord(char) not in seconds, hex(ord(char))
        assert not decoding._ILLEGAL.match(char) and char != "\ufffd", hex(ord(char))
    assert unicodedata.is_normalized("NFC", "".join(plain))


@pytest.mark.parametrize("text", [
    "Cafe\u0301 opens! Food | City\n\nBody.\n",  # a combining mark: normalised
    "Plain! A | B\n\nBody \u2000 with an em quad.\n",  # a singleton decomposition
    "Plain! A | B\n\nControl \x01 and C1 \x85 and \ufeff mid-text.\n",
    "Plain! A | B\n\nA literal \ufffd replacement character.\n",
    "Plain! A | B\n\nNon-character \uffff and private \ue000.\n",
    "Plain! A | B\r\n\r\nCRLF \u4e2d\u6587\r\nline ends.\r\n",
    "\ufeffPlain! A | B\n\nBody.\n",
])
def test_the_utf8_fast_path_gives_what_the_general_path_gives(text, monkeypatch):
    data = text.encode("utf-8")
    fast = decoding.decode(data)
    monkeypatch.setattr(decoding, "_plain_utf8", lambda _data: None)  # the general path
    general = decoding.decode(data)
    assert (fast.text, fast.encoding, fast.notes) == (general.text, general.encoding,
                                                      general.notes)
    # "printable" is a promise the reader relies on: it must never be wrong.
    assert not fast.printable or all(line.isprintable() for line in fast.text.split("\n"))


@pytest.mark.parametrize(("text", "printable"), [
    ("Plain! A | B\n\nBody — “quoted” 中文, café.\n", True),
    ("Plain! A | B\r\n\r\nCRLF.\r\n", True),
    ("Plain! A | B\n\nA\ttab.\n", False),
    ("Plain! A | B\n\nA no-break\xa0space.\n", False),
    ("Plain! A | B\n\nAn ideographic\u3000space.\n", False),
    ("Plain! A | B\n\nA line\u2028separator.\n", False),
])
def test_decode_says_printable_only_when_every_line_is(text, printable):
    decoded = decoding.decode(text.encode("utf-8"))
    assert decoded.printable is printable
    assert all(line.isprintable() for line in decoded.text.split("\n")) is printable
