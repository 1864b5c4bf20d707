"""Forked children: the render workers of a cold build, and the plain fork that they
and the read-ahead child start from.

Plain forks and pipes, not ``concurrent.futures``: its imports and threads cost a small
build 30 ms of its half second. A child inherits the parent as it was at the fork, the
catalog and its first jobs among it, so those are never sent; later jobs go through an
anonymous file in memory. It never outlives the parent: if the build stops (a signal, a
failed job), the parent kills it; if the parent dies, even by SIGKILL, the kernel does
(Linux's parent-death signal), instead of leaving orphans that hold their memory.
Forking is safe only while the process runs one thread (``may_fork``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import select
import signal
import struct
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from service.publish.writer import Changes, SiteWriter

Job = tuple[Any, ...]


def may_fork() -> bool:
    """Forking is safe only while this process runs one thread: a lock another thread
    holds at the fork stays held in the child for good."""
    return threading.active_count() == 1


class Pool:
    """Worker processes forked from this one, each with its hand of first batches
    (inherited: nothing is sent), then the batches ``give`` hands it, pickled into an
    anonymous file shared with the workers, their places sent down the worker's pipe:
    handing a busy worker more than a pipe holds never waits for it. A worker reports
    each batch done, and sends what its writer did at the end. A context manager: at its
    end, every worker still running is killed."""

    def __init__(self, do: Callable[[Job], None], writer: SiteWriter,
                 hands: Sequence[list[list[Job]]]) -> None:
        self._writer = writer
        self._jobs = _anonymous_file()
        self._end = 0  # where the next batch given goes in the jobs file
        self.workers: list[_Worker] = []
        try:
            for hand in hands:
                self.workers.append(_Worker.fork(do, writer, hand, self._jobs))
        except BaseException:
            self.__exit__()
            raise

    def give(self, number: int, batch: list[Job]) -> None:
        """One more batch for worker ``number``, after what it has, in pieces of
        ``PIECE`` jobs: neither process holds a whole batch pickled (a million articles'
        archives are two batches of 100,000 jobs, 100 MB each)."""
        for start in range(0, len(batch), PIECE):
            data = pickle.dumps(batch[start:start + PIECE], protocol=pickle.HIGHEST_PROTOCOL)
            _write_all(self._jobs, data, self._end)
            self.workers[number].send(self._end, len(data))
            self._end += len(data)

    def finish(self, progress: Callable[[int], None]) -> None:
        """Tell the workers that nothing more comes; merge what each wrote as it ends,
        calling ``progress`` with the jobs done so far. A worker's failure is raised
        here: the exception it raised, where it can be pickled."""
        for worker in self.workers:
            worker.send(0, 0)
        done = 0
        running = {worker.results: worker for worker in self.workers}
        waiting = select.poll()  # not select(): a descriptor may be over 1024
        for fd in running:
            waiting.register(fd, select.POLLIN)
        while running:
            for fd, _event in waiting.poll():
                worker = running[fd]
                count, changes = worker.receive()
                done += count
                if count:
                    progress(done)
                if changes is not None:
                    self._writer.merge(changes)
                    worker.reap()
                    waiting.unregister(fd)
                    del running[fd]

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *_: object) -> None:
        """Stop every worker still running (the build is abandoned: every file a worker
        wrote was written whole, atomically, or not at all), and let the pipes go."""
        for worker in self.workers:
            worker.stop()
        with contextlib.suppress(OSError):
            os.close(self._jobs)


class _Worker:
    """One forked worker, as its parent sees it: the pipe it reads batches' places from,
    the pipe it writes its reports to."""

    def __init__(self, pid: int, orders: int, results: int) -> None:
        self.pid, self.orders, self.results = pid, orders, results
        self._buffer = b""

    @classmethod
    def fork(cls, do: Callable[[Job], None], writer: SiteWriter, first: list[list[Job]],
             jobs: int) -> _Worker:
        order_reader, order_writer = os.pipe()
        result_reader, result_writer = os.pipe()
        pid = fork_child(lambda: _work(do, writer, first, jobs, order_reader, result_writer))
        os.close(order_reader)
        os.close(result_writer)
        return cls(pid, order_writer, result_reader)

    def send(self, at: int, size: int) -> None:
        """A batch's place in the jobs file; size 0: nothing more comes."""
        try:
            os.write(self.orders, ORDER.pack(at, size))  # under PIPE_BUF: whole or not
        except BrokenPipeError:
            raise WorkerDied(f"a render worker (pid {self.pid}) ended before its last "
                             f"jobs: {self.reap()}") from None

    def receive(self) -> tuple[int, Changes | None]:
        """The jobs the worker reported done since last asked, and its changes once it
        has sent them. A worker that exits without them failed: raised here."""
        data = os.read(self.results, 1 << 16)
        if not data:
            raise WorkerDied(f"a render worker (pid {self.pid}) ended without finishing "
                             f"its jobs: {self.reap()}")
        buffer = self._buffer + data
        done, at = 0, 0
        while len(buffer) - at >= REPORT.size:
            (number,) = REPORT.unpack_from(buffer, at)
            if number >= 0:
                done, at = done + number, at + REPORT.size
                continue
            end = at + REPORT.size - number
            if len(buffer) < end:
                break
            outcome = pickle.loads(buffer[at + REPORT.size:end])
            self._buffer = buffer[end:]
            if isinstance(outcome, BaseException):
                raise outcome
            return done, outcome
        self._buffer = buffer[at:]  # a report cut short by the read: the rest comes next
        return done, None

    def reap(self) -> str:
        """Wait for the worker to exit; how it did."""
        if not self.pid:
            return "reaped"
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if os.WIFSIGNALED(status):
            return f"killed by signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"

    def stop(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)  # a worker holds nothing to clean up
            self.reap()
        for fd in (self.orders, self.results):
            with contextlib.suppress(OSError):
                os.close(fd)


class WorkerDied(RuntimeError):
    """A render worker ended (killed, out of memory) before it reported its work."""


PIECE = 1024  # jobs pickled together for a worker (an archive job is about 1 kB): 16 bytes
# in its pipe for each, so that a million articles' archives take 3 kB of the 64 kB
ORDER = struct.Struct("=qq")  # a batch's place in the jobs file, and its size
REPORT = struct.Struct("=q")  # n >= 0: n jobs done; -n: the pickled end of n bytes follows


def _work(do: Callable[[Job], None], writer: SiteWriter, first: list[list[Job]],
          jobs: int, orders: int, results: int) -> None:
    """In a worker: run its first batches, then those it is sent until told to stop;
    report each batch done, then send what its writer must tell the parent's, or the
    exception that stopped it."""
    os.set_blocking(results, False)  # a report the parent is not reading yet waits here
    unsent = 0
    outcome: Changes | BaseException
    try:
        for batch in _batches(first, jobs, orders):
            for job in batch:
                do(job)
            unsent = _report(results, unsent + len(batch))
        outcome = writer.take_changes()
        # Not the names of the pages written: a cold build's every page, which its
        # publisher does not keep (its mirror lists the folder), and which, sent back,
        # would be freed after the pass in holes between what the parent keeps.
        outcome.pages = set()
    except BaseException as exc:  # the parent raises it, with where it came from
        exc.add_note("in a render worker:\n" + "".join(traceback.format_exception(exc)))
        outcome = exc
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception that does not pickle: its words, then
        data = pickle.dumps(RuntimeError(f"{type(outcome).__name__}: {outcome}"))
    os.set_blocking(results, True)
    message = REPORT.pack(unsent) + REPORT.pack(-len(data)) + data
    view = memoryview(message)
    while view:
        view = view[os.write(results, view):]


def _batches(first: list[list[Job]], jobs: int, orders: int) -> Iterator[list[Job]]:
    """A worker's batches: those it forked with, then each it is sent."""
    yield from first
    with os.fdopen(orders, "rb") as stream:
        while True:
            order = stream.read(ORDER.size)
            if len(order) < ORDER.size:  # the parent is gone
                return
            at, size = ORDER.unpack(order)
            if not size:
                return
            yield pickle.loads(os.pread(jobs, size, at))


def _report(results: int, done: int) -> int:
    """Tell the parent ``done`` more jobs are done, unless its pipe is full: then the
    count waits for the next report (the worker never waits for the parent)."""
    try:
        os.write(results, REPORT.pack(done))
    except BlockingIOError:
        return done
    return 0


def _write_all(fd: int, data: bytes, at: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, at)
        view, at = view[written:], at + written


def _anonymous_file() -> int:
    """A file in memory that forked workers share: the batches handed to them."""
    try:
        return os.memfd_create("seedfeeds-jobs", os.MFD_CLOEXEC)
    except (AttributeError, OSError):  # not Linux
        import tempfile

        with tempfile.TemporaryFile(prefix="seedfeeds-jobs-") as spill:
            return os.dup(spill.fileno())


PR_SET_PDEATHSIG = 1  # linux/prctl.h
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def fork_child(work: Callable[[], None]) -> int:
    """Fork a child that runs ``work`` and exits (1 if it raised, without a word: the
    child reports through its own pipe); the child's pid. The stop signals are blocked
    across the fork: one that came before the child had handlers of its own would run
    this process's."""
    parent = os.getpid()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                start_child(parent)
                work()
                code = 0
            finally:
                os._exit(code)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return pid


def start_child(parent: int) -> None:
    """In a new worker (or any child this package forks): die with the parent, and
    leave signals to it."""
    # Ctrl-C reaches the whole process group; the parent decides, then stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):  # not the parent's handlers
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked across the fork
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's kill() is all
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the death signal was set: none will come
        os._exit(1)
