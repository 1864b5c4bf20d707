"""Bad input of every kind is a clear problem naming the file and line, never a crash."""

import os

import pytest

from service.seed.problems import SeedError
from service.seed.read import parse_seed, read_seed
from service.seed.text import MAX_HEADLINE

HEADER = "The ferry is back! Transport | Harbour"


def test_binary_data_is_an_error_naming_file_and_line():
    data = b"Line one\nline two\n" + bytes(range(256)) * 4
    with pytest.raises(SeedError) as caught:
        parse_seed(data, "image.txt")
    problem = caught.value.problem
    assert (problem.path, problem.line, problem.severity) == ("image.txt", 3, "error")
    assert "binary" in problem.message
    assert str(problem).startswith("image.txt:3: error: binary")


def test_a_png_is_binary():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + os.urandom(200)
    with pytest.raises(SeedError, match="binary"):
        parse_seed(png, "photo.txt")


def test_a_stray_nul_byte_in_text_is_stripped_with_a_warning():
    body = "An ordinary paragraph of text. " * 10
    seed = parse_seed(f"{HEADER}\n{HEADER}\n\n{body}\x00\n".encode(), "news.txt")
    assert seed.articles[0].paragraphs == (body.strip(),)
    assert [w.line for w in seed.warnings] == [4]


def test_a_zeroed_tail_left_by_a_crash_is_binary():
    with pytest.raises(SeedError, match="NUL"):
        parse_seed(f"{HEADER}\n{HEADER}\n\nBody.\n".encode() + bytes(4096), "crashed.txt")


def test_mostly_control_characters_is_binary():
    with pytest.raises(SeedError, match="binary"):
        parse_seed(b"Title\n" + b"\x01\x02\x03\x04" * 50, "controls.txt")


def test_a_few_control_characters_are_stripped_with_a_warning_naming_the_line():
    data = f"{HEADER}\n{HEADER}\n\nBell\x07 and\x1b escape.\n\nClean.\n".encode()
    seed = parse_seed(data, "news.txt")
    assert seed.articles[0].paragraphs == ("Bell and escape.", "Clean.")
    assert [(w.line, "control" in w.message) for w in seed.warnings] == [(4, True)]


@pytest.mark.parametrize("content", [b"", b"\n\n   \n\t\n", b"\xef\xbb\xbf"])
def test_an_empty_or_blank_file_is_a_warning_with_no_articles(content):
    seed = parse_seed(content, "new.txt")
    assert seed.articles == ()
    assert [w.severity for w in seed.warnings] == ["warning"]
    assert "empty" in seed.warnings[0].message


def test_an_oversized_file_is_an_error_naming_the_setting(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(SeedError, match="max_file_size") as caught:
        read_seed(path, "huge.txt", max_size=1024)
    assert caught.value.problem.path == "huge.txt"


def test_a_one_megabyte_header_line_is_shortened_with_a_warning():
    line = ("word " * 210_000).strip()
    seed = parse_seed(f"{line}\n\nBody.\n".encode(), "long.txt")
    assert len(seed.articles[0].title) <= MAX_HEADLINE
    assert any(w.line == 1 and "shortened" in w.message for w in seed.warnings)


def test_a_one_megabyte_body_line_is_kept_whole():
    body = "word " * 210_000
    seed = parse_seed(f"{HEADER}\n{HEADER}\n\n{body}\n".encode(), "long.txt")
    assert len(seed.articles[0].paragraphs[0]) == len(body.strip())


def test_a_file_that_vanished_is_an_error_naming_it(tmp_path):
    with pytest.raises(SeedError, match="vanished") as caught:
        read_seed(tmp_path / "gone.txt", "gone.txt")
    assert caught.value.problem.path == "gone.txt"


def test_a_folder_is_an_error(tmp_path):
    with pytest.raises(SeedError, match="folder"):
        read_seed(tmp_path, "seeds")


def test_hostile_characters_never_reach_headline_or_tags():
    header = "\u202eevil\u202c title\x00! Tag\x0b | <script> | Tab\tbed"
    body = "An ordinary paragraph of text. " * 10
    seed = parse_seed(f"{header}\n{header}\n\n{body}\n".encode(), "hostile.txt")
    article = seed.articles[0]
    assert article.title == "evil title!"
    assert article.tags == ("Tag", "<script>", "Tab bed")
