"""A news dump becomes articles (DESIGN section 1): where articles start, what is body."""

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from service.model import Article
from service.seed.read import parse_seed
from service.seed.text import is_printable

FERRY = "The ferry is back! Transport | Harbour"
LIBRARY = "Libraries reopen on Monday. Culture | City"


def parse(text: str, **options):
    return parse_seed(text.encode("utf-8"), "news.txt", **options)


def titles(text: str) -> list[str]:
    return [a.title for a in parse(text).articles]


def test_a_doubled_line_starts_an_article():
    text = f"{FERRY}\n{FERRY}\n\nFirst body.\n\n{LIBRARY}\n{LIBRARY}\n\nSecond body.\n"
    assert titles(text) == ["The ferry is back!", "Libraries reopen on Monday."]


def test_a_line_followed_by_a_release_time_starts_an_article():
    text = (f"{FERRY}\n\nRelease time:Apr 14, 2024 03:24 AM\n\nBody one.\n\n"
            f"{LIBRARY}\n\n\nRelease time:Apr 15, 2024 11:00 PM\n\nBody two.\n")
    articles = parse(text).articles
    assert [a.title for a in articles] == ["The ferry is back!", "Libraries reopen on Monday."]
    assert [a.published for a in articles] == [datetime(2024, 4, 14, 3, 24, tzinfo=UTC),
                                               datetime(2024, 4, 15, 23, 0, tzinfo=UTC)]


def test_the_first_non_blank_line_is_always_a_header():
    articles = parse(f"\n\n  {FERRY}\nBody line.\n").articles
    assert [(a.title, a.paragraphs) for a in articles] == [("The ferry is back!", ("Body line.",))]


def test_an_article_records_the_line_of_its_header():
    text = f"{FERRY}\n{FERRY}\n\nBody.\n\n{LIBRARY}\n{LIBRARY}\n\nBody.\n"
    assert [a.line for a in parse(text).articles] == [1, 6]


def test_paragraphs_are_separated_by_blank_lines_and_lines_rejoined():
    text = f"{FERRY}\n{FERRY}\n\nOne line\nwrapped here.\n\n  Second paragraph.  \n"
    assert parse(text).articles[0].paragraphs == ("One line wrapped here.", "Second paragraph.")


def test_chinese_lines_are_rejoined_without_a_space():
    text = f"{FERRY}\n{FERRY}\n\n渡轮今天\n恢复运营。\n"
    assert parse(text).articles[0].paragraphs == ("渡轮今天恢复运营。",)


def test_page_furniture_equal_to_the_header_is_dropped():
    text = f"{FERRY}\n{FERRY}\n\nPage one.\n\n{FERRY}\n\nPage two.\n\n{FERRY}\n\nPage three.\n"
    articles = parse(text).articles
    assert len(articles) == 1
    assert articles[0].paragraphs == ("Page one.", "Page two.", "Page three.")


def test_doubled_page_furniture_does_not_start_a_new_article():
    text = f"{FERRY}\n{FERRY}\n\nPage one.\n\n{FERRY}\n{FERRY}\n\nPage two.\n"
    assert [a.paragraphs for a in parse(text).articles] == [("Page one.", "Page two.")]


def test_credit_lines_with_a_bar_are_body_text():
    text = f"{FERRY}\n{FERRY}\n\nBody.\n\nEditor | Ada Brennan, Tomás Herrera\n\nCamera | Li Wei\n"
    articles = parse(text).articles
    assert len(articles) == 1
    assert articles[0].paragraphs[1:] == ("Editor | Ada Brennan, Tomás Herrera", "Camera | Li Wei")


def test_a_dangling_bracket_at_the_end_of_an_article_is_dropped():
    text = f"{FERRY}\n{FERRY}\n\nBody ends here. 【\n\n{LIBRARY}\n{LIBRARY}\n\nLast words [\n"
    assert [a.paragraphs[-1] for a in parse(text).articles] == ["Body ends here.", "Last words"]


def test_a_bracket_alone_in_the_last_paragraph_drops_the_paragraph():
    assert parse(f"{FERRY}\n{FERRY}\n\nBody.\n\n【\n").articles[0].paragraphs == ("Body.",)


def test_brackets_inside_an_article_are_kept():
    text = f"{FERRY}\n{FERRY}\n\nSee 【1】 and [2] and this [\n\nEnd.\n"
    assert parse(text).articles[0].paragraphs == ("See 【1】 and [2] and this [", "End.")


def test_release_time_accepts_full_width_colon_and_chinese_label():
    text = (f"{FERRY}\n\nRelease time：2024-04-14 03:24\n\nBody.\n\n"
            f"{LIBRARY}\n发布时间：2024年4月14日 05:00\n\nBody.\n")
    assert [a.published for a in parse(text).articles] == [
        datetime(2024, 4, 14, 3, 24, tzinfo=UTC), datetime(2024, 4, 14, 5, 0, tzinfo=UTC)]


def test_release_time_without_offset_is_in_the_configured_time_zone():
    shanghai = ZoneInfo("Asia/Shanghai")
    text = f"{FERRY}\nRelease time:Apr 14, 2024 03:24 AM\n\nBody.\n"
    published = parse(text, timezone=shanghai).articles[0].published
    assert published == datetime(2024, 4, 14, 3, 24, tzinfo=shanghai)
    assert published.utcoffset().total_seconds() == 8 * 3600


def test_release_time_with_an_offset_keeps_it():
    text = f"{FERRY}\nRelease time:2024-04-14T03:24:30+08:00\n\nBody.\n"
    assert parse(text).articles[0].published.isoformat() == "2024-04-14T03:24:30+08:00"


def test_an_unreadable_release_time_is_a_warning_naming_the_line():
    seed = parse(f"{FERRY}\n\nRelease time: next Tuesday\n\nBody.\n")
    assert seed.articles[0].published is None
    assert seed.articles[0].paragraphs == ("Body.",)
    assert [(w.line, w.severity) for w in seed.warnings] == [(3, "warning")]
    assert "next Tuesday" in seed.warnings[0].message


def test_an_article_without_release_time_has_no_date_yet():
    assert parse(f"{FERRY}\n{FERRY}\n\nBody.\n").articles[0].published is None


def test_summary_is_the_first_paragraph_shortened_on_a_word():
    long = "word " * 200
    summary = parse(f"{FERRY}\n{FERRY}\n\n{long}\n").articles[0].summary
    assert summary.endswith("…")
    assert len(summary) <= 280
    assert "  " not in summary


def test_windows_line_endings_read_like_unix_ones():
    text = f"{FERRY}\r\n{FERRY}\r\n\r\nBody.\r\n"
    assert parse(text).articles == parse(text.replace("\r\n", "\n")).articles


def test_a_header_without_body_is_published_with_a_warning():
    seed = parse(f"{FERRY}\n{FERRY}\n\n{LIBRARY}\n{LIBRARY}\n\nBody.\n")
    assert [len(a.paragraphs) for a in seed.articles] == [0, 1]
    assert any("no body" in w.message and w.line == 1 for w in seed.warnings)


def test_every_article_names_its_file():
    seed = parse_seed(f"{FERRY}\n{FERRY}\n\nBody.\n".encode(), "sub/news.txt")
    assert {a.source for a in seed.articles} == {"sub/news.txt"}


# --- the walk's fast path and the articles made in bulk (edge cases of the speed-ups) ---

def test_warnings_keep_the_order_of_the_file_when_articles_are_made_in_bulk():
    long_headline = "Long " * 120 + "news! Tag | Other"
    text = (f"{FERRY}\n\nRelease time:soon\n\nBody one.\n\n"  # unreadable time
            f"| A | B\n| A | B\n\nBody two.\n\n"  # no headline: skipped
            f"{long_headline}\n{long_headline}\n\nBody three.\n\n"  # shortened
            f"{LIBRARY}\n{LIBRARY}\n\n"  # no body
            f"{FERRY} | Again\n\nRelease time:Feb 30, 2024 01:00 AM\n\nBody five.\n")
    seed = parse(text)
    assert [(w.line, w.message.split(" ")[0]) for w in seed.warnings] == [
        (3, "unrecognised"), (7, "header"), (12, "headline"), (17, "article"),
        (22, "impossible")]
    assert [a.line for a in seed.articles] == [1, 12, 17, 20]
    assert seed.articles[1].title.endswith("…") and len(seed.articles[1].title) <= 500


def test_a_body_line_before_a_release_time_starts_the_next_article_in_the_fast_path():
    text = (f"{FERRY}\n{FERRY}\n\nBody one.\n\nRice harvest starts early\n\n"
            "Release time:Apr 14, 2024 03:24 AM\n\nBody two.\n")
    articles = parse(text).articles
    assert [(a.title, a.paragraphs) for a in articles] == [
        ("The ferry is back!", ("Body one.",)),
        ("Rice harvest starts early", ("Body two.",))]
    assert articles[1].published == datetime(2024, 4, 14, 3, 24, tzinfo=UTC)


def test_blank_lines_between_a_body_line_and_a_release_time_do_not_hide_it():
    text = (f"{FERRY}\n{FERRY}\n\nBody one.\n\nNext story here\n\n \n\t\n"
            "Release time:Apr 14, 2024 03:24 AM\n\nBody two.\n")
    assert titles(text) == ["The ferry is back!", "Next story here"]


def test_a_line_starting_like_a_release_time_is_body_text():
    text = f"{FERRY}\n{FERRY}\n\nBody one.\n\nRelease timetable for May.\n\nRelease me.\n"
    articles = parse(text).articles
    assert [a.paragraphs for a in articles] == [
        ("Body one.", "Release timetable for May.", "Release me.")]


def test_single_and_multi_line_paragraphs_mix_with_furniture():
    text = (f"{FERRY}\n{FERRY}\n\nOne.\n\n{FERRY}\n\nTwo a\nTwo b\n\n\n\nThree.\n\n"
            f"  {FERRY}  \n\nFour.\n")
    assert parse(text).articles[0].paragraphs == ("One.", "Two a Two b", "Three.", "Four.")


def test_summary_of_text_with_odd_spaces_is_cleaned_the_same_way():
    body = "word " * 60
    for odd in ("\t", "\u3000", "\xa0", "  "):
        text = f"{FERRY}\n{FERRY}\n\n{body}{odd}{body}\n"
        summary = parse(text).articles[0].summary
        assert "  " not in summary and summary.isprintable() and summary.endswith("…")
        assert len(summary) <= 280


def test_articles_are_made_by_position_in_the_order_of_their_fields():
    # The reader passes Article's fields by position (faster): this is that order.
    assert [field.name for field in dataclasses.fields(Article)] == [
        "id", "title", "tags", "published", "paragraphs", "summary", "source", "line",
        "markup", "link", "author"]


def test_the_fast_printable_check_agrees_with_str_isprintable():
    samples = [chr(c) for c in range(256)] + ["", "plain text", "tab\there", "é", "\u3000"]
    assert [is_printable(text) for text in samples] == [text.isprintable() for text in samples]
