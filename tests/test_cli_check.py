"""`seedfeeds check`: what would be published, for people and for machines."""

import json
import re

from click.testing import CliRunner

from service.cli import main

FERRY = "The ferry is back! Transport | Harbour\nThe ferry is back! Transport | Harbour\n\nBody.\n"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env)


def test_a_good_file_prints_a_table_and_exits_0(write):
    path = write("ferry.txt", FERRY)
    result = run("check", str(path))
    assert result.exit_code == 0, result.output
    assert "The ferry is back!" in result.stdout
    assert "tags: Transport, Harbour" in result.stdout
    assert result.stdout.strip().endswith("1 file, 1 article, 2 tags, 0 errors, 0 warnings")


def test_json_output_has_the_documented_keys(write):
    path = write("ferry.txt", "The ferry is back! Transport | Harbour\n"
                 "Release time:2024-04-14 03:24\n\nBody one.\n\nBody two.\n")
    rows = json.loads(run("check", "--json", str(path)).stdout)
    assert rows == [{
        "file": str(path), "line": 1, "id": rows[0]["id"], "title": "The ferry is back!",
        "tags": ["Transport", "Harbour"], "published": "2024-04-14T03:24:00+00:00",
        "paragraphs": 2, "summary": "Body one."}]


def test_an_undated_article_has_null_published(write):
    rows = json.loads(run("check", "--json", str(write("ferry.txt", FERRY))).stdout)
    assert rows[0]["published"] is None


def test_a_bad_file_exits_1_naming_file_and_line_while_good_files_still_print(write):
    good = write("ferry.txt", FERRY)
    bad = write("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    result = run("check", str(good), str(bad))
    assert result.exit_code == 1
    assert re.search(rf"^{re.escape(str(bad))}:\d+: error: binary data", result.stderr, re.M)
    assert "The ferry is back!" in result.stdout
    assert "Traceback" not in result.output


def test_warnings_go_to_stderr_and_do_not_fail(write):
    result = run("check", str(write("empty.txt", "")))
    assert result.exit_code == 0
    assert "empty.txt: warning: empty file" in result.stderr


def test_a_folder_is_searched_for_seed_files_skipping_temp_and_dot_files(write, seeds):
    write("ferry.txt", FERRY)
    write("sub/more.txt", FERRY.replace("ferry", "tram"))
    write(".hidden.txt", FERRY)
    write("draft.txt.swp", b"\x00\x01")
    write("ferry.txt~", FERRY)
    rows = json.loads(run("check", "--json", str(seeds)).stdout)
    assert sorted(r["file"].removeprefix(str(seeds) + "/") for r in rows) == [
        "ferry.txt", "sub/more.txt"]


def test_time_zone_setting_comes_from_the_environment(write):
    path = write("ferry.txt", "Ferry! A | B\nRelease time:2024-04-14 03:24\n\nBody.\n")
    rows = json.loads(run("check", "--json", str(path),
                          env={"SEEDFEEDS_TIMEZONE": "Asia/Shanghai"}).stdout)
    assert rows[0]["published"] == "2024-04-14T03:24:00+08:00"


def test_a_bad_setting_is_a_usage_error_naming_flag_and_variable(write):
    result = run("check", str(write("ferry.txt", FERRY)), "--timezone", "Mars/Olympus")
    assert result.exit_code == 2
    assert "--timezone / SEEDFEEDS_TIMEZONE" in result.stderr
    assert "Mars/Olympus" in result.stderr


def test_a_missing_file_is_an_error_not_a_traceback(tmp_path):
    result = run("check", str(tmp_path / "nope.txt"))
    assert result.exit_code == 1
    assert "nope.txt: error:" in result.stderr


def test_help_explains_the_command_and_its_settings():
    result = run("check", "--help")
    assert result.exit_code == 0
    for words in ("--json", "Exits 1", "SEEDFEEDS_TIMEZONE", "SEEDFEEDS_MAX_FILE_SIZE"):
        assert words in result.output
