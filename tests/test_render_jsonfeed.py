"""JSON Feed renderer: JSON Feed 1.1, the same ids as Atom, deterministic."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from lxml import etree

from service.model import Feed
from service.render.atom_rss import render_atom_and_rss
from service.render.body import body_html, original_line
from service.render.jsonfeed import render_json

from support import samples

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def document(feed: Feed) -> dict[str, Any]:
    return json.loads(render_json(feed).decode("utf-8"))


def test_version_is_json_feed_1_1() -> None:
    assert document(samples.feed())["version"] == "https://jsonfeed.org/version/1.1"


def test_top_level_fields_describe_the_feed() -> None:
    feed = samples.feed()
    top = {key: value for key, value in document(feed).items() if key != "items"}
    assert top == {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "description": feed.subtitle,
        "home_page_url": feed.links.page,
        "feed_url": feed.links.json,
        "authors": [{"name": feed.author}],
    }


def test_item_ids_are_the_atom_ids_in_feed_order() -> None:
    feed = samples.feed()
    atom_ids = [node.text for node in etree.fromstring(render_atom_and_rss(feed)[0]).iterfind(
        "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}id")]
    assert [item["id"] for item in document(feed)["items"]] == atom_ids
    assert atom_ids == [f"urn:uuid:{entry.id}" for entry in feed.entries]


def test_item_carries_the_entry_fields() -> None:
    feed = samples.feed()
    entry = feed.entries[0]
    assert document(feed)["items"][0] == {
        "id": f"urn:uuid:{entry.id}",
        "url": entry.url,
        "external_url": entry.link,
        "title": entry.title,
        "content_html": body_html(entry) + original_line(entry),
        "summary": entry.summary,
        "date_published": entry.published.isoformat(),
        "date_modified": entry.updated.isoformat(),
        "tags": [tag.name for tag in entry.tags],
        "authors": [{"name": entry.author}],
    }


def test_optional_item_fields_are_left_out_when_empty() -> None:
    bare = document(samples.feed())["items"][3]
    assert not {"external_url", "summary", "tags", "authors"} & bare.keys()


def test_dates_are_rfc_3339_with_their_offset() -> None:
    feed = samples.feed()
    for item, entry in zip(document(feed)["items"], feed.entries, strict=True):
        assert RFC3339.match(item["date_published"]), item["date_published"]
        assert RFC3339.match(item["date_modified"]), item["date_modified"]
        published = datetime.fromisoformat(item["date_published"])
        assert (published, published.utcoffset()) == (entry.published,
                                                      entry.published.utcoffset())


def test_markup_characters_and_chinese_round_trip() -> None:
    feed = samples.feed()
    items = document(feed)["items"]
    assert [item["title"] for item in items] == [entry.title for entry in feed.entries]
    assert items[0]["tags"][0] == samples.AWKWARD


def test_non_ascii_text_is_written_as_utf_8_not_escaped() -> None:
    data = render_json(samples.feed())
    assert samples.CHINESE.encode("utf-8") in data
    assert b"\\u" not in data


def test_markdown_entry_content_is_rendered_html() -> None:
    markdown = samples.sample_entries()[2]
    item = document(samples.feed((markdown,)))["items"][0]
    assert "<em>emphasis</em>" in item["content_html"]


def test_empty_feed_has_an_empty_item_list() -> None:
    assert document(samples.feed(()))["items"] == []


def test_rendering_twice_gives_identical_bytes() -> None:
    assert render_json(samples.feed()) == render_json(samples.feed())
