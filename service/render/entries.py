"""One entry's bytes in each format, as they stand inside a document: its Atom
``<entry>``, its RSS ``<item>`` and its JSON Feed item, made together (the body is
made once for the three) and kept for the next document that lists the entry.

Exact, not approximate: these are the bytes feedgen and ``json.dumps`` give, which
the tests check against them (``atom_rss._reference``, ``jsonfeed._reference``). It
holds because both serializers write an entry whatever the document around it: lxml
pretty-prints each child of the root (or of the RSS channel) on its own lines,
indented by depth alone, and escapes every ``<`` of text; ``json.dumps(indent=2)``
puts each member on its own line, indented by depth, and JSON text never holds a raw
newline. So an entry's part depends on the entry alone.

Why by hand: feedgen (an lxml tree, then its serialization) and ``json.dumps(indent=2)``
(indenting takes json's pure-Python encoder) cost about 0.1 ms an entry for the three
formats, and a cold build of a large site renders half a million archived entries.
Strings escaped as lxml escapes them (``xmlparts``) and JSON strings from the C
string encoder json.dumps itself uses cost a tenth of that (a Markdown body aside:
rendering it is most of such an entry's cost, and it is done once for the three).

Element order is feedgen's: the Atom entry's id, title, updated, author, content,
link, summary, categories, published, then our related link; the RSS item's title,
link, description (and content:encoded when there is a summary), guid, categories,
pubDate, then dc:creator and the related link, as its extensions add them.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from json.encoder import encode_basestring  # the C encoder json.dumps uses for str
from typing import NamedTuple

from service.identity import entry_id
from service.model import Entry, Feed
from service.render.body import body_html, original_line, summary_html
from service.render.kept import Kept
from service.render.xmlparts import attr, rfc822, text

# Enough for a pass's feeds and for an entry's archive documents (the all feed's and
# its tags') rendered near each other; a kept entry is a few kilobytes.
ENTRIES = 4096


class Parts(NamedTuple):
    """An entry's bytes in an Atom feed, an RSS channel and a JSON Feed items list."""

    atom: bytes
    rss: bytes
    json: bytes


_kept: Kept[Parts] = Kept(ENTRIES)


def keep(count: int = ENTRIES) -> None:
    """Keep the parts of up to ``count`` entries (the oldest first out past it)."""
    _kept.size = count


def forget(but: Collection[str]) -> None:
    """Keep the parts of the entries of ``but`` (ids) alone."""
    global _last
    _kept.keep_only(but)
    _last = (None, [])


def parts(entry: Entry) -> Parts:
    """The entry's bytes in each format, kept for the next document that lists it."""
    held = _kept.get(entry)
    if held is None:
        held = _kept.put(entry, render(entry))
    return held


# The feed whose parts were asked for last, and its parts: the Atom and RSS renderer
# asks, then the JSON renderer asks again for the same Feed. Holding the Feed keeps
# it alive, so an ``is`` match is that very feed.
_last: tuple[Feed | None, list[Parts]] = (None, [])


def feed_parts(feed: Feed) -> list[Parts]:
    """The parts of the feed's entries, in its order."""
    global _last
    held = _last
    if held[0] is feed:
        return held[1]
    found = [parts(entry) for entry in feed.entries]
    _last = (feed, found)  # one assignment: another thread sees the old pair or the new
    return found


def render(entry: Entry) -> Parts:
    """The entry's bytes in each format, rendered now."""
    if not entry.title:  # as feedgen, which requires a title of every Atom entry
        raise ValueError("Required fields not set")
    body = body_html(entry) + original_line(entry)
    uid = entry_id(entry)
    published = entry.published.isoformat()
    # Most entries were never edited: the catalog passes the one datetime twice.
    updated = published if entry.updated is entry.published else entry.updated.isoformat()
    # What both XML formats write alike, escaped once.
    xml = (text(uid), text(entry.title), text(body),
           text(entry.author) if entry.author else "", attr(entry.link) if entry.link else "")
    return Parts(_atom(entry, *xml, published, updated).encode(),
                 _rss(entry, *xml, published).encode(),
                 _json(entry, uid, body, published, updated).encode())


def _atom(entry: Entry, uid: str, title: str, body: str, author: str, related: str,
          published: str, updated: str) -> str:
    """The ``<entry>``; the strings but the dates are escaped (``related`` as an
    attribute)."""
    if author:
        author = f"    <author>\n      <name>{author}</name>\n    </author>\n"
    content = (f'    <content type="html">{body}</content>\n' if body
               else '    <content type="html"/>\n')
    summary = (f'    <summary type="html">{text(summary_html(entry))}</summary>\n'
               if entry.summary else "")
    categories = "".join([_tag(tag.name)[0] for tag in entry.tags])
    if related:
        related = f'    <link href="{related}" rel="related"/>\n'
    return (f"  <entry>\n    <id>{uid}</id>\n    <title>{title}</title>\n"
            f"    <updated>{updated}</updated>\n{author}{content}"
            f'    <link href="{attr(entry.url)}"/>\n{summary}{categories}'
            f"    <published>{published}</published>\n{related}  </entry>\n")


def _rss(entry: Entry, uid: str, title: str, body: str, author: str, related: str,
         published: str) -> str:
    """The ``<item>``, escaped as ``_atom``'s arguments."""
    link = f"      <link>{text(entry.url)}</link>\n" if entry.url else ""
    if entry.summary:
        description = (f"      <description>{text(summary_html(entry))}</description>\n"
                       f"      <content:encoded>{body}</content:encoded>\n")
    else:
        description = f"      <description>{body}</description>\n"
    categories = "".join([_tag(tag.name)[1] for tag in entry.tags])
    creator = f"      <dc:creator>{author}</dc:creator>\n" if author else ""
    if related:
        related = f'      <atom:link href="{related}" rel="related"/>\n'
    return (f"    <item>\n      <title>{title}</title>\n{link}{description}"
            f'      <guid isPermaLink="false">{uid}</guid>\n{categories}'
            f"      <pubDate>{rfc822(entry.published, published)}</pubDate>\n"
            f"{creator}{related}    </item>\n")


@lru_cache(maxsize=4096)
def _tag(name: str) -> tuple[str, str, str]:
    """A tag as an Atom category, an RSS category and a JSON string: a site's few hundred
    tags stand in every entry, escaped once each."""
    return (f'    <category term="{attr(name)}"/>\n', f"      <category>{text(name)}</category>\n",
            encode_basestring(name))


def _json(entry: Entry, uid: str, body: str, published: str, updated: str) -> str:
    """The item as ``json.dumps(item, ensure_ascii=False, indent=2)`` writes it, each
    line indented four more spaces (the depth of the items list's members)."""
    external = (f'      "external_url": {encode_basestring(entry.link)},\n'
                if entry.link else "")
    summary = (f'      "summary": {encode_basestring(entry.summary)},\n'
               if entry.summary else "")
    tail = ""
    if entry.tags:
        names = ",\n        ".join([_tag(tag.name)[2] for tag in entry.tags])
        tail = f',\n      "tags": [\n        {names}\n      ]'
    if entry.author:
        tail += (',\n      "authors": [\n        {\n          "name": '
                 f"{encode_basestring(entry.author)}\n        }}\n      ]")
    return (f'    {{\n      "id": {encode_basestring(uid)},\n'
            f'      "url": {encode_basestring(entry.url)},\n{external}'
            f'      "title": {encode_basestring(entry.title)},\n'
            f'      "content_html": {encode_basestring(body)},\n{summary}'
            f'      "date_published": "{published}",\n'
            f'      "date_modified": "{updated}"{tail}\n    }}')
