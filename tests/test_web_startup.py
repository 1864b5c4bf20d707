"""`seedfeeds web` refusing to start as an operator should see it: a port another
process holds, or a host that is no address of this machine, ends in one line naming the
setting and exit 2, never a traceback; and the server itself refuses the same way when
the port is taken between the command's check and its bind."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import StartupError, load_settings
from service.web.app import create_app
from service.web.server import create_server

from support.processes import SEEDFEEDS


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def start_web(feeds: Path, host: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SEEDFEEDS, "web", "--feeds", str(feeds), "--host", host,
                           "--port", str(port)], capture_output=True, text=True, timeout=30,
                          check=False)


def test_a_port_in_use_is_one_line_naming_the_setting_and_exit_2(
        tmp_path: Path, held_port: int) -> None:
    done = start_web(tmp_path, "127.0.0.1", held_port)
    lines = done.stderr.strip().splitlines()
    assert (done.returncode, len(lines)) == (2, 1), done.stderr
    assert "--port / SEEDFEEDS_PORT" in lines[0] and str(held_port) in lines[0]
    assert "in use" in lines[0]


def test_a_host_that_is_not_ours_is_one_line_naming_the_setting_and_exit_2(
        tmp_path: Path) -> None:
    done = start_web(tmp_path, "192.0.2.1", 8080)  # TEST-NET-1: on no machine
    lines = done.stderr.strip().splitlines()
    assert (done.returncode, len(lines)) == (2, 1), done.stderr
    assert "192.0.2.1" in lines[0] and "--host / SEEDFEEDS_HOST" in lines[0]


def test_the_server_refuses_a_port_taken_after_the_check(tmp_path: Path, held_port: int) -> None:
    settings = load_settings({"feeds": str(tmp_path), "host": "127.0.0.1",
                              "port": str(held_port)}, {})
    with pytest.raises(StartupError) as refused:
        create_server(create_app(settings), settings)
    assert str(refused.value) == (
        f"--port / SEEDFEEDS_PORT: port {held_port} on 127.0.0.1 is in use")
