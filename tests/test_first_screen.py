"""The example on a phone, measured in Chromium at 360×740: the header and urgent banner
leave the page its first screen, an article's first paragraph shows on it, the home
leads with its newest story, appeals look like appeals, every control is a 44×44 px
target, focus rings stand out in both colour schemes, images fetch no more than
about 1.5 times the pixels they show, and axe-core and the Nu HTML Checker find
nothing (each when installed: ``make tools``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from generator.config import load_config
from tests.browser import chromium, needs_chromium, serve
from tests.conftest import REPO, Built

pytestmark = needs_chromium

PHONE = {"width": 360, "height": 740}
HEADER_MAX = 120  # the urgent banner and the header together, in CSS px
TARGET = 44
AXE = REPO / ".tools/node_modules/axe-core/axe.min.js"
VNU = REPO / ".tools/node_modules/vnu-jar/build/dist/vnu.jar"
JAVA = shutil.which("java")


@pytest.fixture(scope="module")
def site(example: Built) -> Iterator[tuple[Built, str]]:
    assert example.code == 0
    with serve(example.output) as base:
        yield example, base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


def languages(built: Built) -> tuple[str, ...]:
    return load_config(built.site).language_codes


def articles(built: Built) -> list[str]:
    """Every article of the example, as a URL path."""
    found = []
    for file in built.files():
        if file.endswith("/index.html") and file.count("/") == 3 and \
                b'<article class="post' in (built.output / file).read_bytes():
            found.append("/" + file.removesuffix("index.html"))
    return found


def test_header_and_urgent_banner_take_at_most_120_px(site, browser) -> None:
    built, base = site
    page = browser.new_page(viewport=PHONE)
    for lang in languages(built):
        for path in (f"/{lang}/", f"/{lang}/news/", f"/{lang}/news/water-points-restored/"):
            page.goto(base + path)
            boxes = page.evaluate("""() => ['.urgent', 'header.top'].map(
                s => document.querySelector(s)?.getBoundingClientRect().bottom)""")
            assert boxes[0] is not None, f"{path}: the example has an urgent appeal"
            assert boxes[1] <= HEADER_MAX, f"{path}: header ends at {boxes[1]} px"
    page.close()


def test_an_articles_first_paragraph_shows_on_the_first_screen(site, browser) -> None:
    built, base = site
    page = browser.new_page(viewport=PHONE)
    shown = {}
    for path in articles(built):
        page.goto(base + path)
        top, line = page.evaluate("""() => { const p = document.querySelector('.post .body > p');
            return p ? [p.getBoundingClientRect().top, parseFloat(getComputedStyle(p).lineHeight)]
                     : [0, 0] }""")
        shown[path] = (PHONE["height"] - top) / line if line else 99
    assert len(shown) > 40
    hidden = {path: round(lines, 1) for path, lines in shown.items() if lines < 3}
    assert not hidden, f"fewer than three lines of the first paragraph on screen: {hidden}"
    page.close()


def test_the_home_leads_with_the_newest_story_image_and_summary(site, browser) -> None:
    built, base = site
    feed = json.loads((built.output / "en/feed.json").read_text())
    newest = urlsplit(feed["items"][0]["url"]).path
    page = browser.new_page(viewport=PHONE)
    page.goto(base + "/en/", wait_until="load")
    lead = page.evaluate("""() => {
        const a = document.querySelector('.cards > li:first-child > .lead');
        const img = a.querySelector('img'), summary = a.querySelector('h2 + .meta + p');
        const main = document.querySelector('main');
        return {href: a.querySelector('h2 a').getAttribute('href'), loaded: img.naturalWidth,
                image: img.getBoundingClientRect().top,
                summary: summary.getBoundingClientRect().top,
                first: main.firstElementChild.nextElementSibling.contains(a)}}""")
    assert lead["href"] == newest
    assert lead["loaded"] > 0 and lead["image"] < HEADER_MAX + 20
    assert lead["summary"] < PHONE["height"], "the summary starts on the first screen"
    assert lead["first"], "nothing but the (visually hidden) site title comes before it"
    page.close()


def test_appeals_have_their_own_look_and_a_donate_link(site, browser) -> None:
    built, base = site
    donate = load_config(built.site).organisation.donate_url
    page = browser.new_page(viewport=PHONE)
    page.goto(base + "/en/")
    cards = page.evaluate("""() => [...document.querySelectorAll('main article')].map(a => ({
        href: a.querySelector('h2 a').getAttribute('href'), appeal: a.classList.contains('appeal'),
        background: getComputedStyle(a).backgroundColor,
        donate: a.querySelector('.donate') && a.querySelector('.donate').href}))""")
    appeals = [c for c in cards if "/appeals/" in c["href"]]
    news = [c for c in cards if "/news/" in c["href"]]
    assert appeals and news
    assert all(c["appeal"] and c["donate"] == donate for c in appeals)
    assert not any(c["appeal"] or c["donate"] for c in news)
    assert {c["background"] for c in appeals}.isdisjoint({c["background"] for c in news})
    page.goto(base + "/en/appeals/child-nutrition-appeal/")
    assert page.locator(".post.appeal .give .donate").get_attribute("href") == donate
    assert page.locator(".post .cta .donate").count() == 1
    page.close()


# Every control a reader taps: the section navigation and the header's links, the pager,
# share links and buttons, topics, the section label, breadcrumbs, the footer's links.
CONTROLS = (".sections a, .brand, .search-link, .top .donate, .pager a, .share a, "
            ".share button:not([hidden]), .tags a, .taglist a, .kicker a, .crumbs a, .foot a, "
            ".give .donate, .cta .donate, .cards .donate, .lead .donate")


def test_navigation_pager_share_and_tag_links_are_44_px_targets(site, browser) -> None:
    built, base = site
    page = browser.new_page(viewport=PHONE)
    small = []
    for lang in ("en", "ar", "zh"):
        for path in (f"/{lang}/", f"/{lang}/page/2/", f"/{lang}/news/water-points-restored/",
                     f"/{lang}/tags/", f"/{lang}/about/"):
            if not (built.output / path.strip("/") / "index.html").exists():
                continue
            page.goto(base + path)
            sizes = page.evaluate(f"""() => [...document.querySelectorAll({CONTROLS!r})]
                .map(e => [e.className || e.textContent.trim(), e.getBoundingClientRect()])
                .map(([name, r]) => [name, Math.round(r.width), Math.round(r.height)])""")
            assert sizes, path
            small += [(path, *size) for size in sizes if size[1] < TARGET or size[2] < TARGET]
    assert small == []
    page.close()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _rgb(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", text)[:3])


FOCUSED = """() => { const e = document.activeElement, s = getComputedStyle(e);
    if (e.dataset.seen) return null; e.dataset.seen = 1;
    const inside = parseFloat(s.outlineOffset) < 0;
    let n = inside ? e : e.parentElement, bg = 'rgb(255, 255, 255)';
    while (n) { const c = getComputedStyle(n).backgroundColor;
        if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break } n = n.parentElement }
    return {name: e.tagName + '.' + e.className + ' ' + e.textContent.trim().slice(0, 20),
            style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
            bg} }"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_focus_ring_has_3_to_1_contrast(site, browser, scheme: str) -> None:
    """Tab through every control of a home, a list and an article (left to right and
    right to left): each one's ring, against what is behind it."""
    _built, base = site
    context = browser.new_context(viewport=PHONE, color_scheme=scheme)
    page = context.new_page()
    weak = []
    for path in ("/en/", "/en/news/", "/ar/news/water-points-restored/"):
        page.goto(base + path)
        seen = []
        for _ in range(80):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUSED)
            if ring is None or ring["name"].startswith("BODY"):
                break  # round the page once
            seen.append(ring["name"])
            ratio = contrast(_rgb(ring["color"]), _rgb(ring["bg"]))
            if ring["style"] == "none" or ring["width"] < 2 or ratio < 3:
                weak.append((path, ring["name"], ring["color"], ring["bg"], round(ratio, 2)))
        assert len(seen) > 10, path
    assert weak == []
    context.close()


def test_the_urgent_banner_is_a_labelled_landmark(site, browser) -> None:
    _built, base = site
    page = browser.new_page(viewport=PHONE)
    page.goto(base + "/en/news/")
    tag, label = page.evaluate("""() => { const e = document.querySelector('.urgent');
        const l = e.closest('header, main, footer, nav, aside, [role=region][aria-label]');
        return [l && l.tagName, l && l.getAttribute('aria-label')] }""")
    assert tag == "ASIDE" and label
    page.close()


@pytest.mark.parametrize(("width", "ratio"), [(360, 2), (360, 3), (390, 3), (412, 2.625),
                                               (430, 3), (1280, 1), (1280, 2)])
def test_images_fetch_at_most_about_one_and_a_half_times_the_pixels_shown(
        site, browser, width: int, ratio: float) -> None:
    _built, base = site
    context = browser.new_context(viewport={"width": width, "height": 740},
                                  device_scale_factor=ratio)
    page = context.new_page()
    for path in ("/en/news/water-points-restored/", "/ar/", "/zh/appeals/flood-emergency-appeal/"):
        page.goto(base + path, wait_until="load")
        page.evaluate("scrollTo(0, document.body.scrollHeight)")  # the lazy images in the text
        page.wait_for_load_state("networkidle")
        shown = page.evaluate("""() => [...document.querySelectorAll('picture img')].map(
            i => [i.currentSrc, i.getBoundingClientRect().width, i.naturalWidth])""")
        assert shown, path
        for source, css_width, natural in shown:
            needed = css_width * ratio
            found = re.search(r"-(\d+)w-", source)
            fetched = int(found.group(1)) if found else natural
            assert fetched >= min(needed, natural) * 0.8, (path, source, needed)
            assert (fetched / needed) ** 2 <= 1.6 or fetched == min(480, natural), \
                (path, source, needed)
    context.close()


# The chooser at / ------------------------------------------------------------------------

def test_the_chooser_redirects_before_requesting_anything_else(site, browser) -> None:
    _built, base = site
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.add_init_script("Object.defineProperty(navigator, 'languages', {get: () => ['fr-FR']})")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(urlsplit(request.url).path))
    page.goto(base + "/")
    page.wait_for_url("**/fr/")
    assert requested[:2] == ["/", "/fr/"], requested
    context.close()


def test_the_chooser_speaks_every_language_when_it_stays(site, browser) -> None:
    built, base = site
    context = browser.new_context(locale="de-DE", viewport=PHONE)
    page = context.new_page()
    page.add_init_script("Object.defineProperty(navigator, 'languages', {get: () => ['de-DE']})")
    page.goto(base + "/", wait_until="load")
    assert urlsplit(page.url).path == "/"
    headings = page.evaluate("""() => [...document.querySelectorAll('h1 > span')].map(
        s => [s.lang, s.dir, s.textContent])""")
    config = load_config(built.site)
    assert [code for code, _dir, _name in headings] == list(config.language_codes)
    assert dict((code, d) for code, d, _name in headings)["ar"] == "rtl"
    display = page.evaluate("getComputedStyle(document.querySelector('h1 span')).display")
    assert display == "block", "the stylesheet the script added applies"
    assert page.locator('meta[name="description"]').get_attribute("content")
    context.close()


# axe-core and the Nu HTML Checker ----------------------------------------------------------

@pytest.mark.skipif(not AXE.is_file(), reason="axe-core is not installed (make tools)")
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [360, 1280])
def test_axe_finds_no_violation(site, browser, scheme: str, width: int) -> None:
    _built, base = site
    context = browser.new_context(viewport={"width": width, "height": 740}, color_scheme=scheme,
                                  bypass_csp=True, locale="de-DE")  # de: the chooser stays
    page = context.new_page()
    found = {}
    for path in ("/", "/en/", "/en/page/2/", "/en/news/", "/en/news/water-points-restored/",
                 "/en/appeals/flood-emergency-appeal/", "/en/tags/", "/en/about/",
                 "/ar/", "/ar/news/water-points-restored/", "/zh/", "/404.html"):
        page.goto(base + path, wait_until="load")
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async () => (await axe.run(document)).violations.map(
            v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))""")
        if violations:
            found[path] = violations
    assert found == {}
    context.close()


@pytest.mark.skipif(not (VNU.is_file() and JAVA), reason="vnu.jar or java missing (make tools)")
def test_the_nu_html_checker_finds_nothing_in_the_example(site) -> None:
    """Every HTML file of the example. The checker's notes that a file's Content-Security-
    Policy would block its own stylesheet are left out: it applies 'self' to file URLs."""
    built, _base = site
    result = subprocess.run(
        [JAVA, "-jar", str(VNU), "--skip-non-html", "--format", "gnu",
         "--filterpattern", ".*Content Security Policy.*", str(built.output)],
        capture_output=True, text=True, timeout=600)
    findings = [line.replace(str(built.output), "") for line in result.stderr.splitlines()]
    assert findings == [] and result.returncode == 0
