"""The real seed file the format comes from reads exactly as DESIGN section 1 says."""

from datetime import UTC, datetime

import pytest

from service.identity import tag_key
from service.seed.read import read_seed


@pytest.fixture
def articles(real_seed):
    seed = read_seed(real_seed, real_seed.name)
    assert seed.warnings == ()
    return seed.articles


def test_it_holds_six_articles(articles):
    assert len(articles) == 6


def test_titles_and_tags_follow_the_header_rules(articles):
    assert [len(a.tags) for a in articles] == [3, 3, 7, 3, 3, 3]
    first, _, third, fourth, fifth, sixth = articles
    assert first.title.endswith("| Activate New Development Momentum")
    assert first.tags[0] == "Hainan"
    assert third.title.endswith("Province.")
    assert third.tags[0] == "Support" and third.tags[-1] == "Rush Harvest"
    assert fourth.title.startswith("Xinhua All Media+| Welcome home!")
    assert fourth.title.endswith("15?") and fourth.tags[0] == "Spaceship"
    assert fifth.title == "The Chinese naval fleet has arrived!"
    assert fifth.tags == ("Assembly", "Navy", "Chinese Fleet")
    assert sixth.title.endswith("hard to dismantle") and sixth.tags == ("US", "debt", "morale")


def test_it_has_22_distinct_tags(articles):
    assert len({tag_key(t) for a in articles for t in a.tags}) == 22


def test_the_first_article_is_dated_and_has_30_paragraphs_without_furniture(articles):
    first = articles[0]
    assert first.published == datetime(2024, 4, 14, 3, 24, tzinfo=UTC)
    assert first.published.isoformat() == "2024-04-14T03:24:00+00:00"
    assert len(first.paragraphs) == 30
    header_line = first.title  # furniture repeats the whole header, which contains it
    assert not any(header_line in p and "|" in p and p.endswith(first.tags[-1])
                   for p in first.paragraphs)


def test_the_last_article_loses_its_dangling_bracket(articles):
    last = articles[-1].paragraphs[-1]
    assert not last.endswith(("【", "["))
    assert last.endswith("landscape.")


def test_only_the_first_article_has_a_release_time(articles):
    assert [a.published is not None for a in articles] == [True] + [False] * 5
