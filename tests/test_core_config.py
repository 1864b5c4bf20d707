"""Settings: one declarative table, validated once, errors naming flag and variable."""

import dataclasses
from pathlib import Path

import pytest

from service.config import SETTINGS, SettingError, Settings, defaults, load_settings


def test_the_table_and_the_settings_type_name_the_same_settings():
    assert [s.name for s in SETTINGS] == [f.name for f in dataclasses.fields(Settings)]


def test_every_default_is_valid():
    settings = defaults()
    assert settings.seeds == Path("seeds")
    assert settings.port == 8080
    assert settings.entries == 50
    assert settings.debounce == pytest.approx(0.2)
    assert settings.max_file_size == 10 * 1024 * 1024


def test_the_environment_overrides_defaults_and_flags_override_the_environment():
    env = {"SEEDFEEDS_PORT": "9000", "SEEDFEEDS_ENTRIES": "20"}
    settings = load_settings({"port": "9001"}, env)
    assert (settings.port, settings.entries) == (9001, 20)


@pytest.mark.parametrize(("name", "raw", "words"), [
    ("port", "http", "whole number"),
    ("port", "70000", "from 1 to 65535"),
    ("base_url", "ftp://x", "http(s) URL"),
    ("timezone", "Nowhere/City", "unknown time zone"),
    ("debounce", "soon", "seconds"),
    ("max_file_size", "big", "size"),
    ("poll", "maybe", "true or false"),
    ("language", "English", "language code such as en"),
])
def test_a_bad_value_names_the_flag_and_the_variable(name, raw, words):
    with pytest.raises(SettingError) as caught:
        load_settings({}, {f"SEEDFEEDS_{name.upper()}": raw})
    message = str(caught.value)
    assert f"--{name.replace('_', '-')} / SEEDFEEDS_{name.upper()}" in message
    assert words in message


def test_units_are_understood():
    settings = load_settings({"debounce": "150ms", "max_file_size": "2MiB", "reconcile": "5s"}, {})
    assert settings.debounce == pytest.approx(0.15)
    assert settings.max_file_size == 2 * 1024 * 1024
    assert settings.reconcile == 5


@pytest.mark.parametrize(("raw", "tag"), [
    ("en", "en"), ("DE", "de"), ("pt-br", "pt-BR"), ("zh_hant_tw", "zh-Hant-TW"),
    ("es-419", "es-419")])
def test_a_language_is_a_bcp_47_tag_in_its_conventional_case(raw, tag):
    assert load_settings({"language": raw}, {}).language == tag


def test_the_base_url_loses_its_trailing_slash():
    assert load_settings({"base_url": "https://news.example.org/"}, {}).base_url == (
        "https://news.example.org")
