"""A header line splits into headline and tags (DESIGN section 1, 'Title and tags')."""

import pytest

from service.seed.header import split_header


@pytest.mark.parametrize(("header", "headline", "tags"), [
    # The first tag is glued to the headline after its sentence-ending punctuation.
    ("The harbour fleet has arrived! Assembly | Navy | Harbour Fleet",
     "The harbour fleet has arrived!", ("Assembly", "Navy", "Harbour Fleet")),
    # Without punctuation, the last word is the glued tag; the headline keeps its own '|'.
    ("Morning Report | Open New Routes For The Ferry Harbour | Ferries | Morning Report",
     "Morning Report | Open New Routes For The Ferry", ("Harbour", "Ferries", "Morning Report")),
    ("City Radio+| Welcome back! How did the ferry survive the storm of 2025? Ferry | Storm | Sea",
     "City Radio+| Welcome back! How did the ferry survive the storm of 2025?",
     ("Ferry", "Storm", "Sea")),
    # Nothing after the last sentence end: no glued tag.
    ("The council approved the budget of the northern district. | Budget | Council | North",
     "The council approved the budget of the northern district.", ("Budget", "Council", "North")),
    ("Opinion: the river tunnel is harder to cancel than to build Rail | cost | delays",
     "Opinion: the river tunnel is harder to cancel than to build", ("Rail", "cost", "delays")),
])
def test_header_splits_like_the_design_table(header, headline, tags):
    assert split_header(header) == (headline, tags)


def test_a_header_without_separator_has_no_tags():
    assert split_header("Two ferries collided in fog. Nobody was hurt") == (
        "Two ferries collided in fog. Nobody was hurt", ())


def test_full_width_separator_counts_as_separator():
    assert split_header("渡轮恢复运营！交通｜港口｜城市") == (
        "渡轮恢复运营！", ("交通", "港口", "城市"))


def test_the_walk_stops_at_a_segment_of_more_than_four_words():
    headline, tags = split_header("Intro | this segment has five words Ferry | Tag")
    assert (headline, tags) == ("Intro | this segment has five words", ("Ferry", "Tag"))


def test_the_walk_stops_at_a_segment_with_sentence_punctuation():
    assert split_header("Intro | It rained. | Weather") == ("Intro | It rained.", ("Weather",))


def test_the_walk_stops_at_a_segment_over_forty_characters():
    long_word = "Supercalifragilisticexpialidociousnessity" * 2
    assert split_header(f"Intro | {long_word} | Tag") == ("Intro", (long_word, "Tag"))


def test_the_walk_never_takes_the_first_segment():
    assert split_header("Harbour | Ferry | Weather") == ("Harbour", ("Ferry", "Weather"))


def test_a_header_whose_segments_are_all_sentences_has_no_tags():
    header = "Editor's note. | The ferry is late again today, said the captain."
    assert split_header(header) == (header, ())


def test_duplicate_tags_are_kept_once_in_first_spelling():
    assert split_header("Boats everywhere! Harbour | HARBOUR | ｈａｒｂｏｕｒ | Sea") == (
        "Boats everywhere!", ("Harbour", "Sea"))


def test_empty_segments_are_not_tags():
    assert split_header("Ferries are back! Harbour || Sea |") == (
        "Ferries are back!", ("Harbour", "Sea"))


def test_spaces_and_control_characters_never_reach_headline_or_tags():
    headline, tags = split_header("  The\tferry\u200b  is back!\x01 Harbour |  Sea\u202e  ")
    assert headline == "The ferry is back!"
    assert tags == ("Harbour", "Sea")


@pytest.mark.parametrize(("header", "headline", "tags"), [
    # Plain headers (printable, single spaces) take a shorter way; these do not.
    ("The ferry\tis back! Sea | Port", "The ferry is back!", ("Sea", "Port")),
    ("Ferry  news arrives Sea | Port", "Ferry news arrives", ("Sea", "Port")),
    ("Ferry\u200b news Sea | Port", "Ferry news", ("Sea", "Port")),
    ("Intro\u3000| Ferry news。港口 | 城市", "Intro | Ferry news。", ("港口", "城市")),
    # Plain ones, off the most common shape: tags in the first segment's right, a
    # leading space, an empty or repeated tag, nothing after the sentence end.
    ("Intro | Ferry news arrives Sea | Port", "Intro", ("Ferry news arrives Sea", "Port")),
    (" Ferry | Sea", "Ferry", ("Sea",)),
    ("Ferry | sea | SEA | Ｓｅａ", "Ferry", ("sea",)),
    ("Ferry news | | Sea", "Ferry", ("news", "Sea")),
    ("Ferry news! | Sea", "Ferry news!", ("Sea",)),
])
def test_headers_off_the_common_shape_split_by_the_same_rules(header, headline, tags):
    assert split_header(header) == (headline, tags)


@pytest.mark.parametrize(("header", "tags"), [
    ("Quays are full again. Ports, Docks | City", ("Ports", "Docks", "City")),
    ("Quays are full again. Harbour | Ports, Docks", ("Harbour", "Ports", "Docks")),
    ("码头又满了。港口，码头｜城市", ("港口", "码头", "城市")),
    ("Quays are full again. Ports, | Docks, Ports", ("Ports", "Docks")),
])
def test_a_tag_never_holds_a_comma_as_readers_split_labels_there(header, tags):
    assert split_header(header)[1] == tags
