"""RFC 5005 paging: a subscription document names its newest archive and whether it is
complete; an archive names itself, the subscription document and the next older
archive. In Atom, in RSS (as atom:links, Appendix B) and in JSON Feed (next_url)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from service import layout
from service.model import Feed
from service.render.atom_rss import render_atom_and_rss
from service.render.jsonfeed import render_json

from support import samples

ATOM = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "data" / "atom.rng")))
SLUG = "navy"
HUB = "https://hub.example.org/"


def archive(number: int):
    return layout.archive_links(samples.BASE, SLUG, number)


def tag_feed(**paging: object) -> Feed:
    return replace(samples.feed(slug=SLUG, title="Navy"), **paging)


# Each kind of document: its Feed, the links it must name (rel -> which FeedLinks) and
# its fh element.
DOCUMENTS: dict[str, tuple[Callable[[], Feed], dict[str, str], str | None]] = {
    "subscription with an archive": (
        lambda: tag_feed(hubs=(HUB,), prev_archive=archive(3)),
        {"self": "links", "prev-archive": "prev_archive"}, None),
    "complete subscription": (
        lambda: tag_feed(hubs=(HUB,), complete=True), {"self": "links"}, "complete"),
    "oldest archive": (
        lambda: tag_feed(archive=archive(1)), {"self": "archive", "current": "links"},
        "archive"),
    "middle archive": (
        lambda: tag_feed(archive=archive(2), prev_archive=archive(1)),
        {"self": "archive", "current": "links", "prev-archive": "prev_archive"}, "archive"),
}
every_document = pytest.mark.parametrize(("make", "rels", "mark"), DOCUMENTS.values(),
                                         ids=DOCUMENTS.keys())
PAGING_RELS = {"self", "current", "prev-archive"}


def expected_links(feed: Feed, rels: dict[str, str], fmt: str,
                   media_type: str) -> set[tuple[str, str, str]]:
    return {(rel, getattr(getattr(feed, field), fmt), media_type)
            for rel, field in rels.items()}


@every_document
def test_atom_documents_are_valid_and_read_without_complaint(make, rels, mark) -> None:
    atom = render_atom_and_rss(make())[0]
    assert SCHEMA.validate(etree.fromstring(atom)), SCHEMA.error_log
    parsed = feedparser.parse(atom)
    assert parsed.bozo == 0, parsed.get("bozo_exception")


@every_document
def test_atom_names_self_current_and_prev_archive(make, rels, mark) -> None:
    feed = make()
    root = etree.fromstring(render_atom_and_rss(feed)[0])
    links = {(link.get("rel"), link.get("href"), link.get("type"))
             for link in root.findall(f"{ATOM}link") if link.get("rel") in PAGING_RELS}
    assert links == expected_links(feed, rels, "atom", "application/atom+xml")
    assert [(link.get("rel"), link.get("href")) for link in root.findall(f"{ATOM}link")
            ][-1] == ("alternate", feed.links.page)
    parsed = {(link.rel, link.href) for link in feedparser.parse(
        render_atom_and_rss(feed)[0]).feed.links}
    assert {(rel, href) for rel, href, _ in links} <= parsed


@every_document
def test_atom_and_rss_carry_the_fh_element(make, rels, mark) -> None:
    feed = make()
    atom, rss = render_atom_and_rss(feed)
    channel = etree.fromstring(rss).find("channel")
    for parent in (etree.fromstring(atom), channel):
        found = [child.tag.removeprefix(FH) for child in parent if child.tag.startswith(FH)]
        assert found == ([mark] if mark else [])


@every_document
def test_rss_names_the_same_links_as_atom_links_with_rss_urls(make, rels, mark) -> None:
    feed = make()
    rss = render_atom_and_rss(feed)[1]
    parsed = feedparser.parse(rss)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    channel = etree.fromstring(rss).find("channel")
    links = {(link.get("rel"), link.get("href"), link.get("type"))
             for link in channel.findall(f"{ATOM}link") if link.get("rel") in PAGING_RELS}
    assert links == expected_links(feed, rels, "rss", "application/rss+xml")
    assert channel.findtext("link") == feed.links.page


@every_document
def test_archives_name_no_hub_and_subscriptions_name_theirs(make, rels, mark) -> None:
    feed = make()
    for document in render_atom_and_rss(feed):
        root = etree.fromstring(document)
        hubs = [link.get("href") for link in root.iter(f"{ATOM}link")
                if link.get("rel") == "hub"]
        assert hubs == list(feed.hubs)
    assert (feed.archive is None) == bool(feed.hubs)


@every_document
def test_json_feed_url_is_the_document_and_next_url_the_older_archive(make, rels,
                                                                       mark) -> None:
    feed = make()
    document = json.loads(render_json(feed))
    own = feed.archive or feed.links
    assert document["feed_url"] == own.json
    older = feed.prev_archive.json if feed.prev_archive else None
    assert document.get("next_url") == older
    assert [item["id"] for item in document["items"]] == [
        f"urn:uuid:{entry.id}" for entry in feed.entries]


def test_a_feed_without_paging_fields_has_no_fh_namespace_and_no_paging_links() -> None:
    for document in render_atom_and_rss(samples.feed()):
        assert b"history/1.0" not in document
        assert b"prev-archive" not in document and b'rel="current"' not in document
    assert b"next_url" not in render_json(samples.feed())


def test_an_empty_archive_is_still_a_valid_document() -> None:
    feed = tag_feed(archive=archive(1), entries=())
    atom, rss = render_atom_and_rss(feed)
    assert SCHEMA.validate(etree.fromstring(atom)), SCHEMA.error_log
    assert feedparser.parse(rss).bozo == 0
    assert json.loads(render_json(feed))["items"] == []
