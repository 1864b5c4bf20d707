"""A news dump becomes articles (DESIGN section 1): where articles start, what is body."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from service.seedfile import parse_seed

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
