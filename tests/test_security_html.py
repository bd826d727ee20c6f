"""Issue #15, raw HTML: the `[markdown] html` policy, escaping on every rewrite path, the
Content-Security-Policy on every page, and `check` reporting scripts.

Hostile fixture sites are written to temporary folders and built with the real command
line in each mode; pages are read with lxml, and in Debian's Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jinja2
import lxml.html
import pytest
from PIL import Image

from generator import csp, imaging
from generator.imaging import Picture, Rendition
from generator.outputs.feeds import absolute_html
from generator.views import with_prefix
from tests.browser import chromium, needs_chromium, serve
from tests.conftest import Built

MODES = ("safe", "escape", "allow")
HOSTILE = """\
---
title: Hostile story
date: 2025-01-02T10:00:00+00:00
---

Intro paragraph with **bold** text.

<script>window.pwned = "script"</script>

<img src="dot.gif" onerror="window.pwned = 'onerror'" alt="raw">

[js link](JaVa&#x09;ScRiPt:window.pwned='js')

<a href=" jav&#x61;script&colon;window.pwned='entity'">entity link</a>

<a href="vbscript:msgbox">vb link</a>

![data image](data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=)

<iframe src="https://tracker.example/embed"></iframe>

<svg onload="window.pwned = 'svg'"><circle r="1"/></svg>

<style>body { display: none }</style>

![hostile class](photo.jpg){: class='a" onerror="window.pwned=1' title="t<i>&amp;\"x" }

Last line.
"""
ORDINARY = """\
---
title: Ordinary story
date: 2025-01-01T10:00:00+00:00
---

## A heading

Text with a footnote[^1], <abbr title="World Health Organization">WHO</abbr>,
H<sub>2</sub>O and x<sup>2</sup>.

| Left | Right |
|:-----|------:|
| a    | b     |

<figure><img src="photo.jpg" alt="figure photo"><figcaption>A caption</figcaption></figure>

<details><summary>More</summary>Hidden text.</details>

```python
print("hi")
```

> A quote with [a link](https://example.org/a?b=1&c=2) and [a page](/en/).

<p class="note" id="note-1">A note.</p>

![responsive](tank.png)

[^1]: The note.
"""
CONFIG = """\
base_url = "https://example.org/"
[organisation]
name = "Test Relief"
[languages.en]
[markdown]
html = "{mode}"
"""


def cls(name: str) -> str:
    """An XPath test for an element with this class."""
    return f'contains(concat(" ", @class, " "), " {name} ")'


BODY = f"//div[{cls('body')}]"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True,
                          text=True, timeout=120)


def write_site(root: Path, mode: str) -> Path:
    site = root / "site"
    story = site / "content/en/news/story"
    story.mkdir(parents=True)
    (site / "site.toml").write_text(CONFIG.format(mode=mode), encoding="utf-8")
    (story / "index.md").write_text(HOSTILE, encoding="utf-8")
    ordinary = site / "content/en/news/ordinary"
    ordinary.mkdir(parents=True)
    (ordinary / "index.md").write_text(ORDINARY, encoding="utf-8")
    for folder in (story, ordinary):
        Image.new("RGB", (1200, 800), (200, 100, 50)).save(folder / "photo.jpg")
    Image.new("RGB", (640, 480), (20, 100, 150)).save(ordinary / "tank.png")
    Image.new("RGB", (1, 1)).save(story / "dot.gif")  # not made into a <picture>
    return site


class Mode:
    def __init__(self, mode: str, site: Path, result: subprocess.CompletedProcess[str]) -> None:
        self.mode = mode
        self.site = site
        self.output = site.parent / "out"
        self.result = result

    def html(self, path: str) -> lxml.html.HtmlElement:
        return lxml.html.fromstring((self.output / path).read_bytes())

    def body(self, name: str = "story") -> lxml.html.HtmlElement:
        return self.html(f"en/news/{name}/index.html").xpath(BODY)[0]

    def line(self, needle: str) -> int:
        lines = (self.site / "content/en/news/story/index.md").read_text().splitlines()
        return next(n for n, text in enumerate(lines, 1) if needle in text)


@pytest.fixture(scope="module", params=MODES)
def built(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Mode:
    site = write_site(tmp_path_factory.mktemp(request.param), request.param)
    result = _run("build", "--site", str(site), "--output", str(site.parent / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    return Mode(request.param, site, result)


def theme_hashes(doc: lxml.html.HtmlElement) -> set[str]:
    """The script hashes the page's policy allows."""
    policy = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]')[0].get("content")
    sources = next(d.split()[1:] for d in policy.split(";") if d.split()[:1] == ["script-src"])
    return set(sources)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def running_code(body: lxml.html.HtmlElement) -> list[str]:
    """Every way the body could run code: scripts, handlers, script URLs, frames."""
    found = [f"<{el.tag}>" for el in body.iter("script", "iframe", "object", "embed", "style")]
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"{el.tag} {name}=")
            url = re.sub(r"[\t\n\r]", "", value).strip("\x00 ").lower()
            if name in ("href", "src", "action", "formaction") and \
                    url.startswith(("javascript:", "vbscript:", "data:")):
                found.append(f"{el.tag} {name}={value}")
    found += [f"<{el.tag}>" for el in body.iter() if isinstance(el.tag, str)
              and el.tag.split("}")[-1] in ("svg", "math")]
    return found


# The policy in each mode -------------------------------------------------------------

def test_safe_and_escape_leave_nothing_that_runs(built: Mode) -> None:
    body = built.body()
    if built.mode == "allow":
        assert {"<script>", "img onerror=", "svg onload=", "<iframe>", "<style>"} <= \
            set(running_code(body))
        return
    assert running_code(body) == []
    assert "Intro paragraph" in body.text_content() and "Last line." in body.text_content()


def test_escape_shows_raw_html_as_text(built: Mode) -> None:
    text = built.body().text_content()
    shown = '<script>window.pwned = "script"</script>' in text
    assert shown == (built.mode == "escape")
    if built.mode == "escape":
        assert "<iframe src=" in text and "<svg onload=" in text


def test_safe_keeps_ordinary_markup(built: Mode) -> None:
    body = built.body("ordinary")
    assert body.xpath('.//h2[@id="a-heading"]')
    assert [th.get("style").replace(" ", "").rstrip(";") for th in body.xpath('.//th')] == \
        ["text-align:left", "text-align:right"]
    assert body.xpath(f'.//sup[@id="fnref:1"]/a[{cls("footnote-ref")}][@href="#fn:1"]')
    assert body.xpath(f'.//div[{cls("footnote")}]//li[@id="fn:1"]//a[{cls("footnote-backref")}]')
    assert body.xpath(f'.//pre/code[{cls("language-python")}]')
    assert body.xpath('.//blockquote//a[@href="https://example.org/a?b=1&c=2"]')
    assert body.xpath('.//blockquote//a[@href="/en/"]')
    if built.mode == "escape":
        return  # the raw HTML below is text there
    assert body.xpath('.//abbr[@title="World Health Organization"]')
    assert body.xpath('.//sub') and body.xpath('.//sup')
    assert body.xpath('.//figure/figcaption')
    assert body.xpath('.//details/summary')
    assert body.xpath(f'.//p[{cls("note")}][@id="note-1"]')
    picture = body.xpath('.//picture')
    assert len(picture) == 2  # the raw <img> in the figure and the Markdown image
    for img in body.xpath('.//picture//img'):
        assert img.get("srcset") and img.get("sizes") and img.get("width") and \
            img.get("loading") == "lazy" and img.get("decoding") == "async"
    assert body.xpath('.//picture/source[@type="image/webp"][@srcset]')


def test_removals_are_warnings_at_the_markdown_line(built: Mode) -> None:
    shown = built.result.stdout + built.result.stderr
    where = "content/en/news/story/index.md"
    expected = {
        "removed <script>": built.line("<script>"),
        "removed event handler onerror= from <img>": built.line('onerror="window'),
        "removed javascript: URL from href= of <a>": built.line("[js link]"),
        "removed vbscript: URL from href= of <a>": built.line("vbscript:"),
        "removed data: URL from src= of <img>": built.line("![data image]"),
        "removed <iframe>": built.line("<iframe"),
        "removed <svg>": built.line("<svg"),
        "removed <style>": built.line("<style>"),
    }
    entity_line = built.line("entity link")
    if built.mode == "safe":
        for message, line in expected.items():
            assert f"{where}:{line}: warning: {message}" in shown, (message, shown)
        assert f"{where}:{entity_line}: warning: removed javascript: URL" in shown
    elif built.mode == "escape":  # only what Markdown itself made
        assert f"{where}:{expected['removed javascript: URL from href= of <a>']}: warning" \
            in shown
        assert "removed <script>" not in shown and "removed <iframe>" not in shown
    else:
        assert "warning: removed" not in shown


def test_the_attribute_list_cannot_add_an_attribute_to_a_bundle_image(built: Mode) -> None:
    images = [img for img in built.body().iter("img") if img.get("alt") == "hostile class"]
    assert len(images) == 1
    img = images[0]
    assert img.xpath("ancestor::picture")  # rewritten into <picture>
    assert img.get("class") == 'a" onerror="window.pwned=1'
    assert not [name for name in img.attrib if name.startswith("on")]
    assert set(img.attrib) <= {"class", "src", "srcset", "sizes", "width", "height", "alt",
                               "loading", "decoding"}


def test_check_reports_scripts_at_their_markdown_line(built: Mode) -> None:
    result = _run("check", "--site", str(built.site), "--output", str(built.output), "--json")
    report = json.loads(result.stdout)
    scripts = {(f["line"], f["message"].split(":")[0]) for f in report["findings"]
               if f["kind"] == "script"}
    if built.mode != "allow":
        assert scripts == set()
        return
    assert result.returncode == 1
    sources = {f["source"] for f in report["findings"] if f["kind"] == "script"}
    assert sources == {"content/en/news/story/index.md"}
    assert (built.line("<script>"), "inline <script> that is not the theme's") in scripts
    assert (built.line('onerror="window'), "event handler onerror= on <img>") in scripts
    assert (built.line("<svg"), "event handler onload= on <svg>") in scripts
    assert (built.line("[js link]"), "javascript") in scripts
    assert (built.line("entity link"), "javascript") in scripts
    assert (built.line("vbscript:"), "vbscript") in scripts
    assert (built.line("![data image]"), "data") in scripts
    text = _run("check", "--site", str(built.site), "--output", str(built.output)).stdout
    assert f"content/en/news/story/index.md:{built.line('<script>')}: error: inline <script>" \
        in text


def test_changing_the_policy_parses_again(tmp_path: Path) -> None:
    site = write_site(tmp_path, "allow")
    output = tmp_path / "out"
    assert _run("build", "--site", str(site), "--output", str(output)).returncode == 0
    page = output / "en/news/story/index.html"
    assert lxml.html.fromstring(page.read_bytes()).xpath(BODY + "//script")
    (site / "site.toml").write_text(CONFIG.format(mode="safe"), encoding="utf-8")
    result = _run("build", "--site", str(site), "--output", str(output))
    assert result.returncode == 0
    assert "warning: removed <script>" in result.stdout + result.stderr
    assert running_code(lxml.html.fromstring(page.read_bytes()).xpath(BODY)[0]) == []


def test_an_unknown_policy_is_an_error_at_its_line(tmp_path: Path) -> None:
    site = write_site(tmp_path, "sometimes")
    result = _run("build", "--site", str(site), "--output", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "site.toml:6: markdown.html must be \"safe\"" in result.stderr
    assert "Traceback" not in result.stderr


# Every rewrite path escapes what it writes -------------------------------------------

HOSTILE_VALUES = ['a" onerror="alert(1)', "a' onmouseover='alert(1)", "<script>x</script>",
                  "a & b &amp; c", "line\none", '"><img src=x onerror=alert(1)>']


def _picture(tmp_path: Path, name: str) -> Picture:
    source = tmp_path / name
    Image.new("RGB", (600, 400)).save(source, "JPEG")
    renditions = tuple(Rendition(f"/en/x/{name}-{w}w.{ext}", w, w * 2 // 3, fmt, source)
                       for fmt, ext in (("WEBP", "webp"), ("JPEG", "jpg")) for w in (480, 600))
    return Picture(f"/en/x/{name}", 600, 400, "JPEG", renditions)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_picture_html_escapes_every_value(tmp_path: Path, value: str) -> None:
    found = _picture(tmp_path, 'we"ird <&>.jpg')
    markup = imaging.picture_html(found, lambda path: path + value, value, css_class=value)
    doc = lxml.html.fragment_fromstring(markup, create_parent="div")
    img = doc.xpath('.//picture//img')[0]
    assert img.get("class") == value and img.get("alt") == value
    assert img.get("src") == found.fallback().path + value
    assert len(doc.xpath('.//img')) == 1 and len(doc.xpath('.//source')) == 1
    assert not [name for el in doc.iter() for name in el.attrib if name.startswith("on")]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_bundle_image_rewrite_escapes_what_it_read(tmp_path: Path, value: str) -> None:
    from generator.model import Page

    bundle = tmp_path / "bundle"
    bundle.mkdir()
    Image.new("RGB", (900, 600)).save(bundle / "photo.jpg")
    page = Page(id="en/news/x", lang="en", kind="article", section="news", slug="x",
                title="x", date=None, updated=None, summary="", tags=(), image="",
                image_alt="", image_size=None, image_file=None, draft=False, urgent=False,
                translation_key="x", body_html="", source=Path("x.md"), path="/en/news/x/",
                resources=(bundle / "photo.jpg",), extra={}, fields_set=frozenset(),
                translation_of="", digest="")
    escaped = value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    single = value.replace("&", "&amp;").replace("'", "&#39;")
    bodies = [
        f'<p><img alt="{escaped}" class="{escaped}" src="photo.jpg"></p>',
        f"<p><img alt='{single}' src=photo.jpg class=\"{escaped}\"></p>",
        f'<p><a title="<img src=photo.jpg class={escaped}>">link</a></p>',  # not an image
        f'<!-- <img src="photo.jpg" class="{escaped}"> --><p>after</p>',
    ]
    for body in bodies:
        html = imaging.rewrite_images(body, page, lambda path: path)
        doc = lxml.html.fragment_fromstring(html, create_parent="div")
        assert not [name for el in doc.iter() if isinstance(el.tag, str)
                    for name in el.attrib if name.startswith("on")], html
        for img in doc.xpath('.//picture//img'):
            assert img.get("class") == value and img.get("alt") in (value, "")
        if "<a title" in body:
            assert doc.xpath('.//a')[0].get("title").startswith("<img src=photo.jpg")
            assert not doc.xpath('.//picture')


@pytest.mark.parametrize("prefix", ['/hub"x', "/a<b>&c", "/n\nl"])
def test_root_relative_links_take_an_escaped_prefix(prefix: str) -> None:
    html = with_prefix('<p><a href="/en/x/">x</a><img src="/img/a.png" alt=""></p>', prefix)
    doc = lxml.html.fragment_fromstring(html)
    assert doc.xpath('.//a')[0].get("href") == prefix + "/en/x/"
    assert doc.xpath('.//img')[0].get("src") == prefix + "/img/a.png"
    assert set(doc.xpath('.//img')[0].attrib) == {"src", "alt"}


def test_feed_links_are_made_absolute_and_escaped() -> None:
    body = ('<p><a href="a?b=1&amp;c=&quot;2">x</a><img alt="" src="p.jpg" '
            'srcset="p-480.jpg 480w, p&amp;q.jpg 960w"></p>')
    doc = lxml.html.fragment_fromstring(absolute_html(body, 'https://example.org/en/x"y/'))
    assert doc.xpath('.//a')[0].get("href") == 'https://example.org/en/x"y/a?b=1&c="2'
    img = doc.xpath('.//img')[0]
    assert img.get("src") == 'https://example.org/en/x"y/p.jpg'
    assert img.get("srcset") == ('https://example.org/en/x"y/p-480.jpg 480w, '
                                 'https://example.org/en/x"y/p&q.jpg 960w')
    assert set(img.attrib) == {"alt", "src", "srcset"}


# Content-Security-Policy -------------------------------------------------------------

def _pages(output: Path) -> Iterator[Path]:
    return (p for p in sorted(output.rglob("*.html")))


def test_every_page_has_a_policy_naming_its_own_scripts(example: Built) -> None:
    assert example.code == 0
    pages = list(_pages(example.output))
    assert len(pages) > 50
    for path in pages:
        doc = lxml.html.fromstring(path.read_bytes())
        metas = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]')
        assert len(metas) == 1, path
        head = doc.find("head")
        assert metas[0].getparent() is head and list(head).index(metas[0]) <= 1, path
        policy = {d.split()[0]: d.split()[1:] for d in metas[0].get("content").split(";")}
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
        sources = policy["script-src"]
        # Data blocks (JSON-LD) never run, so the policy need not name them.
        scripts = doc.xpath('//script[not(@type) or @type="module" or @type="text/javascript"]')
        files = [s.get("src") for s in scripts if s.get("src") is not None]
        if path.parent.name == "search":  # runs files of the site: its own and Pagefind's
            assert sources[:2] == ["'self'", "'wasm-unsafe-eval'"], path  # test_search.py
            assert len(files) == 1 and files[0].startswith("/assets/search."), path
            sources = sources[2:]
        else:
            assert files == [], path
        assert sources and all(s.startswith("'sha256-") for s in sources), path
        inline = [s for s in scripts if s.get("src") is None]
        assert {sha256(s.text) for s in inline} == set(sources), path


def test_hashes_follow_the_rendered_script() -> None:
    env = jinja2.Environment(autoescape=True)
    env.filters["inline_script"] = csp.inline_script
    env.globals["script_hashes"] = csp.script_hashes
    template = env.from_string(
        "<meta content=\"script-src {{ script_hashes() }}\">{% filter inline_script %}"
        "var t={{ targets|tojson }};{% endfilter %}<p>{{ body }}</p>")
    pages = []
    for targets in ({"en": "/en/"}, {"fr": "/fr/<x>"}):
        with csp.collecting() as scripts:
            text = template.render(targets=targets, body=scripts.token)
        pages.append(csp.complete(text, scripts))
    for targets, page in zip(({"en": "/en/"}, {"fr": "/fr/<x>"}), pages, strict=True):
        doc = lxml.html.fromstring(page)
        script = doc.xpath('//script')[0].text
        assert json.dumps(targets).replace("<", "\\u003c").replace(">", "\\u003e") in script
        assert doc.xpath('//meta')[0].get("content") == f"script-src {sha256(script)}"
        assert "newshub-csp-" not in page.split("<p>")[0]
    assert pages[0] != pages[1]


def test_serve_adds_its_reload_script_to_the_policy() -> None:
    page = ('<html><head><meta http-equiv="Content-Security-Policy" content="default-src '
            "'self'; script-src 'sha256-abc='\"></head><body></body></html>")
    script = "<script>new EventSource('/x')</script>"
    widened = csp.permit(page, script)
    policy = lxml.html.fromstring(widened).xpath('//meta')[0].get("content")
    assert policy == (f"default-src 'self'; script-src 'sha256-abc=' "
                      f"{sha256(script[8:-9])}")


# In a real browser -------------------------------------------------------------------

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


def _open(browser: object, url: str) -> tuple[object, list[str]]:
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, messages


@needs_chromium
def test_example_pages_raise_no_policy_violation(example: Built, browser) -> None:
    with serve(example.output) as base:
        for path in ("/", "/en/", "/ar/", "/en/tags/", "/en/404.html",
                     "/en/news/cholera-vaccination-drive/"):
            page, messages = _open(browser, base + path)
            page.wait_for_timeout(100)
            assert page.evaluate("window.__violations") == [], path
            assert [m for m in messages if "Content Security Policy" in m] == [], path
            if path == "/":
                assert page.url == base + "/en/"  # the chooser's script ran
            page.context.close()


@needs_chromium
def test_a_script_let_through_by_allow_does_not_run(tmp_path: Path, browser) -> None:
    site = write_site(tmp_path, "allow")
    output = tmp_path / "out"
    assert _run("build", "--site", str(site), "--output", str(output)).returncode == 0
    with serve(output) as base:
        page, _messages = _open(browser, base + "/en/news/story/")
        page.wait_for_timeout(300)
        assert page.evaluate("window.pwned") is None
        violations = page.evaluate("window.__violations")
        assert any(v.startswith("script-src") for v in violations), violations
        # the theme's own script on the same page did run (it set the copy link's handler)
        assert page.evaluate("typeof document.querySelector('a.copy').onclick") == "function"
        page.context.close()


@needs_chromium
def test_serve_reload_script_runs_under_the_policy(tmp_path: Path, browser) -> None:
    from tests.test_serve import TIMEOUT, Server

    site = write_site(tmp_path, "safe")
    server = Server(site)
    try:
        server.wait_ready()
        page, _messages = _open(browser, server.base + "/en/news/ordinary/")
        page.wait_for_timeout(300)  # the EventSource connects
        story = site / "content/en/news/ordinary/index.md"
        story.write_text(story.read_text().replace("A note.", "A changed note."))
        # a locator, not wait_for_function: the page's CSP forbids evaluating strings
        page.get_by_text("A changed note.").wait_for(timeout=TIMEOUT * 1000)
        assert page.evaluate("window.__violations") == []
        page.context.close()
    finally:
        server.stop()


def test_markdown_links_with_script_urls_are_cleaned_without_raw_html() -> None:
    from generator import sanitize

    for text in ("[x](javascript:alert(1))", "[x](jav&#x61;script:alert(1))",
                 "[x][r]\n\n[r]: vbscript:msgbox", "![x](data:image/png;base64,AAAA)"):
        html, removed = sanitize.body_html(text, "safe")
        doc = lxml.html.fragment_fromstring(html, create_parent="div")
        assert not [v for el in doc.iter() for k, v in el.attrib.items()
                    if k in ("href", "src")], html
        assert removed and removed[0].line == (3 if "[r]:" in text else 1)


def test_plain_prose_skips_the_sanitiser() -> None:
    from generator import markup, sanitize

    text = "Teams delivered [water](/en/news/x/) and [kits](https://example.org/a?b=1).\n"
    assert sanitize.body_html(text, "safe") == (markup.to_html(text), ())


def test_a_cleaned_body_is_the_same_in_every_process() -> None:
    """Ammonia adds the attributes it sets on a task list's checkbox in its hash map's
    order, which differs from one process to the next; the cleaned body does not."""
    script = ("from generator import sanitize; print(sanitize.body_html("
              "'- [x] done\\n- [ ] <input type=checkbox checked> to do <b>now</b>', "
              "'safe')[0])")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True).stdout for _ in range(8)}
    assert len(outputs) == 1, outputs
    assert '<input checked="" disabled="" type="checkbox">' in outputs.pop()
