"""Real `seedfeeds` server processes, as the tests and benchmarks run them: a free port
(``support.ports``), a start that waits for /healthz, and a stop."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Self

from support.client import Reply, raw_request, request
from support.ports import PortTaken, first_start, free_port
from support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SEEDFEEDS = [str(Path(sys.executable).with_name("seedfeeds"))]  # the installed command
START_TIMEOUT = 30.0  # seconds for a server to answer /healthz
STOP_TIMEOUT = 15.0  # seconds for a server to exit after a signal


PORT_ATTEMPTS = 3  # first starts, each on a new port if the last one's was taken


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
                 timeout: float = STOP_TIMEOUT) -> int | None:
    """Send ``sig`` and wait for the exit code; None if it ignored ``sig`` for
    ``timeout`` seconds (it is killed then)."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None
    return process.returncode


class Server:
    """`seedfeeds <command> <arguments>` on 127.0.0.1:``port``, its output appended to
    ``log``; up once /healthz answers with a status in ``ready``. As a context manager it
    starts (unless started) and stops with SIGTERM, killed if it ignores that."""

    def __init__(self, command: str, *arguments: str, log: Path, port: int | None = None,
                 ready: Collection[int] = (200,)) -> None:
        self.name = f"seedfeeds {command}"
        self._chosen = port is None  # a free port of ours: another one if it is taken
        self.port = port or free_port()
        # A test may put a wrapper in front (to run it as another user); the port is last.
        self.command = [*SEEDFEEDS, command, *arguments, "--host", "127.0.0.1",
                        "--port", str(self.port)]
        self.log = log
        self.ready = ready
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> Self:
        """Start the process and wait until it answers; AssertionError with its log if it
        exits first or does not answer within ``timeout`` seconds (it is killed then).

        A port found free is free only until another process takes it (``ports`` keeps
        the tests' own out of one another's way; any other program may still bind one):
        a first start that exits because its port is taken is made again on a new one,
        if the port was chosen here (a restart keeps its port)."""
        if not self._chosen:
            return self._start(timeout)
        return first_start(lambda: self._start(timeout), self._new_port, PORT_ATTEMPTS)

    def _new_port(self) -> None:
        self.port = free_port()
        self.command = [*self.command[:-1], str(self.port)]

    def _start(self, timeout: float) -> Self:
        logged = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as sink:
            self.process = subprocess.Popen(self.command, stdout=sink, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONUTF8": "1"}, cwd=ROOT)
        try:
            wait_for(self._answers, timeout, f"did not answer /healthz within {timeout} s")
        except BaseException as problem:
            stop_process(self.process, signal.SIGKILL)
            if isinstance(problem, AssertionError):
                now_said = self.log.read_bytes()[logged:].decode("utf-8", "replace")
                taken = f"port {self.port} on 127.0.0.1 is in use" in now_said
                raise (PortTaken if taken else AssertionError)(
                    f"{self.name}: {problem}\n{self.log_text()}") from None
            raise
        self._chosen = False  # it answered there: a restart keeps the port
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"exited with {self.process.returncode}")
        try:
            return self.get("/healthz", timeout=1).status in self.ready
        except (OSError, http.client.HTTPException):
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``sig`` and wait for the exit code; AssertionError with the log if the
        process ignored ``sig`` for ``timeout`` seconds (it is killed then)."""
        assert self.process is not None
        code = stop_process(self.process, sig, timeout)
        if code is None:
            raise AssertionError(f"{self.name} ignored signal {sig} for {timeout} s:\n"
                                 f"{self.log_text()}")
        return code

    def log_text(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""

    def get(self, path: str, headers: Mapping[str, str] | None = None, method: str = "GET",
            body: bytes | None = None, timeout: float = 10.0) -> Reply:
        """One request on a fresh connection; ``path`` is sent exactly as given."""
        return request(self.port, path, headers, method, body, timeout)

    def raw(self, data: bytes) -> bytes:
        """Send bytes as they are; the answer, read until the server closes."""
        return raw_request(self.port, data)

    def __enter__(self) -> Self:
        return self if self.process is not None else self.start()

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            stop_process(self.process)
