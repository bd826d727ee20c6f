"""Offline reading: the service worker, the offline pages, the manifests and their icons,
as the build writes them and as Chromium uses them (read, go offline, read again)."""

from __future__ import annotations

import functools
import io
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import lxml.html
import pytest
from PIL import Image

from generator import csp
from generator.cli import main
from generator.config import load_config
from generator.errors import SiteError
from generator.outputs.offline import short_name, site_initials
from tests.browser import chromium, needs_chromium
from tests.conftest import FIXTURES, Built, build_copy
from tests.test_incremental import Workspace

SETTINGS = re.compile(r"^const C = (\{.*\});$", re.MULTILINE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def worker_settings(built: Built | Path) -> dict:
    folder = built.output if isinstance(built, Built) else built
    found = SETTINGS.search((folder / "sw.js").read_text(encoding="utf-8"))
    assert found, "sw.js carries its settings as JSON"
    return json.loads(found.group(1))


def saved_list(built: Built | Path, lang: str, prefix: str = "") -> dict:
    """A language's offline.json: its offline page and the articles saved ahead."""
    folder = built.output if isinstance(built, Built) else built
    settings = worker_settings(folder)
    listed = local(folder, settings["languages"][lang]["list"], prefix)
    data = json.loads(listed.read_text("utf-8"))
    assert data["version"] == settings["languages"][lang]["version"]
    return data


def local(output: Path, url: str, prefix: str = "") -> Path:
    path = url.removeprefix(prefix).lstrip("/")
    return output / (path + "index.html" if path == "" or path.endswith("/") else path)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Built:
    built = build_copy(FIXTURES / "offline", tmp_path_factory.mktemp("offline"))
    assert built.code == 0
    return built


# What the build writes -------------------------------------------------------------------

def test_the_settings_default_and_are_checked(tmp_path: Path) -> None:
    (tmp_path / "site.toml").write_text('title = "T"\n[languages.en]\n', encoding="utf-8")
    settings = load_config(tmp_path).offline
    assert (settings.enabled, settings.budget_kb, settings.pages) == (True, 500, 60)
    (tmp_path / "site.toml").write_text(
        'title = "T"\n[languages.en]\n[offline]\nbudget_kb = -1\npages = 0\nenabled = "yes"\n'
        'budjet_kb = 3\n', encoding="utf-8")
    with pytest.raises(SiteError) as raised:
        load_config(tmp_path)
    messages = "\n".join(str(problem) for problem in raised.value.problems)
    assert "site.toml:4: offline.budget_kb must be a number of KB, 0 or more" in messages
    assert "site.toml:5: offline.pages must be a positive integer" in messages
    assert "site.toml:6: offline.enabled must be true or false" in messages
    assert "unknown key 'offline.budjet_kb'; did you mean 'offline.budget_kb'?" in messages


def test_the_worker_saves_the_shell_and_the_newest_articles_within_the_budget(
        offline: Built) -> None:
    settings = worker_settings(offline)
    assert settings["scope"] == "/" and settings["default"] == "en"
    assert settings["budget"] == 10 * 1024 and settings["pages"] == 60
    assert re.fullmatch(r"/assets/style\.[0-9a-f]{10}\.css", settings["shell"][0])
    assert "/assets/favicon.svg" in settings["shell"]
    for url in settings["shell"]:
        assert local(offline.output, url).is_file(), url
    languages = settings["languages"]
    assert list(languages) == ["en", "ar"]
    assert languages["en"]["root"] == "/en/" and languages["en"]["list"] == "/en/offline.json"
    assert languages["en"]["offline"] == "/en/offline.html"
    lists = {lang: saved_list(offline, lang) for lang in languages}
    # An article weighs about 6.4 KB (en) and 7.2 KB (ar): only the newest fits 10 KB.
    assert [path for path, _ in lists["en"]["saved"]] == ["news/story-4/"]
    assert [path for path, _ in lists["ar"]["saved"]] == ["news/story-4/"]
    assert lists["en"]["offline"][0] == "/en/offline.html"
    revisions = [lists[lang]["offline"][1] for lang in lists] + \
        [rev for lang in lists for _, rev in lists[lang]["saved"]]
    assert all(re.fullmatch("[0-9a-f]{10}", rev) for rev in revisions)
    assert len(set(revisions)) == len(revisions)
    for lang, language in languages.items():
        assert local(offline.output, language["offline"]).is_file()
        for path, _ in lists[lang]["saved"]:
            assert local(offline.output, language["root"] + path).is_file()


def test_every_page_links_its_manifest_and_registers_the_worker_under_its_policy(
        offline: Built) -> None:
    for path, lang in (("en/news/story-1/index.html", "en"), ("ar/index.html", "ar"),
                       ("en/about/index.html", "en"), ("ar/404.html", "ar")):
        doc = offline.html(path)
        manifest = doc.xpath('//link[@rel="manifest"]/@href')
        assert manifest == [f"/{lang}/manifest.webmanifest"], path
        scripts = [s.text for s in doc.xpath("//script[not(@src)]") if "serviceWorker" in s.text]
        assert len(scripts) == 1, path
        assert 'register("/sw.js")' in scripts[0] and f'postMessage("{lang}")' in scripts[0]
        policy = doc.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0]
        assert "worker-src 'self'" in policy
        assert csp.allows_inline(csp.script_sources(policy), scripts[0])


def test_the_offline_page_speaks_the_language_of_its_folder(offline: Built) -> None:
    arabic = offline.html("ar/offline.html")
    assert (arabic.get("lang"), arabic.get("dir")) == ("ar", "rtl")
    assert arabic.xpath("string(//h1)") == "أنت غير متصل بالإنترنت"
    assert arabic.xpath('//meta[@name="robots"]/@content') == ["noindex"]
    script = next(s.text for s in arabic.xpath("//script") if "caches.keys" in s.text)
    policy = arabic.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')[0]
    assert csp.allows_inline(csp.script_sources(policy), script), "its list may run"
    assert '"newshub:/:"' in script
    english = offline.html("en/offline.html")
    assert english.xpath("string(//h1)") == "You are offline"
    assert "offline.html" not in (offline.output / "sitemap.xml").read_text(encoding="utf-8")


def test_a_manifest_per_language_with_maskable_icons(offline: Built) -> None:
    arabic = json.loads((offline.output / "ar/manifest.webmanifest").read_text("utf-8"))
    assert arabic["name"] == "أخبار أكاسيا" and arabic["short_name"] == "أخبار أكاسيا"
    assert (arabic["lang"], arabic["dir"]) == ("ar", "rtl")
    assert arabic["start_url"] == arabic["scope"] == "/ar/"
    assert arabic["display"] == "standalone"
    assert arabic["theme_color"] == arabic["background_color"] == "#0b6e4f"
    english = json.loads((offline.output / "en/manifest.webmanifest").read_text("utf-8"))
    assert english["icons"] == arabic["icons"], "one set of icons for every language"
    for icon, size in zip(arabic["icons"], (192, 512), strict=True):
        assert icon["sizes"] == f"{size}x{size}" and icon["purpose"] == "any maskable"
        data = local(offline.output, icon["src"]).read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (size, size) and image.format == "PNG"
            assert image.getpixel((0, 0))[:3] == (11, 110, 79), "the brand colour to the edge"
            outside = _ink_outside_safe_zone(image.convert("RGB"))
            assert outside == 0, "the initials stay inside the maskable safe zone"
        assert _png_chunks(data) <= {"IHDR", "PLTE", "tRNS", "IDAT", "IEND"}, "no metadata"


def _ink_outside_safe_zone(image: Image.Image) -> int:
    """Pixels other than the background outside the central circle of 80% of the width."""
    size = image.width
    background = image.getpixel((0, 0))
    radius = 0.4 * size
    return sum(1 for x in range(0, size, 2) for y in range(0, size, 2)
               if (x - size / 2) ** 2 + (y - size / 2) ** 2 > radius ** 2
               and image.getpixel((x, y)) != background)


def _png_chunks(data: bytes) -> set[str]:
    assert data.startswith(PNG_SIGNATURE)
    chunks, at = set(), len(PNG_SIGNATURE)
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        chunks.add(data[at + 4:at + 8].decode("ascii"))
        at += 12 + length
    return chunks


def test_initials_and_short_names() -> None:
    assert site_initials("Tamarind Relief Network") == "TR"
    assert site_initials("médecins du monde") == "MD"
    assert site_initials("أكاسيا للإغاثة") == "أ", "letters without case are not set side by side"
    assert site_initials("罗望子救援") == "罗"
    assert short_name("Tamarind Relief News") == "Tamarind"
    assert short_name("Acacia News") == "Acacia News"
    assert short_name("Internationalisation") == "Internationalisation"


def test_a_raster_logo_becomes_the_icon_on_its_own_background(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "offline", site)
    (site / "static").mkdir()
    logo = Image.new("RGB", (300, 150), (200, 30, 30))
    logo.paste((250, 250, 250), (100, 50, 200, 100))
    logo.save(site / "static" / "logo.png")
    toml = site / "site.toml"
    toml.write_text(toml.read_text("utf-8").replace('name = "Acacia Aid"',
                                                    'name = "Acacia Aid"\nlogo = "logo.png"'),
                    encoding="utf-8")
    assert main(["build", "--site", str(site), "--output", str(tmp_path / "out"), "--quiet",
                 "--no-cards"]) == 0
    manifest = json.loads((tmp_path / "out/en/manifest.webmanifest").read_text("utf-8"))
    icon = local(tmp_path / "out", manifest["icons"][1]["src"])
    with Image.open(icon) as image:
        assert image.getpixel((5, 5)) == (200, 30, 30), "the logo's own background colour"
        assert image.getpixel((256, 256)) == (250, 250, 250), "the logo, centred"
    assert "/logo.png" in worker_settings(tmp_path / "out")["shell"]


@pytest.mark.parametrize(("name", "inked"), [
    ("أكاسيا للإغاثة", 0.02),  # the theme's Arabic font
    ("ኢትዮ ረድኤት", 0.02),  # a system font (fonts-noto-core), else the plain mark
    ("\u0378", 0.05),  # no font has it: the plain mark
])
def test_initials_in_any_script_or_a_plain_mark(tmp_path: Path, name: str, inked: float) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "offline", site)
    toml = site / "site.toml"
    toml.write_text(toml.read_text("utf-8").replace('name = "Acacia Aid"', f'name = "{name}"'),
                    encoding="utf-8")
    assert main(["build", "--site", str(site), "--output", str(tmp_path / "out"), "--quiet",
                 "--no-cards"]) == 0
    manifest = json.loads((tmp_path / "out/en/manifest.webmanifest").read_text("utf-8"))
    with Image.open(local(tmp_path / "out", manifest["icons"][0]["src"])) as image:
        colours = dict((colour, count) for count, colour in
                       image.convert("RGB").getcolors(image.width * image.height))
        white = colours.get((255, 255, 255), 0) / (image.width * image.height)
    assert white > inked, "a white letter, or a plain white mark"


def test_a_path_prefix_and_a_default_language_at_the_root(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "offline", site)
    toml = site / "site.toml"
    toml.write_text(toml.read_text("utf-8").replace(
        'title = "Offline Hub"', 'title = "Offline Hub"\ndefault_language_at_root = true'),
        encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "--site", str(site), "--output", str(out), "--quiet", "--no-cards",
                 "--base-url", "https://org.github.io/hub/"]) == 0
    settings = worker_settings(out)
    assert settings["scope"] == "/hub/" and settings["caches"] == "newshub:/hub/:"
    assert settings["languages"]["en"]["root"] == "/hub/"
    assert settings["languages"]["en"]["offline"] == "/hub/offline.html"
    assert settings["languages"]["ar"]["offline"] == "/hub/ar/offline.html"
    assert settings["languages"]["en"]["list"] == "/hub/offline.json"
    assert saved_list(out, "en", "/hub")["offline"][0] == "/hub/offline.html"
    home = lxml.html.fromstring((out / "index.html").read_bytes())
    assert home.xpath('//link[@rel="manifest"]/@href') == ["/hub/manifest.webmanifest"]
    assert any('register("/hub/sw.js")' in (s.text or "") for s in home.xpath("//script"))
    manifest = json.loads((out / "manifest.webmanifest").read_text("utf-8"))
    assert manifest["start_url"] == "/hub/" and manifest["icons"][0]["src"].startswith(
        "/hub/assets/icon-192.")
    for url in settings["shell"]:
        assert local(out, url, "/hub").is_file(), url
    assert main(["check", "--site", str(site), "--output", str(out),
                 "--base-url", "https://org.github.io/hub/"]) == 0


def test_turned_off_nothing_is_registered(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "offline", site)
    toml = site / "site.toml"
    toml.write_text(toml.read_text("utf-8").replace("budget_kb = 10", "enabled = false"),
                    encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "--site", str(site), "--output", str(out), "--quiet",
                 "--no-cards"]) == 0
    assert not (out / "sw.js").exists() and not (out / "en/offline.html").exists()
    assert not list(out.rglob("manifest.webmanifest"))
    page = lxml.html.fromstring((out / "en/index.html").read_bytes())
    assert page.xpath('//link[@rel="manifest"]') == []
    assert not any("serviceWorker" in (s.text or "") for s in page.xpath("//script"))


def test_check_finds_nothing_wrong(offline: Built, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    main(["check", "--site", str(offline.site), "--output", str(offline.output), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 0
    assert [f for f in report["findings"] if "interface strings missing" not in f["message"]] \
        == [], "only the catalogs of strings other parts of the theme add may lag"


def test_the_same_input_gives_the_same_bytes(offline: Built, tmp_path: Path) -> None:
    again = build_copy(FIXTURES / "offline", tmp_path)
    for name in ("sw.js", "en/manifest.webmanifest", "ar/offline.html"):
        assert (again.output / name).read_bytes() == (offline.output / name).read_bytes()
    icons = sorted(p.name for p in (offline.output / "assets").glob("icon-*.png"))
    assert icons == sorted(p.name for p in (again.output / "assets").glob("icon-*.png"))
    for name in icons:
        assert (again.output / "assets" / name).read_bytes() == \
            (offline.output / "assets" / name).read_bytes()



# Incremental builds ------------------------------------------------------------------------

@pytest.fixture
def work(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, FIXTURES / "offline")
    workspace.build()
    return workspace


def test_an_edit_to_an_article_saved_ahead_gives_the_worker_a_new_version(
        work: Workspace) -> None:
    before = worker_settings(work.output)["version"]
    work.edit("content/en/news/story-4.md", "first version", "second version")
    result = work.build()
    assert {"sw.js", "en/news/story-4/index.html"} <= result.rendered
    assert worker_settings(work.output)["version"] != before
    work.assert_matches_clean_build()


def test_an_edit_elsewhere_leaves_the_worker_as_it_is(work: Workspace) -> None:
    before = (work.output / "sw.js").read_bytes()
    work.edit("content/en/news/story-1.md", "first version", "second version")
    result = work.build()
    assert "en/news/story-1/index.html" in result.rendered
    assert "sw.js" not in result.rendered
    assert (work.output / "sw.js").read_bytes() == before
    work.assert_matches_clean_build()


def test_a_template_of_the_saved_pages_gives_a_new_version(work: Workspace) -> None:
    before = worker_settings(work.output)["version"]
    work.edit("themes/default/templates/offline.html", "<h1>", '<h1 class="offline">')
    result = work.build()
    assert {"sw.js", "en/offline.html", "ar/offline.html"} <= result.rendered
    assert worker_settings(work.output)["version"] != before
    work.assert_matches_clean_build()


# In Chromium ------------------------------------------------------------------------------

class _Handler(SimpleHTTPRequestHandler):
    """Serves the output; ``slow`` paths answer only after ``delay`` seconds."""

    slow: ClassVar[set[str]] = set()
    delay: ClassVar[float] = 0.0
    timeout = 5  # a connection the browser opened ahead and left idle ends its thread
    requested: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requested.append(self.path)
        if self.path in self.slow:
            time.sleep(self.delay)
        # http.server compares Last-Modified in whole seconds: a file rebuilt within the
        # second of its first version would be answered 304 and the old copy shown
        del self.headers["If-Modified-Since"]
        # the browser may go offline meanwhile, as a test makes it: no traceback on stderr
        with suppress(ConnectionError):  # later, inside whichever test runs then
            super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Served:
    """A served output folder: its base URL and handler class, and a way to cut it off."""

    base: str
    handler: type[_Handler]
    server: ThreadingHTTPServer

    def offline(self, context) -> None:
        """Take the browser offline, and the host with it: Playwright applies offline
        mode to a service worker's own requests a moment later than to the page's."""
        context.set_offline(True)
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def served(folder: Path) -> Iterator[Served]:
    """Serve ``folder`` on http://127.0.0.1 (a secure context: workers are allowed)."""
    handler = type("Handler", (_Handler,), {"slow": set(), "requested": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(handler, directory=str(folder)))
    server.daemon_threads, server.block_on_close = True, False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_address[1]}", handler, server)
    finally:
        server.shutdown()
        server.server_close()


SAVED = """async () => { const found = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    found[name] = (await cache.keys()).map(r => new URL(r.url).pathname);
  }
  return found; }"""


def saved(page) -> dict[str, list[str]]:
    """Cache name → the paths it holds, in its order."""
    return page.evaluate(SAVED)


def wait_until(page, test, what: str, seconds: float = 15) -> dict[str, list[str]]:
    """Poll the caches until ``test(found)`` holds."""
    end = time.monotonic() + seconds
    while True:
        found = saved(page)
        if test(found):
            return found
        assert time.monotonic() < end, f"{what}: {found}"
        page.wait_for_timeout(100)


def held(found: dict[str, list[str]], kind: str) -> list[str]:
    return [path for name, paths in found.items() if f":{kind}" in name for path in paths]


def controlled(page, seconds: float = 15) -> None:
    """Wait until the worker controls the page (polled: the page's policy forbids the
    string evaluation ``wait_for_function`` uses)."""
    end = time.monotonic() + seconds
    while not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        assert time.monotonic() < end, "the service worker never took control"
        page.wait_for_timeout(100)


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


def _console(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    return messages


@needs_chromium
def test_a_page_read_online_reads_offline_and_an_unread_one_shows_the_offline_page(
        offline: Built, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors = _console(page)
    with served(offline.output) as host:
        base = host.base
        visit(page, f"{base}/en/")
        controlled(page)  # registered under the page's Content-Security-Policy
        visit(page, f"{base}/en/news/story-2/")
        found = wait_until(page, lambda f: "/en/news/story-4/" in held(f, "lang-") and
                           "/en/news/story-2/" in held(f, "pages"), "saved ahead and kept")
        assert held(found, "pages") == ["/en/", "/en/news/story-2/"], "the first page too"
        assert "/en/news/story-3/" not in held(found, "lang-"), "beyond the budget"
        assert re.search(r"/assets/style\.[0-9a-f]{10}\.css", " ".join(held(found, "shell-")))

        host.offline(context)
        page.reload()
        assert page.locator("h1").inner_text() == "Story 2: wells in the valley"
        assert page.evaluate("getComputedStyle(document.body).margin") != "8px", "styled"
        visit(page, f"{base}/en/news/story-4/")
        assert page.locator("h1").inner_text() == "Story 4: wells in the valley", \
            "saved ahead though never opened"
        visit(page, f"{base}/en/news/story-1/")
        assert page.url == f"{base}/en/news/story-1/"
        assert page.locator("h1").inner_text() == "You are offline"
        page.wait_for_selector("#saved li")
        titles = page.locator("#saved li a").all_inner_texts()
        assert {"Story 2: wells in the valley", "Acacia News",
                "Story 4: wells in the valley"} <= set(titles), "read, and saved ahead"
        assert titles.index("Story 2: wells in the valley") < titles.index("Acacia News"), \
            "the last read first"
        page.locator("#saved a", has_text="Story 2").click()
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == "Story 2: wells in the valley"
    assert [m for m in errors if "Content Security Policy" in m] == []
    context.close()


@needs_chromium
def test_offline_on_the_arabic_site_the_offline_page_is_arabic_and_right_to_left(
        offline: Built, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    with served(offline.output) as host:
        base = host.base
        visit(page, f"{base}/ar/")
        controlled(page)
        visit(page, f"{base}/ar/news/story-2/")
        wait_until(page, lambda f: "/ar/offline.html" in held(f, "lang-") and
                   "/ar/news/story-4/" in held(f, "lang-"), "the Arabic offline page")
        host.offline(context)
        visit(page, f"{base}/ar/news/story-1/")
        assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") \
            == ["ar", "rtl"]
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        assert page.locator("h1").inner_text() == "أنت غير متصل بالإنترنت"
        page.wait_for_selector("#saved li")
        titles = page.locator("#saved li a").all_inner_texts()
        assert titles[0] == "القصة 2: آبار في الوادي"
        assert "القصة 4: آبار في الوادي" in titles
    context.close()


@needs_chromium
def test_after_a_new_build_the_new_pages_replace_the_saved_ones(tmp_path: Path,
                                                                browser) -> None:
    built = build_copy(FIXTURES / "offline", tmp_path)
    context = browser.new_context()
    page = context.new_page()
    with served(built.output) as host:
        base = host.base
        visit(page, f"{base}/en/")
        controlled(page)
        visit(page, f"{base}/en/news/story-2/")
        first = worker_settings(built)["version"]
        wait_until(page, lambda f: "/en/news/story-4/" in held(f, "lang-"), "saved ahead")

        for story in ("story-2", "story-4"):  # one kept when read, one saved ahead
            source = built.site / f"content/en/news/{story}.md"
            source.write_text(source.read_text("utf-8").replace("first version",
                                                                "second version"), "utf-8")
        assert main(["build", "--site", str(built.site), "--output", str(built.output),
                     "--quiet"]) == 0
        second = worker_settings(built)["version"]
        assert second != first
        host.handler.requested.clear()

        page.reload()  # online: the network first, and the saved copy follows
        assert "second version" in page.locator(".body").inner_text()
        page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
        wait_until(page, lambda f: any(second in name for name in f) and
                   not any(first in name for name in f), "the new worker's cache only")
        page.reload()  # the page asks the new worker to save ahead again
        listed = worker_settings(built)["languages"]["en"]["version"]
        found = wait_until(page, lambda f: [n for n in f if ":lang-en-" in n] ==
                           [f"newshub:/:lang-en-{listed}"] and "/en/offline.json" in
                           f[f"newshub:/:lang-en-{listed}"], "the new list saved, the old gone")
        assert "/en/news/story-4/" in found[f"newshub:/:lang-en-{listed}"]
        assert "/en/news/story-4/" in host.handler.requested, "changed: downloaded again"
        assert "/en/offline.html" not in host.handler.requested, \
            "unchanged: the new worker copied the old worker's copy"

        host.offline(context)
        page.reload()
        assert "second version" in page.locator(".body").inner_text()
        visit(page, f"{base}/en/news/story-4/")
        assert "second version" in page.locator(".body").inner_text()
    context.close()


@needs_chromium
def test_opened_pages_beyond_the_bound_go_oldest_first(tmp_path: Path, browser) -> None:
    site = tmp_path / "src"
    shutil.copytree(FIXTURES / "offline", site)
    toml = site / "site.toml"
    toml.write_text(toml.read_text("utf-8").replace("budget_kb = 10", "budget_kb = 0\npages = 3"),
                    encoding="utf-8")
    out = tmp_path / "out"
    assert main(["build", "--site", str(site), "--output", str(out), "--quiet",
                 "--no-cards"]) == 0
    context = browser.new_context()
    page = context.new_page()
    with served(out) as host:
        base = host.base
        visit(page, f"{base}/en/")
        controlled(page)
        for path in ("/en/about/", "/en/news/story-1/", "/en/news/story-2/", "/en/news/story-3/",
                     "/en/news/story-1/"):
            visit(page, base + path)
        found = wait_until(page, lambda f: held(f, "pages")[-1:] == ["/en/news/story-1/"] and
                           len(held(f, "pages")) == 3, "three pages")
        assert held(found, "pages") == ["/en/news/story-2/", "/en/news/story-3/",
                                        "/en/news/story-1/"]
        assert [p for p in held(found, "lang-") if p.endswith("/")] == [], "budget 0: none ahead"
    context.close()


@needs_chromium
def test_a_slow_network_shows_the_saved_copy_after_the_timeout(offline: Built,
                                                               browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    with served(offline.output) as host:
        base, handler = host.base, host.handler
        visit(page, f"{base}/en/")
        controlled(page)
        visit(page, f"{base}/en/news/story-2/")
        wait_until(page, lambda f: "/en/news/story-2/" in held(f, "pages"), "kept")
        handler.slow.add("/en/news/story-2/")
        handler.delay = 8.0
        start = time.monotonic()
        page.reload(wait_until="domcontentloaded")
        waited = time.monotonic() - start
        assert page.locator("h1").inner_text() == "Story 2: wells in the valley"
        assert 2.5 < waited < 6.5, f"the saved copy after about 3 s, not 8 s ({waited:.1f} s)"
        handler.slow.clear()
    context.close()
