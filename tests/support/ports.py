"""Ports on 127.0.0.1 for the servers the tests start, chosen so that nothing else takes
them between the choosing and the server's bind.

A port the kernel hands out (``bind(0)``) is one of its ephemeral ports, and so is the
local port of every outgoing connection: on another core, another test's requests can
land on it in the second before the server binds it. So the ports here are below the
ephemeral range, where the kernel puts nothing of its own; under pytest-xdist each
worker has a slice of its own; and a worker hands out each port of its slice once a
round, so two servers of one test never get the same port.

``free_port`` takes from 10000–19999; ``free_pair`` takes a port P there whose P + 10000
(SeaweedFS's gRPC port for an HTTP port P) is free too, in 20000–29999, where nothing
else is chosen.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

LOW, SPAN = 10000, 10000  # free_port's ports; free_pair's second port is SPAN above
GRPC = 10000  # weed's gRPC port for an HTTP port P: P + 10000


def _ephemeral_low() -> int:
    """The first port the kernel hands out on its own (Linux's default is 32768)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 32768


def _slice() -> range:
    """This process's ports: its pytest-xdist worker's share of LOW to LOW + SPAN, or
    all of it, each below the ephemeral range with its P + 10000."""
    top = min(LOW + SPAN, _ephemeral_low() - GRPC)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "").removeprefix("gw")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.isdigit() or int(worker) >= count or top - LOW < 2 * count:
        return range(LOW, max(top, LOW + 2))
    width = (top - LOW) // count
    start = LOW + int(worker) * width
    return range(start, start + width)


def _round(ports: range) -> Iterator[int]:
    """The slice's ports, round after round, from a random place (a test run soon after
    another does not begin on the ports that run just closed)."""
    first = random.randrange(len(ports))
    return itertools.cycle([*ports[first:], *ports[:first]])


PORTS = _slice()
_next = _round(PORTS)


def is_free(port: int) -> bool:
    """Nothing holds ``port`` on 127.0.0.1 now (a socket in TIME_WAIT counts as held)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port of 127.0.0.1 that is free, below the ephemeral range, and this worker's."""
    for port in itertools.islice(_next, len(PORTS)):
        if is_free(port):
            return port
    raise AssertionError(f"no port of {PORTS.start}-{PORTS.stop - 1} is free on 127.0.0.1")


def free_pair() -> int:
    """A port P of ``free_port``'s with P + 10000 free too (weed's gRPC port for P)."""
    for _ in range(len(PORTS)):
        port = free_port()
        if is_free(port + GRPC):
            return port
    raise AssertionError(f"no port of {PORTS.start}-{PORTS.stop - 1} is free with its "
                         f"port + {GRPC} on 127.0.0.1")


class PortTaken(AssertionError):
    """A server exited at start because another process holds one of its ports."""


def first_start(start: Callable[[], T], new_ports: Callable[[], None], attempts: int) -> T:
    """``start()`` a server on ports chosen here; while it raises PortTaken (any program
    may still bind a port of ours), ``new_ports()`` and start again, ``attempts`` in all."""
    for _ in range(attempts - 1):
        try:
            return start()
        except PortTaken:
            new_ports()
    return start()
