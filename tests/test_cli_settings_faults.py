"""Bad settings, as an operator mistypes them: each stops the command at start-up with
exit 2 and one line naming the flag and the environment variable, never a traceback,
and before anything is built or touched."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from service.cli import main

from support.processes import SEEDFEEDS, free_port

FERRY = "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\nBody.\n"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def build(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Result:
    """`seedfeeds build` of tmp_path/seeds into tmp_path/feeds; ``extra`` overrides."""
    (tmp_path / "seeds").mkdir(exist_ok=True)
    return run("build", "--seeds", str(tmp_path / "seeds"), "--feeds", str(tmp_path / "feeds"),
               "--state", str(tmp_path / "state.sqlite"), *extra, env=env)


def assert_refused(result: Result, flag: str, *words: str) -> None:
    """Exit 2 and exactly one line on stderr, naming the flag and its variable."""
    variable = "SEEDFEEDS_" + flag.removeprefix("--").replace("-", "_").upper()
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{flag} / {variable}" in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception)


@pytest.mark.parametrize(("command", "args"), [
    ("web", ("--port", "70000")),
    ("serve", ("--port", "0")),
    ("build", ("--entries", "-1")),
])
def test_a_number_out_of_range_is_one_line(tmp_path, command, args):
    flag = args[0]
    result = run(command, "--feeds", str(tmp_path / "feeds"), *args) if command != "build" \
        else build(tmp_path, *args)
    assert_refused(result, flag, "expected a number")


def test_a_bad_value_from_the_environment_is_one_line_naming_the_variable(tmp_path):
    result = run("web", "--feeds", str(tmp_path / "feeds"), env={"SEEDFEEDS_PORT": "http"})
    assert_refused(result, "--port", "from SEEDFEEDS_PORT")


@pytest.mark.parametrize("host", ["999.1.1.1", "1.2.3", "bad host", "-x.example"])
def test_an_invalid_host_is_refused_before_serving(tmp_path, host):
    result = run("web", "--feeds", str(tmp_path / "feeds"), "--host", host,
                 "--port", str(free_port()))
    assert_refused(result, "--host", repr(host))


def test_an_unresolvable_host_is_refused_before_the_first_build(tmp_path):
    (tmp_path / "seeds").mkdir()
    result = run("serve", "--seeds", str(tmp_path / "seeds"), "--feeds", str(tmp_path / "feeds"),
                 "--state", str(tmp_path / "state.sqlite"), "--host", "no-such-host.invalid",
                 "--port", str(free_port()))
    assert_refused(result, "--host", "resolve")
    assert not (tmp_path / "feeds").exists(), "it built before refusing"


@pytest.mark.parametrize("size", ["1e30", "inf", "nan", "2GiB", "0.5"])
def test_an_absurd_size_is_refused(tmp_path, size):
    assert_refused(build(tmp_path, "--max-file-size", size), "--max-file-size")


def test_the_largest_sensible_size_is_accepted(tmp_path):
    assert build(tmp_path, "--max-file-size", "1GiB").exit_code == 0


def test_feeds_pointing_at_a_file_is_refused(tmp_path):
    (tmp_path / "feeds").write_text("not a folder")
    assert_refused(build(tmp_path), "--feeds", "not a folder")
    assert (tmp_path / "feeds").read_text() == "not a folder"


def test_seeds_pointing_at_a_file_is_refused(tmp_path):
    (tmp_path / "seeds.txt").write_text(FERRY)
    assert_refused(build(tmp_path, "--seeds", str(tmp_path / "seeds.txt")), "--seeds",
                   "not a folder")
    assert not (tmp_path / "feeds").exists()


def test_a_feeds_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    assert_refused(build(tmp_path, "--feeds", str(tmp_path / "blocker" / "feeds")),
                   "--feeds", "blocker is not a folder")


@pytest.mark.parametrize(("feeds", "seeds", "flag"), [
    ("seeds/site", "seeds", "--feeds"),       # the publisher would read its own output
    ("feeds", "feeds/seeds", "--seeds"),
    ("same", "same", "--feeds"),
])
def test_feeds_and_seeds_that_overlap_are_refused(tmp_path, feeds, seeds, flag):
    (tmp_path / seeds).mkdir(parents=True)
    (tmp_path / seeds / "ferry.txt").write_text(FERRY)
    result = build(tmp_path, "--feeds", str(tmp_path / feeds), "--seeds", str(tmp_path / seeds))
    assert_refused(result, flag, "--feeds", "--seeds")
    assert sorted(p.name for p in (tmp_path / seeds).iterdir()) == ["ferry.txt"]


@pytest.mark.parametrize("url", [
    "http://news.example.org/a b", 'http://news.example.org/"x', "http://news.example.org/<x>",
    "http://news.example.org/a\\b", "http://news.example.org/a\x07b", "http://news.example.org/%zz",
    "http://news.example.org:99999", "http:///path", "javascript:alert(1)",
    "news.example.org", "ftp://news.example.org",
])
def test_a_base_url_that_links_could_not_carry_raw_is_refused(tmp_path, url):
    assert_refused(build(tmp_path, "--base-url", url), "--base-url")
    assert not (tmp_path / "feeds").exists()


def test_a_base_url_keeps_its_escapes_and_loses_its_trailing_slash(tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "ferry.txt").write_text(FERRY)
    result = build(tmp_path, "--base-url", "https://news.example.org/caf%C3%A9/")
    assert result.exit_code == 0, result.output
    feed = (tmp_path / "feeds" / "all.atom").read_text("utf-8")
    assert 'href="https://news.example.org/caf%C3%A9/all.atom"' in feed


def test_an_unknown_seedfeeds_variable_is_a_warning_naming_the_closest_setting(tmp_path):
    (tmp_path / "ferry.txt").write_text(FERRY)
    result = run("check", str(tmp_path / "ferry.txt"), env={"SEEDFEEDS_PROT": "9000"})
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "SEEDFEEDS_PROT" in line]
    assert len(warnings) == 1, result.stderr
    assert "SEEDFEEDS_PORT" in warnings[0] and "warning" in warnings[0].lower()


def run_on_a_taken_port(tmp_path, command: str, flag: str) -> tuple[int, str]:
    """`seedfeeds COMMAND` on tmp_path's folders with ``flag`` naming a port another
    socket holds: the port and the command's last line on stderr, after checking it
    exited 2 with no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*SEEDFEEDS, command, "--seeds", str(tmp_path / "seeds"), "--feeds",
             str(tmp_path / "feeds"), "--state", str(tmp_path / "state.sqlite"),
             "--host", "127.0.0.1", flag, str(port)],
            capture_output=True, text=True, timeout=30, env={**os.environ, "PYTHONUTF8": "1"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    return port, done.stderr.strip().splitlines()[-1]


def test_a_port_in_use_stops_serve_with_one_line_before_it_touches_the_site(tmp_path):
    """A restart (the site is there) would rebuild beside the web server: a port in use
    must stop it at once with one line, not after the rebuild or with a traceback."""
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "ferry.txt").write_text(FERRY)
    assert build(tmp_path).exit_code == 0
    before = (tmp_path / "feeds" / "status.json").read_bytes()
    port, last = run_on_a_taken_port(tmp_path, "serve", "--port")
    assert "--port / SEEDFEEDS_PORT" in last and str(port) in last, last
    assert (tmp_path / "feeds" / "status.json").read_bytes() == before


def test_a_hub_port_in_use_stops_publish_with_one_line_before_the_first_build(tmp_path):
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "ferry.txt").write_text(FERRY)
    port, last = run_on_a_taken_port(tmp_path, "publish", "--websub-port")
    assert "--websub-port / SEEDFEEDS_WEBSUB_PORT" in last and str(port) in last, last
    assert not (tmp_path / "feeds" / "status.json").exists()
