"""The catalog on its own: an article that several files hold is published once, from
the file whose path sorts first, whatever the order in which files come and go."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from service.catalog.catalog import Catalog
from service.model import Brief

PATHS = ("a.txt", "b/c.txt", "b.txt", "z.txt")
IDS = ("one", "two", "three")


def brief(article_id: str, path: str, version: int) -> Brief:
    digest = hashlib.sha256(f"{path}{version}".encode()).digest()  # one per file and version
    return Brief(article_id, ("News",), None, path, 1, digest, "text", None, None, 0)


# A step: a file now holds these ids (its version), or is gone (None).
steps = st.lists(st.tuples(st.sampled_from(PATHS),
                           st.none() | st.lists(st.sampled_from(IDS), max_size=3)),
                 min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_each_id_is_published_from_the_first_path_that_holds_it(history):
    catalog = Catalog()
    files: dict[str, list[Brief]] = {}
    for version, (path, ids) in enumerate(history):
        if ids is None:
            files.pop(path, None)
            catalog.update({path: None})
        else:
            files[path] = [brief(i, path, version) for i in ids]
            catalog.update({path: files[path]})
        holders = {i: sorted(p for p, held in files.items() if any(b.id == i for b in held))
                   for i in IDS}
        expected = {i: next(b for b in files[paths[0]] if b.id == i)
                    for i, paths in holders.items() if paths}
        assert catalog.articles.keys() == expected.keys()
        assert all(catalog.articles[i] is expected[i] for i in expected)
        warned = sorted((p.path, p.message.split(";")[0]) for p in catalog.duplicates())
        assert warned == sorted((path, f"same article as {paths[0]}:1")
                                for i, paths in holders.items() for path in set(paths[1:]))
        ids = catalog.tag_ids.get("news", [])
        assert set(ids) == set(expected)
        assert len(ids) == len(set(ids))  # each id once


def test_a_second_copy_then_the_first_gone_leaves_the_second_published():
    catalog = Catalog()
    first, second = brief("one", "a.txt", 0), brief("one", "b.txt", 0)
    catalog.update({"a.txt": [first]})
    catalog.update({"b.txt": [second]})
    assert catalog.articles["one"] is first and len(catalog.duplicates()) == 1
    change = catalog.update({"a.txt": None})
    assert catalog.articles["one"] is second and catalog.duplicates() == []
    assert change.articles == {"one"}  # another copy, another digest: changed
