"""What one mirror pass must do to make the bucket hold a snapshot: pure, no I/O.

Uploads come in the phases of ``objects.PHASES`` (linked-to before linking), deletes
after them all. A file is uploaded when the bucket's record lacks it or records other
bytes or other headers; a page the snapshot says may have changed is read and compared
first (``Item.same``), so an unchanged rebuild uploads nothing. Everything in the prefix
that the snapshot does not name is deleted, strays included: the prefix holds what the
web serves and nothing else. More deletes than ``max_deletes`` and none is made: the
pass fails loudly instead (``Plan.refused``), since a seeds folder that vanished or a
wrong prefix must not empty a bucket.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from service.mirror.ledger import Row
from service.mirror.local import Snapshot
from service.mirror.objects import PHASES, Headers, headers_of, phase_of


@dataclass(frozen=True)
class Item:
    """One file to upload: ``expect`` is the sha256 the snapshot promises (a manifest
    file; bytes that differ were rewritten by a newer pass, whose own snapshot follows),
    ``same`` the sha256 the bucket holds for a page to compare before uploading."""

    path: str
    headers: Headers
    expect: str | None = None
    same: str | None = None


@dataclass
class Plan:
    phases: list[list[Item]] = field(default_factory=lambda: [[] for _ in PHASES])
    deletes: list[str] = field(default_factory=list)
    unchanged: int = 0
    refused: bool = False  # more deletes than allowed: none is made

    @property
    def uploads(self) -> int:
        return sum(len(phase) for phase in self.phases)

    def empty(self) -> bool:
        return not self.uploads and not self.deletes


def plan(snapshot: Snapshot, rows: Mapping[str, Row], strays: Set[str], max_age: int,
         max_deletes: int) -> Plan:
    """The uploads and deletes that bring the bucket (``rows``, ``strays``) to ``snapshot``.

    A snapshot that names the pages that may have changed is planned from those, the new
    pages and the gone ones (set operations on 100,000 pages take milliseconds); one that
    does not is compared page by page, headers included."""
    made = Plan()
    for path, sha in snapshot.files.items():
        headers = headers_of(path, max_age)
        row = rows.get(path)
        if row is not None and row.sha256 == sha and row.headers == headers.digest:
            made.unchanged += 1
        else:
            made.phases[phase_of(path)].append(Item(path, headers, expect=sha))
    check = snapshot.check
    if check is None:
        pages: Set[str] = snapshot.pages
    else:
        pages = snapshot.pages.difference(rows) | (check & snapshot.pages) | (
            snapshot.pages & strays)
        made.unchanged += len(snapshot.pages) - len(pages)
    for path in pages:
        headers = headers_of(path, max_age)
        row = rows.get(path)
        phase = made.phases[phase_of(path)]  # an article page's, or an archive's
        if row is None or row.headers != headers.digest or path in strays:
            phase.append(Item(path, headers))
        elif check is None or path in check:
            phase.append(Item(path, headers, same=row.sha256))
        else:
            made.unchanged += 1
    wanted = {*snapshot.files, *snapshot.pages}
    gone = {*(rows.keys() - wanted), *(strays - wanted)}
    made.deletes = sorted(gone, key=lambda path: (-phase_of(path), path))
    made.refused = len(made.deletes) > max_deletes
    for phase in made.phases:
        phase.sort(key=lambda item: item.path)
    return made
