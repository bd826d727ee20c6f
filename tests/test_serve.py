"""``newshub serve`` as an editor uses it: a real server in a subprocess, real file
edits, pages fetched over HTTP; and the watcher's event classification."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path, PurePath

import pytest

from generator.serve import DevSite
from generator.watch import Change, ChangeKind, Watcher, classify
from tests.browser import chromium, needs_chromium
from tests.conftest import FIXTURES

TIMEOUT = 15.0


@pytest.mark.parametrize(("path", "kind"), [
    ("content/en/news/a.md", ChangeKind.CONTENT),
    ("content/en/news/bundle/photo.jpg", ChangeKind.CONTENT),
    ("content/xx", ChangeKind.CONTENT),
    ("themes/default/templates/base.html", ChangeKind.TEMPLATE),
    ("themes/default/static/style.css", ChangeKind.THEME_STATIC),
    ("locales/fr/LC_MESSAGES/messages.po", ChangeKind.CATALOG),
    ("locales/fr/LC_MESSAGES/messages.mo", None),
    ("site.toml", ChangeKind.CONFIG),
    ("static/images/logo.svg", ChangeKind.STATIC),
    ("content/en/news/.a.md.swp", None),
    ("content/en/news/a.md~", None),
    ("content/en/news/.#a.md", None),
    ("content/en/news/#a.md#", None),
    ("content/en/news/4913", None),
    ("output/en/index.html", None),
    (".git/index", None),
    ("README.md", None),
    ("generator/cli.py", None),
])
def test_classify(path: str, kind: ChangeKind | None) -> None:
    assert classify(PurePath(path)) == kind


def test_a_burst_of_events_is_one_batch(tmp_path: Path) -> None:
    (tmp_path / "content/en").mkdir(parents=True)
    batches: list[frozenset[Change]] = []
    settled = threading.Event()

    def record(batch: frozenset[Change]) -> None:
        batches.append(batch)
        settled.set()

    watcher = Watcher(tmp_path, record, delay=0.3)
    watcher.start()
    try:
        for name in ("a.md", "b.md", ".b.md.swp", "c.md~"):
            (tmp_path / "content/en" / name).write_text("x")
        (tmp_path / "content/en/a.md").write_text("y")
        assert settled.wait(TIMEOUT)
        time.sleep(0.6)
    finally:
        watcher.stop()
    assert len(batches) == 1
    assert {c.path.name for c in batches[0]} == {"a.md", "b.md"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting until {what}")


class Server:
    def __init__(self, site: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "generator", "serve", "--site", str(site),
             "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def wait_ready(self) -> None:
        def ready() -> bool:
            try:
                return fetch(self.base + "/")[0] == 200
            except OSError:
                assert self.process.poll() is None, self.process.stderr.read()
                return False

        try:
            until(ready, "the server answers")
        except BaseException:  # a server that never got ready is not left running
            if self.process.poll() is None:
                self.process.kill()
            self.process.communicate(timeout=TIMEOUT)
            raise

    def get(self, path: str) -> tuple[int, str]:
        return fetch(self.base + path)

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        _out, err = self.process.communicate(timeout=TIMEOUT)
        return self.process.returncode, err


@pytest.fixture
def site(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    shutil.copytree(FIXTURES / "multilingual", target)
    return target


@pytest.fixture
def server(site: Path) -> Iterator[Server]:
    running = Server(site)
    running.wait_ready()
    yield running
    running.stop()


def test_edit_rebuilds_and_pages_carry_the_reload_script(server: Server, site: Path) -> None:
    status, body = server.get("/en/news/wells/")
    assert status == 200 and "Teams repaired" in body
    assert "/__newshub/events" in body
    article = site / "content/en/news/wells.md"
    article.write_text(article.read_text().replace("Teams repaired", "Crews repaired"))
    until(lambda: "Crews repaired" in server.get("/en/news/wells/")[1], "the edit shows")


def test_browsers_are_told_of_each_build(server: Server, site: Path) -> None:
    lines: list[str] = []

    def listen() -> None:
        with urllib.request.urlopen(server.base + "/__newshub/events", timeout=TIMEOUT) as s:
            for raw in s:
                lines.append(raw.decode().strip())
                if sum(line.startswith("data:") for line in lines) >= 2:
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    until(lambda: any(line.startswith("data:") for line in lines), "the first event")
    (site / "content/en/about.md").write_text("---\ntitle: About again\n---\n\nHi.\n")
    thread.join(TIMEOUT)
    builds = [line for line in lines if line.startswith("data:")]
    assert len(builds) == 2 and builds[0] != builds[1]


def test_a_broken_file_shows_an_error_page_then_recovers(server: Server, site: Path) -> None:
    broken = site / "content/en/news/broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n")
    until(lambda: server.get("/en/")[0] == 500, "the error page shows")
    status, body = server.get("/en/news/wells/")
    assert status == 500
    assert "content/en/news/broken.md:2:" in body and "invalid YAML" in body
    assert "/__newshub/events" in body, "the error page reloads itself when fixed"
    broken.write_text("---\ntitle: Fixed now\ndate: 2026-01-05T00:00:00Z\n---\n\nOK.\n")
    until(lambda: server.get("/en/news/broken/")[0] == 200, "the site recovers")
    assert "Fixed now" in server.get("/en/news/broken/")[1]


def test_deleted_and_renamed_files_disappear(server: Server, site: Path) -> None:
    assert server.get("/en/news/older/")[0] == 200
    (site / "content/en/news/older.md").unlink()
    until(lambda: server.get("/en/news/older/")[0] == 404, "the deleted page is gone")
    _status, body = server.get("/en/news/older/")
    assert "<html" in body, "404s use the theme's page"
    (site / "content/fr/about.md").rename(site / "content/fr/qui-sommes-nous.md")
    # New files appear while a build renders; the old one goes when it commits.
    until(lambda: server.get("/fr/qui-sommes-nous/")[0] == 200 and
          server.get("/fr/about/")[0] == 404, "the renamed page replaces the old one")


def test_a_new_language_appears(server: Server, site: Path) -> None:
    (site / "content/es/news").mkdir(parents=True)
    (site / "content/es/news/pozos.md").write_text(
        "---\ntitle: Pozos reparados\ndate: 2026-03-15T10:00:00Z\n---\n\nSí.\n")
    config = site / "site.toml"
    config.write_text(config.read_text() + '\n[languages.es]\ntitle = "Centro"\n')
    until(lambda: server.get("/es/news/pozos/")[0] == 200, "the Spanish page appears")
    # new files appear as they render; the chooser is replaced when the build commits
    until(lambda: 'hreflang="es"' in server.get("/")[1], "the chooser offers Spanish")


def test_drafts_are_shown_and_marked(server: Server) -> None:
    status, body = server.get("/en/news/secret/")
    assert status == 200 and 'class="draft"' in body
    status, body = server.get("/en/news/future/")
    assert status == 200 and 'class="draft"' in body


def test_no_drafts_hides_them(site: Path) -> None:
    running = Server(site, "--no-drafts")
    try:
        running.wait_ready()
        assert running.get("/en/news/secret/")[0] == 404
        assert running.get("/en/news/future/")[0] == 404
    finally:
        running.stop()


def test_published_build_has_no_reload_script(site: Path, tmp_path: Path) -> None:
    from generator.cli import main

    assert main(["build", "--site", str(site), "--output", str(tmp_path / "out"), "-q"]) == 0
    for page in (tmp_path / "out").rglob("*.html"):
        assert "__newshub" not in page.read_text(encoding="utf-8"), page


def test_ctrl_c_stops_cleanly(server: Server) -> None:
    code, err = server.stop()
    assert code == 0
    assert "Traceback" not in err


def test_sigterm_stops_cleanly_and_keeps_its_folder_for_the_next_start(site: Path) -> None:
    """A process manager's SIGTERM stops the server like Ctrl-C, which stores what its
    folder in the site's cache holds; nothing is written to /tmp."""
    from generator.cache import Store, manifest_name
    from generator.serve import serve_folder

    before = set(Path(tempfile.gettempdir()).glob("newshub-serve-*"))
    running = Server(site)
    running.wait_ready()
    folder = serve_folder(site, "127.0.0.1", running.port)
    # Pages are answered while the first build renders; its cards are made after it.
    until((folder / "en/news/wells/card.jpg").is_file, "it builds into the site's cache")
    assert Store(site).read(manifest_name(folder)) is None, "not stored while it runs"
    running.process.send_signal(signal.SIGTERM)
    _out, err = running.process.communicate(timeout=TIMEOUT)
    assert running.process.returncode == 0, err
    assert "Traceback" not in err
    assert Store(site).read(manifest_name(folder)), "stored for the next start"
    assert set(Path(tempfile.gettempdir()).glob("newshub-serve-*")) == before


def test_a_busy_port_gives_a_clear_message(server: Server, site: Path) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "generator", "serve", "--site", str(site),
         "--port", str(server.port)], capture_output=True, text=True, timeout=TIMEOUT)
    assert second.returncode == 1
    assert f"port {server.port} is already in use" in second.stderr


@needs_chromium
def test_an_open_page_reloads_by_itself_in_a_real_browser(server: Server, site: Path) -> None:
    with chromium() as browser:
        page = browser.new_page()
        page.goto(server.base + "/en/news/wells/")
        assert "Teams repaired" in page.content()
        page.wait_for_timeout(300)  # the EventSource connects
        article = site / "content/en/news/wells.md"
        article.write_text(article.read_text().replace("Teams repaired", "Crews repaired"))
        # a locator, not wait_for_function: the page's CSP forbids evaluating strings
        page.get_by_text("Crews repaired").first.wait_for(timeout=TIMEOUT * 1000)
        assert page.url == server.base + "/en/news/wells/"


def _bytes(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def _made(url: str) -> bool:
    try:
        return bool(_bytes(url))
    except urllib.error.HTTPError:
        return False


def test_a_new_headline_draws_the_share_card_again(server: Server, site: Path) -> None:
    """Cards are drawn after the browsers were told (no page shows them), but drawn."""
    card = server.base + "/fr/news/wells/card.jpg"
    until(lambda: _made(card), "the first build's cards are made")
    before = _bytes(card)
    article = site / "content/fr/news/wells.md"
    article.write_text(article.read_text().replace("Puits et pompes", "Puits réparés"))
    until(lambda: "Puits réparés" in server.get("/fr/news/wells/")[1], "the page shows it")
    until(lambda: _bytes(card) != before, "the card is drawn again")


def test_served_builds_free_earlier_sites_when_idle(site: Path) -> None:
    """The server keeps the automatic collector off and collects a moment after each
    build: earlier builds' sites (cycles through their views) must not pile up."""
    import gc

    from generator.model import Site

    dev = DevSite(site, "127.0.0.1", free_port(), True, log=lambda _message: None)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        article = site / "content/en/news/wells.md"
        for number in range(4):
            article.write_text(article.read_text() + f"\nMore {number}.\n")
            dev.rebuild(frozenset({Change(ChangeKind.CONTENT,
                                          PurePath("content/en/news/wells.md"))}))
        assert dev.collection is not None and dev.collection.is_alive()
        dev.collection.join(TIMEOUT)  # the idle collection
        assert sum(isinstance(thing, Site) for thing in gc.get_objects()) <= 2
    finally:
        dev.stop()
        if was_enabled:
            gc.enable()


def _dev_site(site: Path, port: int) -> DevSite:
    return DevSite(site, "127.0.0.1", port, True, log=lambda _message: None)


def _stamps(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns
            for path in folder.rglob("*") if path.is_file()}


def test_a_restarted_server_renders_nothing_again(site: Path) -> None:
    """The folder and its manifest outlive the server: the next start builds nothing
    that did not change (no page, no card), and renders only what did."""
    port = free_port()
    first = _dev_site(site, port)
    first.rebuild()
    assert first.session is not None
    built = first.session.manifest
    first.stop()
    written = _stamps(first.output)
    assert "en/news/wells/card.jpg" in written
    kept_cards = _stamps(site / ".newshub-cache/cards")

    again = _dev_site(site, port)
    rendered: list[str] = []
    _record_rendered(again, rendered)
    again.rebuild()
    try:
        assert again.state.errors == ()
        assert rendered == [], "nothing rendered again"
        assert again.session is not None and again.session.manifest == built
        assert _stamps(again.output) == written, "no file written again, no card either"
        assert _stamps(site / ".newshub-cache/cards") == kept_cards, "no card drawn"
    finally:
        again.stop()

    article = site / "content/en/news/wells.md"
    article.write_text(article.read_text().replace("Teams repaired", "Crews repaired"))
    third = _dev_site(site, port)
    _record_rendered(third, rendered)
    third.rebuild()
    try:
        assert "en/news/wells/index.html" in rendered
        assert _stamps(third.output)["en/news/wells/card.jpg"] == \
            written["en/news/wells/card.jpg"], "the title did not change: nor did its card"
        assert len(rendered) < len(built) / 4, "what the edit touched, not the site"
        assert "Crews repaired" in (third.output / "en/news/wells/index.html").read_text()
    finally:
        third.stop()


def _record_rendered(dev: DevSite, rendered: list[str]) -> None:
    """Record the outputs the server's first build renders, once all are planned."""
    tell = dev._rendering

    def told(renderer: object, jobs: list, complete: bool) -> None:
        if complete:
            rendered.extend(job.path for job in jobs)
        tell(renderer, jobs, complete)  # type: ignore[arg-type]

    dev._rendering = told  # type: ignore[method-assign]


def test_a_server_that_died_renders_everything_again(site: Path) -> None:
    """Only a server that stopped stores its manifest (and is answered from before its
    first build): one killed leaves none to trust."""
    port = free_port()
    first = _dev_site(site, port)
    assert not first.kept()
    first.rebuild()
    first.stop()
    assert _dev_site(site, port).kept(), "stopped cleanly: answered from at once"
    first = _dev_site(site, port)
    first.rebuild()
    assert not first.kept(), "taken while it runs"
    first.session = None  # as if killed: nothing kept
    again = _dev_site(site, port)
    assert not again.kept()
    rendered: list[str] = []
    _record_rendered(again, rendered)
    again.rebuild()
    try:
        assert "en/news/wells/index.html" in rendered
    finally:
        again.stop()


def test_served_cards_show_the_published_host_and_are_the_built_ones(site: Path,
                                                                       tmp_path: Path) -> None:
    """A card shows the host sharing will show, not localhost: the server publishes the
    very cards ``newshub build`` drew (kept in the cache), drawing none itself."""
    from generator.cli import main
    from generator.link import link_site
    from generator.load import load_site
    from generator.outputs import cards

    assert main(["build", "--site", str(site), "--output", str(tmp_path / "out"), "--drafts",
                 "-q"]) == 0  # the pages the server shows
    kept = {card.name: card.stat().st_mtime_ns
            for card in (site / ".newshub-cache/cards").iterdir()}
    dev = _dev_site(site, free_port())
    dev.rebuild()
    try:
        assert dev.session is not None and dev.session.pending is None, "cards made"
        for card in (tmp_path / "out").rglob("card.jpg"):
            served = dev.output / card.relative_to(tmp_path / "out")
            assert served.read_bytes() == card.read_bytes(), served
        assert {card.name: card.stat().st_mtime_ns
                for card in (site / ".newshub-cache/cards").iterdir()} == kept, "none drawn"
        config = dev.config()
        assert config.base_url.startswith("http://127.0.0.1:")
        loaded = load_site(config)
        linked, _problems = link_site(config, loaded.pages, loaded.assets)
        assert cards.home_card(linked, "en").host == "hub.example.org"
    finally:
        dev.stop()


def test_pages_are_answered_while_the_first_build_renders(site: Path) -> None:
    """Requests are answered once the site is planned: an output not written yet is
    rendered when asked for, as the build then writes it."""
    dev = _dev_site(site, free_port())
    seen: dict[str, object] = {}

    def ready() -> None:
        seen["written"] = (dev.output / "en/news/wells/index.html").exists()
        seen["page"] = dev.rendered("en/news/wells/")
        seen["missing"] = dev.rendered("en/news/no-such-page/")

    dev.on_ready = ready
    dev.rebuild()
    try:
        assert seen["written"] is False
        assert seen["missing"] is None
        path, data = seen["page"]  # type: ignore[misc]
        assert path == "en/news/wells/index.html"
        assert data == (dev.output / path).read_bytes()
        assert dev.rendered("en/news/wells/") is None, "written: the file is served"
    finally:
        dev.stop()


def test_requests_are_answered_before_the_cards_are_planned(site: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The first build answers before it finds its share cards (while its workers
    start) and plans them (one per article, the costliest plan: after, by ``finish``);
    a card asked for before that is planned and drawn on its own, as the build then
    writes it."""
    from generator.outputs import cards

    planned: list[bool] = []
    real_plan = cards.plan

    def plan(*args: object, **kwargs: object) -> object:
        planned.append(True)
        return real_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cards, "plan", plan)
    dev = _dev_site(site, free_port())
    seen: dict[str, object] = {}

    paths = {"page": "fr/news/wells/", "card": "fr/news/wells/card.jpg",
             "home card": "fr/card.jpg", "no card": "fr/news/no-such-story/card.jpg"}
    asking = _asking(dev, paths, seen)

    def ready() -> None:
        seen["cards planned"] = bool(planned)
        seen["cards found"] = dev.session is not None and dev.session.unplanned is not None
        asking.start()

    dev.on_ready = ready
    dev.rebuild()
    asking.join(TIMEOUT)
    try:
        assert dev.state.errors == ()
        assert seen["cards planned"] is False
        assert seen["cards found"] is False, "found behind the answer"
        page_path, page = seen["page"]  # type: ignore[misc]
        assert page_path == "fr/news/wells/index.html"
        assert page == (dev.output / page_path).read_bytes()
        for name in ("card", "home card"):
            card_path, card = seen[name]  # type: ignore[misc]
            assert card[:2] == b"\xff\xd8", "a JPEG"
            assert card == (dev.output / card_path).read_bytes(), card_path
        assert seen["no card"] is None
        assert planned, "planned by finish"
        assert dev.session is not None and dev.session.unplanned is None
        assert dev.rendered("fr/news/wells/card.jpg") is None, "written: the file is served"
    finally:
        dev.stop()


def test_a_server_plans_the_cards_a_build_plans(site: Path) -> None:
    """``cards.paths`` finds, without making a card, the cards ``cards.plan`` makes:
    those a server leaves for later are the build's own."""
    from generator.build import plan
    from generator.config import load_config
    from generator.link import link_site
    from generator.load import load_site
    from generator.outputs import cards

    config = load_config(site, include_drafts=True)
    loaded = load_site(config)
    linked, _problems = link_site(config, loaded.pages, loaded.assets)
    jobs, assets = plan(linked)
    found = [(path, lang) for path, lang, _page in cards.paths(linked)]
    assert found == [(job.path, job.lang) for job in jobs if job.kind == "card"]
    assert len(found) > len(config.language_codes)
    for path, lang, page in cards.paths(linked):
        job = cards.home_job(linked, lang) if page is None else cards.article_job(linked, page)
        made = next(j for j in cards.plan(linked, assets) if j.path == path)
        assert (job.path, job.kind, job.lang, job.key) == \
            (made.path, made.kind, made.lang, made.key)


def test_the_log_says_when_the_first_builds_cards_and_search_are_done(site: Path) -> None:
    """A server stopped while it draws cards or indexes keeps no folder to answer from
    at its next start: the log says when they are done."""
    logs: list[str] = []
    port = free_port()
    dev = DevSite(site, "127.0.0.1", port, True, log=logs.append)
    dev.rebuild()
    try:
        assert dev.session is not None and dev.session.pending is None
        assert logs[-1].startswith("✓ share cards and search index done in "), logs
    finally:
        dev.stop()
    assert _dev_site(site, port).kept()


@pytest.mark.parametrize("forked", [True, False])
def test_pages_lists_feeds_and_sitemaps_asked_for_before_they_are_planned(
        site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: bool) -> None:
    """The first build answers before planning its pages, lists, feeds and sitemaps
    (planned once its workers are forked, then rendered by them): a page asked for
    before that is planned alone, a list, feed or sitemap waits for the plan; each is
    served as the build then writes it."""
    from generator import render
    from generator.build import BuildSession
    from generator.outputs import feeds, listings, pages, sitemap

    monkeypatch.setattr(render, "PARALLEL_THRESHOLD", 1 if forked else 10**9)
    planned: list[str] = []
    for module in (pages, listings, feeds, sitemap):
        def plan(*args: object, _real: object = module.plan, _name: str = module.__name__,
                 **kwargs: object) -> object:
            planned.append(_name)
            return _real(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(module, "plan", plan)
    dev = _dev_site(site, free_port())
    seen: dict[str, object] = {}
    paths = {"article": "fr/news/wells/", "about": "en/about/index.html", "home": "fr/",
             "section": "fr/news/", "feed": "fr/atom.xml", "sitemap": "sitemap.xml",
             "robots": "robots.txt", "missing": "fr/no-such/"}
    asking = _asking(dev, paths, seen)

    def ready() -> None:
        seen["planned when ready"] = list(planned)
        asking.start()

    dev.on_ready = ready
    dev.rebuild()
    asking.join(TIMEOUT)
    try:
        assert dev.state.errors == ()
        assert seen["planned when ready"] == []
        assert seen["missing"] is None
        for name in ("article", "about", "home", "section", "feed", "sitemap", "robots"):
            path, data = seen[name]  # type: ignore[misc]
            assert data == (dev.output / path).read_bytes(), path
        assert seen["article"][0] == "fr/news/wells/index.html"  # type: ignore[index]
        assert seen["home"][0] == "fr/index.html"  # type: ignore[index]
        assert dev.rendered("fr/atom.xml") is None, "written: the file is served"
        assert dev.session is not None and dev.session.pages_behind is None
        assert set(planned) == {pages.__name__, listings.__name__, feeds.__name__,
                                sitemap.__name__}
        whole = tmp_path / "whole"  # planned at once: the same files, byte for byte
        BuildSession(dev.config(), whole, use_cache=False, persist=False,
                     precompress=False).build()
        assert _contents(dev.output) == _contents(whole)
    finally:
        dev.stop()


def test_a_page_planned_behind_is_found_by_its_output_path(site: Path) -> None:
    """``PagesBehind``: the page at a folder, its index.html or a file of its own has
    the job the plan makes; a section's introduction or an unknown path has none."""
    from generator.build import PagesBehind
    from generator.outputs import pages
    from generator.outputs.static import theme_assets
    from generator.render import Renderer
    from tests.conftest import linked_site

    (site / "content/en/news/_index.md").write_text('---\ntitle: "News"\n---\nThe latest.\n')
    linked = linked_site(site)
    assets = theme_assets(linked.config)
    behind = PagesBehind(linked, assets, Renderer(linked.config))
    planned = {job.path: job for job in pages.plan(linked, assets)}
    for asked in ("fr/news/wells/", "fr/news/wells", "fr/news/wells/index.html"):
        job = behind.job(asked)
        assert job is not None, asked
        made = planned["fr/news/wells/index.html"]
        assert (job.path, job.kind, job.lang, job.template, job.key) == \
            (made.path, made.kind, made.lang, made.template, made.key)
    assert len(planned) > 5 and all(behind.job(path).key == job.key  # type: ignore[union-attr]
                                    for path, job in planned.items())
    sections = [page for page in linked.pages.values() if page.kind == "section"]
    assert sections and all(behind.job(page.output_path) is None for page in sections)
    assert behind.job("fr/news/no-such/") is None and behind.job("fr/atom.xml") is None


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in folder.rglob("*") if path.is_file()}


def test_a_card_claimed_twice_is_refused_before_its_plan(site: Path) -> None:
    """A card a server leaves unplanned is still checked: a static file at the card's
    address stops the build, named as when every card is planned."""
    from generator.build import _plan, plan
    from generator.config import load_config
    from generator.errors import SiteError
    from generator.link import link_site
    from generator.load import load_site

    static = site / "static/en/news/wells"
    static.mkdir(parents=True)
    (static / "card.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    config = load_config(site, include_drafts=True)
    loaded = load_site(config)
    linked, _problems = link_site(config, loaded.pages, loaded.assets)
    messages = []
    for planning in (lambda: plan(linked), lambda: _plan(linked, True)):
        with pytest.raises(SiteError) as raised:
            planning()
        messages.append(str(raised.value))
    assert "output en/news/wells/card.jpg is produced twice (static and card)" in messages[0]
    assert messages[1] == messages[0]
    dev = _dev_site(site, free_port())  # a server finds its cards behind its answer
    dev.rebuild()
    try:
        assert "output en/news/wells/card.jpg is produced twice (static and card)" in \
            "\n".join(dev.state.errors)
    finally:
        dev.stop()


def _asking(dev: DevSite, paths: dict[str, str], seen: dict[str, object]) -> threading.Thread:
    """A thread that asks for ``paths`` as the server's thread does while the build goes on,
    keeping each answer in ``seen`` by name."""

    def ask() -> None:
        for name, path in paths.items():
            seen[name] = dev.rendered(path)

    return threading.Thread(target=ask)


def test_pages_are_answered_from_the_last_build_before_the_first_build_links(
        site: Path, tmp_path: Path) -> None:
    """After ``newshub build`` with nothing changed since, a page is answered from the
    layout that build stored, as the server's first build then writes it; a list waits
    for that build; a changed input or a page the build left out means no early answer."""
    from generator.cli import main

    assert main(["build", "--site", str(site), "--output", str(tmp_path / "out"),
                 "--no-cards", "-q"]) == 0  # drafts left out: another site than the server's
    assert not _dev_site(site, free_port()).answer_early()
    assert main(["build", "--site", str(site), "--output", str(tmp_path / "out"),
                 "--drafts", "--no-cards", "-q"]) == 0
    dev = _dev_site(site, free_port())
    assert dev.answer_early() and dev.early is not None
    early = dev.early
    page = early.rendered("en/news/wells/")
    draft = early.rendered("en/news/secret/index.html")
    styles = next(name for name in early.theme_files if name.endswith(".css"))
    stylesheet = early.rendered(styles)  # the theme's files too: the page shows styled
    assert early.rendered("en/") is None and early.rendered("en/news/no-such-page/") is None
    dev.on_ready = dev.end_early
    dev.rebuild()
    try:
        assert dev.early is None and dev.answering.is_set()
        for found in (page, draft, stylesheet):
            assert found is not None
            path, data = found
            assert data == (dev.output / path).read_bytes(), path
    finally:
        dev.stop()
    source = site / "content/en/news/wells.md"
    source.write_text(source.read_text(encoding="utf-8") + "\nOne more line.\n",
                      encoding="utf-8")
    assert not _dev_site(site, free_port()).answer_early(), "an input changed since"


def test_a_server_answers_a_page_from_the_last_build_at_once(site: Path,
                                                             tmp_path: Path) -> None:
    """Over HTTP: the page answered before the first build is done is the one served after
    it (reload script and all), and the server stops cleanly meanwhile or after."""
    from generator.cli import main

    assert main(["build", "--site", str(site), "--output", str(tmp_path / "out"),
                 "--drafts", "--no-cards", "-q"]) == 0
    running = Server(site)
    answers: list[tuple[int, str]] = []

    def answered() -> bool:
        try:
            answers.append(running.get("/en/news/wells/"))
        except OSError:
            assert running.process.poll() is None, running.process.stderr.read()
            return False
        return True

    try:
        until(answered, "the page is answered")
        running.wait_ready()
        assert answers[0][0] == 200 and running.get("/en/news/wells/") == answers[0]
        assert running.get("/en/")[0] == 200
    finally:
        code, err = running.stop()
    assert code == 0, err
