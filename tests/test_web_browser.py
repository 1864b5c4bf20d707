"""A reader's first visit in real headless Chromium: the index, its feed discovery link, a
tag page and its articles, under the site's strict Content-Security-Policy."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.processes import Server
from support.webserver import Built

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def _missing(reason: str) -> None:
    """Skip on a developer's machine; in CI (CI set) a missing browser is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run installs it")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        _missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def problems() -> list[str]:
    """Console errors (a CSP violation is one) and failed loads of the page under test."""
    return []


def _console_error(problems: list[str], message: Any) -> None:
    # A failed load is reported by _failed_response, with its address.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(message.text)


def _failed_response(problems: list[str], response: Any) -> None:
    # Chromium asks every site for /favicon.ico; seedfeeds publishes none.
    if response.status >= 400 and not response.url.endswith("/favicon.ico"):
        problems.append(f"{response.status} {response.url}")


@pytest.fixture
def page(browser: Any, problems: list[str]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    tab.on("console", lambda message: _console_error(problems, message))
    tab.on("response", lambda response: _failed_response(problems, response))
    tab.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield tab
    finally:
        context.close()


def test_a_reader_finds_the_feed_follows_a_tag_and_sees_its_articles(
        page: Any, problems: list[str], web: Server, built_site: Built) -> None:
    page.goto(f"{built_site.base_url}/")
    assert page.title() == "seedfeeds"
    atom = page.locator('link[rel="alternate"][type="application/atom+xml"]')
    assert atom.first.get_attribute("href") == f"{built_site.base_url}/all.atom"

    page.locator("table.tag-table a", has_text="Harbour").first.click()
    page.wait_for_url(f"{built_site.base_url}/tags/harbour/")
    assert page.locator("h1").inner_text().startswith("Harbour")
    titles = page.locator("ol.entries .entry__title").all_inner_texts()
    assert "New ferry line opens at the old harbour" in titles
    assert "Storm warning for the coast this weekend" in titles
    assert "Embargoed report" not in titles

    page.screenshot(path=str(ARTIFACTS / "tag-page.png"), full_page=True)
    assert problems == []


def test_the_stylesheet_applies_under_the_content_security_policy(
        page: Any, problems: list[str], web: Server, built_site: Built) -> None:
    page.goto(f"{built_site.base_url}/status?format=html")
    width = page.evaluate(
        "getComputedStyle(document.querySelector('.chart__svg')).width")
    assert width.endswith("px") and float(width[:-2]) > 300  # the chart's CSS rule applied
    page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
    assert problems == []
