"""Identity (DESIGN section 2): ids from headline and release time only."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

from service.identity import (
    ARTICLE_NAMESPACE,
    article_id,
    article_ids,
    article_key,
    slugify,
    tag_key,
    uuid5,
)
from service.seed.read import parse_seed

WHEN = datetime(2024, 4, 14, 3, 24, tzinfo=UTC)
NAMESPACE = uuid.UUID(bytes=ARTICLE_NAMESPACE)


def test_the_namespace_is_fixed_forever():
    assert str(NAMESPACE) == "5eedfeed-0000-5000-8000-000000000001"


def test_the_id_is_a_uuid5_of_the_article_key():
    assert article_id("Ferry news", WHEN) == str(uuid.uuid5(NAMESPACE,
                                                            article_key("Ferry news", WHEN)))


def test_the_fast_uuid5_matches_the_standard_library():
    for name in ["", "a", "渡轮", "x" * 999, "line\nbreak"]:
        assert uuid5(name) == str(uuid.uuid5(NAMESPACE, name))


def test_headline_case_width_and_spacing_do_not_change_the_id():
    assert article_id("Ferry  News", WHEN) == article_id("ｆｅｒｒｙ news", WHEN)


def test_the_same_instant_in_another_zone_has_the_same_id():
    shanghai = WHEN.astimezone(timezone(timedelta(hours=8)))
    assert article_id("Ferry news", WHEN) == article_id("Ferry news", shanghai)


def test_release_time_is_part_of_the_id():
    assert article_id("Ferry news", WHEN) != article_id("Ferry news", None)


def test_file_name_and_body_do_not_change_the_id():
    one = parse_seed(b"Ferry! A | B\nFerry! A | B\n\nBody one.\n", "a.txt").articles[0]
    two = parse_seed(b"Ferry! A | B\nFerry! A | B\n\nEdited body.\n", "sub/b.txt").articles[0]
    assert one.id == two.id


def test_tag_identity_ignores_width_case_and_spacing():
    assert tag_key("Chinese  Fleet") == tag_key("ＣＨＩＮＥＳＥ fleet")


def test_slugs_keep_unicode_letters_and_dash_the_rest():
    assert slugify("Chinese Fleet") == "chinese-fleet"
    assert slugify("海军 舰队") == "海军-舰队"
    assert slugify("C++ & Rust!") == "c-rust"
    assert slugify("under_score") == "under-score"
    assert slugify("!!!") == "tag"


def test_ascii_headlines_take_a_shortcut_to_the_same_key():
    for headline in ["Ferry news", "Ferry\tnews", " Ferry news ", "Ferry  news", "FERRY news",
                     "Ferry\x0bnews", "Ferry\x1fnews"]:
        assert article_key(headline, None) == "ferry news\n"


def test_ids_in_bulk_are_the_ids_one_by_one():
    headlines = ["Ferry news", "渡轮恢复运营", "Ｆｅｒｒｙ", ""]
    published = [WHEN, None, WHEN.astimezone(timezone(timedelta(hours=-5))), None]
    assert article_ids(headlines, published) == list(map(article_id, headlines, published))


def test_uuid5_with_another_namespace_matches_the_standard_library():
    namespace = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert uuid5("Ferry", namespace.bytes) == str(uuid.uuid5(namespace, "Ferry"))
