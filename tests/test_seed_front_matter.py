"""A file that starts with '---' is one article with YAML front matter."""

from datetime import UTC, datetime

import pytest

from service.seed.problems import SeedError
from service.seed.read import parse_seed

FULL = """---
title: Lantern festival returns
tags: [Culture, Harbour]
date: 2024-11-24 18:00
summary: Three nights of lanterns.
link: https://example.org/lanterns
author: Culture desk
---
First paragraph
wraps here.

Second paragraph.
"""


def read(text: str, name: str = "post.txt"):
    return parse_seed(text.encode("utf-8"), name)


def test_front_matter_fields_become_the_article():
    (article,) = read(FULL).articles
    assert article.title == "Lantern festival returns"
    assert article.tags == ("Culture", "Harbour")
    assert article.published == datetime(2024, 11, 24, 18, 0, tzinfo=UTC)
    assert article.summary == "Three nights of lanterns."
    assert article.link == "https://example.org/lanterns"
    assert article.author == "Culture desk"
    assert article.paragraphs == ("First paragraph wraps here.", "Second paragraph.")
    assert (article.markup, article.line) == ("text", 2)


def test_tags_may_be_a_comma_separated_line():
    text = "---\ntitle: T\ntags: Culture, Harbour | Sea\n---\nBody.\n"
    assert read(text).articles[0].tags == ("Culture", "Harbour", "Sea")


def test_a_markdown_file_keeps_its_body_as_one_markdown_block():
    text = "---\ntitle: T\n---\n# Heading\n\n- one\n\n- two\n"
    (article,) = read(text, "post.md").articles
    assert article.markup == "markdown"
    assert article.paragraphs == ("# Heading\n\n- one\n\n- two",)


def test_format_key_overrides_the_file_extension():
    assert read("---\ntitle: T\nformat: markdown\n---\n*Hi*\n").articles[0].markup == "markdown"


def test_values_stay_text_whatever_yaml_would_guess():
    (article,) = read("---\ntitle: no\ntags: [2024, on]\n---\nBody.\n").articles
    assert (article.title, article.tags) == ("no", ("2024", "on"))


def test_a_missing_title_is_an_error_naming_the_file():
    with pytest.raises(SeedError, match="no title") as caught:
        read("---\ntags: [A]\n---\nBody.\n")
    assert caught.value.problem.path == "post.txt"


def test_unclosed_front_matter_is_an_error_on_line_one():
    with pytest.raises(SeedError, match="never closed") as caught:
        read("---\ntitle: T\nBody.\n")
    assert caught.value.problem.line == 1


def test_invalid_yaml_is_an_error_naming_its_line():
    with pytest.raises(SeedError, match="not valid YAML") as caught:
        read("---\ntitle: T\ntags: [unclosed\nother: x\n---\nBody.\n")
    assert caught.value.problem.line >= 3


def test_an_unreadable_date_is_an_error_naming_its_line():
    with pytest.raises(SeedError, match="release time") as caught:
        read("---\ntitle: T\ndate: someday\n---\nBody.\n")
    assert caught.value.problem.line == 3


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,x", "/relative",
                                  "http://exa mple.org"])
def test_a_link_that_is_not_absolute_http_is_dropped_with_a_warning(link):
    seed = read(f"---\ntitle: T\nlink: '{link}'\n---\nBody.\n")
    assert seed.articles[0].link is None
    assert [(w.line, "link" in w.message) for w in seed.warnings] == [(3, True)]


def test_an_unknown_key_is_a_warning_naming_its_line():
    seed = read("---\ntitle: T\ntitel: typo\n---\nBody.\n")
    assert [(w.line, "titel" in w.message) for w in seed.warnings] == [(3, True)]


def test_a_title_that_is_a_list_is_an_error():
    with pytest.raises(SeedError, match="plain text"):
        read("---\ntitle: [a, b]\n---\nBody.\n")


@pytest.mark.parametrize("tags", ["[Harbour, 'Ports, Docks']", "Harbour, Ports，Docks"])
def test_a_front_matter_tag_never_holds_a_comma(tags):
    (article,) = read(FULL.replace("tags: [Culture, Harbour]", f"tags: {tags}")).articles
    assert article.tags == ("Harbour", "Ports", "Docks")


def test_a_markdown_articles_summary_is_its_text_without_markup():
    text = FULL.replace("summary: Three nights of lanterns.\n", "").replace(
        "First paragraph\nwraps here.", "The **lanterns** are [back](https://example.org/l),\n"
        "with `candles` and ![a map](map.png).")
    (article,) = read(text, "post.md").articles
    assert article.summary.startswith("The lanterns are back, with candles and a map.")
