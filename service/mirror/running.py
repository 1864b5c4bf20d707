"""The mirror in the commands: the publisher whose passes it follows, its start and stop
in ``publish`` and ``serve``, the end of ``build``, and ``sync``.

A command with ``--publish-to`` first asks the bucket who holds its prefix (a read):
another publisher there is a start-up refusal, like another one on the feeds folder. A
store that does not answer yet is no refusal: the site is published locally and the
mirror catches up once it answers. ``build`` and ``sync`` end with a listing of the
prefix compared with the feeds folder, and say in one line whether the bucket matches.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.config import Settings, refusal
from service.mirror.local import NoSite, Snapshot, from_folder, from_publisher
from service.mirror.objects import OWN
from service.publish.lock import Lock, feeds_lock
from service.publish.publisher import Publisher
from service.publish.sources import Progress
from service.publish.status import PassFailed, PassReport
from service.publish.writer import unlisted_files
from service.seed.folder import QUIET

# The mirror itself is imported when there is a bucket: a build without one would pay
# 25 ms for its modules.
if TYPE_CHECKING:
    from service.mirror.mirror import Mirror
    from service.mirror.plan import Item, Plan

Echo = Callable[[str, bool], Any]  # a line, and whether it tells of success


class MirroredPublisher(Publisher):
    """A publisher whose every pass that succeeded is offered to the bucket mirror, as
    a copy taken at once, in the publisher's thread, before the next pass can start."""

    def __init__(self, settings: Settings, mirror: Mirror, **options: Any) -> None:
        super().__init__(settings, **options)
        self.mirror = mirror
        self.pages: set[str] = set()  # the article pages and archives published

    def publish(self, paths: Iterable[str] | None = None,
                progress: Progress | None = None) -> PassReport:
        report = super().publish(paths, progress)
        if report.cold:  # every page written or found: the folder says which are there
            self.pages = unlisted_files(self.settings.feeds)
        else:
            self.pages |= self.pages_written
            self.pages -= self.pages_gone
        self.mirror.offer(from_publisher(self.writer.manifest, self.pages,
                                         self.pages_written, report.cold))
        return report


def publisher_for(settings: Settings, mirror: Mirror | None, **options: Any) -> Publisher:
    """The publisher of a command: mirrored when there is a bucket."""
    return (Publisher(settings, **options) if mirror is None
            else MirroredPublisher(settings, mirror, **options))


def initial_build(settings: Settings, mirror: Mirror) -> Publisher:
    """``live.publishing.initial_build`` for a mirrored publisher: the folder published
    once (files still being written aside), the publisher returned even if that failed;
    then the mirror's thread started (not before: a cold build forks its render workers
    only while it is the one thread)."""
    publisher = MirroredPublisher(settings, mirror, settle=QUIET)
    try:
        with contextlib.suppress(PassFailed):  # logged by the publisher, retried when live
            publisher.publish(None)
    finally:
        mirror.start()
    return publisher


def checked(settings: Settings, lazy: bool = True) -> Mirror | None:
    """The mirror of ``--publish-to`` (None without), refused at start-up if another
    publisher holds the prefix; ``lazy``: it locks the prefix only to write."""
    if not settings.publish_to:
        return None
    from service.mirror.mirror import Mirror

    mirror = Mirror(settings, lazy)
    holder = mirror.holder()
    if holder is not None:
        mirror.stop()
        raise refusal("publish_to", f"{settings.publish_to} is in use by another publisher "
                      f"({holder}); run one publisher per bucket prefix")
    return mirror


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[Mirror | None]:
    """For ``publish`` and ``serve``: the mirror, checked, stopped after the block; its
    thread is started by ``initial_build``, once the first pass is done."""
    mirror = checked(settings, lazy=False)
    if mirror is None:
        yield None
        return
    try:
        yield mirror
    finally:
        mirror.stop()


@contextlib.contextmanager
def stopped_after(mirror: Mirror | None) -> Iterator[Mirror | None]:
    try:
        yield mirror
    finally:
        if mirror is not None:
            mirror.stop()


def finish(mirror: Mirror, echo: Echo) -> bool:
    """Bring the bucket to what was offered (retrying within --publish-timeout), then
    compare a listing of it with the feeds folder; one line of outcome; True if equal."""
    settings = mirror.settings
    done = mirror.finish(settings.publish_timeout)
    outcome, target = mirror.report.last, settings.publish_to
    if not done:
        error = mirror.failure.error if mirror.failure else "stopped"
        echo(f"seedfeeds: the bucket {target} does not match {settings.feeds}: {error}", False)
        return False
    problems = differences(mirror)
    if problems:
        echo(f"seedfeeds: the bucket {target} does not match {settings.feeds}: "
             f"{len(problems)} objects differ, such as {problems[0]}", False)
        return False
    if outcome is not None:
        echo(f"mirrored to {target}: uploaded {outcome.uploaded}, deleted {outcome.deleted}, "
             f"unchanged {outcome.unchanged}; {outcome.seconds:.1f} s", True)
    return True


def differences(mirror: Mirror) -> list[str]:
    """What a listing of the prefix shows that differs from the last snapshot offered:
    missing, extra, or not what the record says (size, ETag, sha256)."""
    snapshot = mirror.latest
    if snapshot is None:
        return []
    listed = {item.path: item for item in mirror.bucket.list()
              if not item.path.startswith(OWN)}
    rows, wanted = mirror.ledger.rows, snapshot.paths()
    problems = [f"{path} is missing" for path in sorted(wanted - listed.keys())]
    problems += [f"{path} is not published" for path in sorted(listed.keys() - wanted)]
    for path, item in sorted(listed.items()):
        row = rows.get(path)
        if path in wanted and (row is None or (row.size, row.etag) != (
                item.size, item.etag) or snapshot.files.get(path, row.sha256) != row.sha256):
            problems.append(f"{path} is not the published file")
    return problems


def sync(settings: Settings, dry_run: bool, echo: Echo) -> int:
    """``seedfeeds sync``: the exit code (0 the bucket matches or would be made to, 1 it
    does not, 2 a start-up refusal is raised instead)."""
    if not settings.publish_to:
        raise refusal("publish_to", "sync needs a bucket: s3://BUCKET or s3://BUCKET/PREFIX")
    try:
        snapshot = from_folder(settings.feeds)
    except NoSite as exc:
        raise refusal("feeds", str(exc)) from None
    if dry_run:
        return _dry_run(settings, snapshot, echo)
    lock = Lock(feeds_lock(settings.feeds), f"the feeds folder {settings.feeds}")
    try:
        with stopped_after(checked(settings)) as mirror:
            assert mirror is not None
            mirror.offer(snapshot)
            return 0 if finish(mirror, echo) else 1
    finally:
        lock.release()


def _dry_run(settings: Settings, snapshot: Snapshot, echo: Echo) -> int:
    """What a sync would upload and delete, one line each, and a summary; nothing is
    written (not even the lock)."""
    from service.mirror.aws import StoreError
    from service.mirror.mirror import Mirror
    from service.mirror.plan import plan

    with stopped_after(Mirror(settings)) as mirror:
        assert mirror is not None
        try:
            mirror.ledger.load()
        except StoreError as exc:
            echo(f"seedfeeds: cannot read {settings.publish_to}: {exc}", False)
            return 1
        made = plan(snapshot, mirror.ledger.rows, mirror.ledger.strays, settings.max_age,
                    settings.publish_max_deletes)
        uploads = [item for phase in made.phases for item in phase
                   if _differs(settings.feeds, item)]
        for item in uploads:
            echo(f"upload {item.path}", True)
        for path in made.deletes:
            echo(f"delete {path}", True)
        echo(_would(settings, made, uploads), True)
    return 0


def _differs(feeds: Path, item: Item) -> bool:
    """Whether a planned upload would be sent: a page the bucket holds is read first."""
    if item.same is None:
        return True
    try:
        return hashlib.sha256((feeds / item.path).read_bytes()).hexdigest() != item.same
    except FileNotFoundError:
        return False


def _would(settings: Settings, made: Plan, uploads: list[Item]) -> str:
    unchanged = made.unchanged + made.uploads - len(uploads)
    line = (f"{settings.publish_to}: would upload {len(uploads)}, delete {len(made.deletes)}, "
            f"{unchanged} unchanged")
    if made.refused:
        line += (f"; more deletes than --publish-max-deletes ({settings.publish_max_deletes}): "
                 "a sync would refuse them all")
    return line

