"""Properties of the reader on arbitrary input (hypothesis)."""

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.seed.problems import SeedError
from service.seed.read import parse_seed

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Lines built from the format's own pieces, so that headers, tags, furniture and
# release times actually occur, mixed with arbitrary text.
PIECES = st.sampled_from([
    "", " ", "|", "｜", " | ", "Release time:", "发布时间：", "Apr 14, 2024 03:24 AM",
    "2024-04-14", "!", "?", "。", "【", "[", "---", "\t", "\u3000", "\u202e", "\x00", "\x0b",
    "Navy", "Chinese Fleet", "The fleet has arrived!", "\ufeff", "\r", "\x85",
])
LINE = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=8).map("".join)
DOCUMENT = st.lists(LINE, max_size=30).map(lambda lines: "\n".join(lines))


INVISIBLE = set("\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


def outcome(data: bytes):
    """Articles and warnings, or the error: everything the reader says about data."""
    try:
        seed = parse_seed(data, "any.txt")
    except SeedError as exc:
        return ("error", str(exc))
    return ("ok", seed.articles, seed.warnings)


def assert_clean(result):
    if result[0] == "error":
        return
    for article in result[1]:
        for text in (article.title, *article.tags):
            assert text, "empty headline or tag"
            assert text == text.strip(), f"surrounding space in {text!r}"
            assert not any(unicodedata.category(c) == "Cc" or c in INVISIBLE for c in text), (
                f"control or invisible character in {text!r}")
            assert "  " not in text, f"double space in {text!r}"


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_articles_or_a_seed_error_deterministically(data):
    first = outcome(data)
    assert outcome(data) == first
    assert_clean(first)


@SETTINGS
@given(st.text(max_size=1000))
def test_arbitrary_text_gives_articles_or_a_seed_error_deterministically(text):
    data = text.encode("utf-8", "surrogatepass")
    first = outcome(data)
    assert outcome(data) == first
    assert_clean(first)


@SETTINGS
@given(DOCUMENT)
def test_format_shaped_text_gives_clean_headlines_and_tags(text):
    result = outcome(text.encode("utf-8"))
    assert outcome(text.encode("utf-8")) == result
    assert_clean(result)


@SETTINGS
@given(DOCUMENT, st.sampled_from(["utf-8", "utf-16", "gb18030"]))
def test_every_encoding_of_the_same_text_is_read_without_crashing(text, codec):
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return
    assert_clean(outcome(data))
