"""Pages in a real browser: 320 px without horizontal scroll, right-to-left Arabic,
nothing loaded from another host, the chooser following the browser's languages."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.browser import chromium, needs_chromium, serve
from tests.conftest import Built

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


def article_pages(built: Built) -> list[str]:
    return [f for f in built.files() if f.endswith("index.html") and f.count("/") == 3][:40]


def test_pages_fit_320_px_without_horizontal_scroll(example: Built, browser) -> None:
    pages = ["en/index.html", "ar/index.html", "zh/index.html", *article_pages(example)]
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    with serve(example.output) as base:
        for path in pages:
            page.goto(f"{base}/{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 320px"
    context.close()


def test_arabic_is_laid_out_right_to_left(example: Built, browser) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 640})
    page = context.new_page()
    with serve(example.output) as base:
        page.goto(f"{base}/ar/")
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        heading = page.locator("h1").first.bounding_box()
        brand = page.locator(".brand").bounding_box()
        assert brand["x"] + brand["width"] > 360 - 40, "the brand sits at the right edge in RTL"
        assert heading is not None
    context.close()


def test_nothing_is_loaded_from_another_host(example: Built, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with serve(example.output) as base:
        host = urlsplit(base).netloc
        for path in ("en/index.html", "ar/index.html", *article_pages(example)[:10]):
            page.goto(f"{base}/{path}", wait_until="networkidle")
        foreign = [url for url in requested
                   if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != host]
        assert foreign == []
    context.close()


@pytest.mark.parametrize(("languages", "expected"), [
    (["fr-CA", "en"], "/fr/"), (["ar-EG"], "/ar/"), (["de-DE"], "/"), (["zh-CN"], "/zh/"),
    (["uk-UA", "ru"], "/uk/"), (["am-ET"], "/am/"), (["bn-BD", "en"], "/bn/")])
def test_root_chooser_follows_the_browser_languages(example: Built, browser, languages,
                                                    expected) -> None:
    context = browser.new_context(locale=languages[0],
                                  extra_http_headers={"Accept-Language": ",".join(languages)})
    page = context.new_page()
    with serve(example.output) as base:
        page.add_init_script(
            f"Object.defineProperty(navigator, 'languages', {{get: () => {languages!r}}})")
        page.goto(f"{base}/")
        page.wait_for_load_state()
        assert urlsplit(page.url).path == expected
    context.close()


def test_the_switcher_choice_is_remembered(example: Built, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    with serve(example.output) as base:
        page.add_init_script("Object.defineProperty(navigator, 'languages', "
                             "{get: () => ['en-GB']})")
        page.goto(f"{base}/en/")
        page.goto(f"{base}/en/about/")
        page.locator('.langs a[hreflang="fr"]').click()
        page.wait_for_url("**/fr/about/")
        page.goto(f"{base}/")
        page.wait_for_url("**/fr/")
        page.goto(f"{base}/en/")
        assert urlsplit(page.url).path == "/en/", "pages asked for directly never redirect"
    context.close()
