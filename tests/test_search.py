"""Search (generator/outputs/search.py): a Pagefind index and a search page per language,
read as a browser and a reader use them, kept up to date by incremental builds."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import brotli
import pytest

from generator import check
from generator.build import build
from generator.cli import main
from generator.config import load_config
from generator.outputs import search
from tests.browser import chromium, needs_chromium, serve
from tests.conftest import FIXTURES, Built, build_copy
from tests.test_incremental import Workspace, snapshot

LANGS = ("en", "fr", "ar", "zh")
INDEXED = {  # each language's searchable pages (the noindex note is not one of them)
    "en": {"/en/news/wells/", "/en/news/clinic/", "/en/news/floods/", "/en/about/"},
    "fr": {"/fr/news/wells/", "/fr/news/clinic/", "/fr/news/floods/"},
    "ar": {"/ar/news/wells/", "/ar/news/clinic/", "/ar/news/floods/"},
    "zh": {"/zh/news/wells/", "/zh/news/clinic/", "/zh/news/floods/"},
}
SEARCH_LABEL = {"en": "Search", "fr": "Rechercher", "ar": "بحث", "zh": "搜索"}
WELLS_TITLE = 'Twelve wells & <"hand pumps"> repaired before the dry season'


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    built = build_copy(FIXTURES / "search", tmp_path_factory.mktemp("search"))
    assert built.code == 0
    return built


def bundle(built: Built, lang: str) -> Path:
    return built.output / lang / "search" / "pagefind"


def fragments(built: Built, lang: str) -> dict[str, dict]:
    """The pages a language's index holds, by URL (a fragment is gzip with a signature
    before its JSON)."""
    found = {}
    for path in (bundle(built, lang) / "fragment").iterdir():
        data = gzip.decompress(path.read_bytes())
        record = json.loads(data[data.index(b"{"):])
        found[record["url"]] = record
    return found


def policy(doc) -> str:
    return doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]


def script_src(doc) -> list[str]:
    directive = next(d for d in policy(doc).split(";") if d.split()[0] == "script-src")
    return directive.split()[1:]


# The index ---------------------------------------------------------------------------------

def test_the_extended_pagefind_is_installed() -> None:
    """A dependency of newshub (pyproject.toml): the extended build segments Chinese."""
    binary = search.executable()
    assert binary is not None and "extended" in binary.name


def test_each_language_has_an_index_of_its_own(site: Built) -> None:
    for lang in LANGS:
        folder = bundle(site, lang)
        entry = json.loads((folder / "pagefind-entry.json").read_bytes())
        assert set(entry["languages"]) == {lang}
        assert entry["languages"][lang]["page_count"] == len(INDEXED[lang])
        wasm = entry["languages"][lang]["wasm"] or "unknown"
        names = {p.name for p in folder.iterdir() if p.is_file()}
        assert {"pagefind.js", "pagefind-worker.js", f"wasm.{wasm}.pagefind"} <= names
        assert not {n for n in names if n.startswith("pagefind-ui") or "modular" in n}, \
            "Pagefind's own interface is not published: the theme has its own"
        assert [n for n in names if n.startswith("wasm.")] == [f"wasm.{wasm}.pagefind"]
        for script in ("pagefind.js", "pagefind-worker.js"):  # precompressed like all text
            source = (folder / script).read_bytes()
            assert gzip.decompress((folder / f"{script}.gz").read_bytes()) == source
            assert brotli.decompress((folder / f"{script}.br").read_bytes()) == source
        assert not [n for n in names if n.endswith((".pf_fragment.gz", ".pagefind.br"))], \
            "the index files are compressed already"


def test_the_index_holds_titles_bodies_and_dates_not_navigation(site: Built) -> None:
    for lang in LANGS:
        assert set(fragments(site, lang)) == INDEXED[lang]
    english = fragments(site, "en")
    wells = english["/en/news/wells/"]
    assert wells["meta"]["title"] == WELLS_TITLE
    assert wells["meta"]["date"] == "March 14, 2026"
    assert "hand pumps in the northern villages" in wells["content"]
    for text in ("Skip to content", "Search Fixture", "Topics", "Copy link", "March 14"):
        assert text not in wells["content"], f"{text!r} is navigation or metadata"
    assert "date" not in english["/en/about/"]["meta"], "a page has no date"
    assert fragments(site, "zh")["/zh/news/clinic/"]["meta"]["date"] == "2026年3月10日"


# The pages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGS)
def test_a_search_page_per_language(site: Built, lang: str) -> None:
    doc = site.html(f"{lang}/search/index.html")
    assert doc.get("lang") == lang
    assert doc.get("dir") == ("rtl" if lang == "ar" else "ltr")
    assert doc.xpath("string(//h1)") == SEARCH_LABEL[lang]
    form = doc.xpath("//form[@role='search']")[0]
    assert form.get("data-bundle") == f"/{lang}/search/pagefind/"
    assert form.get("action") == f"/{lang}/search/"
    field = form.xpath(".//input[@name='q']")[0]
    assert doc.xpath(f"string(//label[@for='{field.get('id')}'])").strip()
    assert doc.xpath("//meta[@name='robots']/@content") == ["noindex"]
    assert doc.xpath("//*[@role='status']"), "the count is announced"
    scripts = doc.xpath("//script[@src]")
    assert [s.get("type") for s in scripts] == ["module"]
    assert re.fullmatch(r"/assets/search\.[0-9a-f]{10}\.js", scripts[0].get("src"))
    sources = script_src(doc)
    assert "'self'" in sources and "'wasm-unsafe-eval'" in sources
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources


def test_counts_follow_each_languages_plural_rules(site: Built) -> None:
    arabic = site.html("ar/search/index.html").xpath("//form[@role='search']")[0]
    assert {k for k in arabic.attrib if k.startswith("data-results-")} == {
        f"data-results-{c}" for c in ("zero", "one", "two", "few", "many", "other")}
    assert arabic.get("data-results-two") == "نتيجتان"
    assert arabic.get("data-results-few") == "{count} نتائج"
    chinese = site.html("zh/search/index.html").xpath("//form[@role='search']")[0]
    assert chinese.get("data-results-other") == "{count} 条结果"
    assert chinese.get("data-results-one") is None
    french = site.html("fr/search/index.html").xpath("//form[@role='search']")[0]
    assert french.get("data-results-one") == "{count} résultat"


@pytest.mark.parametrize("path", ["en/index.html", "ar/news/wells/index.html",
                                  "zh/news/clinic/index.html", "en/about/index.html"])
def test_other_pages_link_to_search_and_load_nothing_of_it(site: Built, path: str) -> None:
    lang = path.split("/")[0]
    doc = site.html(path)
    link = doc.xpath("//header//a[contains(@class, 'search-link')]")[0]
    assert link.get("href") == f"/{lang}/search/"
    assert link.text_content().strip() == SEARCH_LABEL[lang], "its name, for screen readers"
    html = (site.output / path).read_text(encoding="utf-8")
    assert "pagefind/" not in html and "/assets/search." not in html
    assert "'self'" not in script_src(doc) and "'wasm-unsafe-eval'" not in script_src(doc)


def test_check_finds_nothing_wrong(site: Built) -> None:
    report = check.check_site(load_config(site.site, include_drafts=True), site.output)
    errors = [f for f in report.findings if f.severity == check.ERROR]
    assert errors == []
    assert report.pages >= 4 * len(LANGS)


# The command line ------------------------------------------------------------------------

def test_the_summary_gives_each_index_size(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    built = build_copy(FIXTURES / "search", tmp_path)
    capsys.readouterr()
    code = main(["build", "--site", str(built.site), "--output", str(built.output)])
    summary = capsys.readouterr().out
    assert code == 0
    assert re.search(r"search index: en [\d.]+ KB, fr [\d.]+ KB, ar [\d.]+ KB, zh [\d.]+ KB "
                     r"\(\+ Pagefind [\d.]+ KB each\)", summary), summary
    assert "indexed now" not in summary, "nothing changed: nothing indexed again"


def test_no_search_builds_no_index_page_or_link(tmp_path: Path) -> None:
    built = build_copy(FIXTURES / "search", tmp_path, "--no-search")
    assert built.code == 0
    assert not [f for f in built.files() if "/search/" in f]
    assert not built.html("en/index.html").xpath("//a[contains(@class, 'search-link')]")
    # Turned on again and off again, the folder ends as a build that never had search.
    config = load_config(built.site)
    build(config, built.output, jobs=1)
    assert (built.output / "fr/search/pagefind/pagefind-entry.json").is_file()
    build(load_config(built.site, search=False), built.output, jobs=1)
    clean = tmp_path / "clean"
    build(load_config(built.site, search=False), clean, jobs=1, use_cache=False)
    assert snapshot(built.output) == snapshot(clean)


def test_without_pagefind_the_build_warns_once_and_has_no_search(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A site's own environment may lack Pagefind: the site is built without search."""
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-such-pagefind"))
    work = Workspace(tmp_path, FIXTURES / "search")
    result = work.build()
    said = [w for w in result.warnings if "Pagefind is not installed" in w.message]
    assert len(said) == 1 and said[0].severity == "warning"
    assert result.search == ()
    assert not list(work.output.rglob("search"))
    page = (work.output / "en/index.html").read_text(encoding="utf-8")
    assert "search-link" not in page


# Incremental builds --------------------------------------------------------------------------

@pytest.fixture
def work(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, FIXTURES / "search")
    workspace.build()
    return workspace


def bundles(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in files.items() if "/search/pagefind/" in path}


def test_nothing_changed_indexes_nothing(work: Workspace) -> None:
    result = work.build()
    assert [index.lang for index in result.search] == list(LANGS)
    assert not any(index.indexed for index in result.search)
    assert all(index.index_bytes > 0 and index.runtime_bytes > 0 for index in result.search)


def test_an_edit_indexes_its_language_again_and_no_other(work: Workspace) -> None:
    before = bundles(snapshot(work.output))
    work.edit("content/fr/news/clinic.md", "quatre infirmières", "six infirmières")
    result = work.build()
    assert {index.lang for index in result.search if index.indexed} == {"fr"}
    after = bundles(snapshot(work.output))
    changed = {path for path in after.keys() | before.keys()
               if after.get(path) != before.get(path)}
    assert changed and all(path.startswith("fr/") for path in changed)
    assert "six infirmières" in fragments(Built(work.site, work.output, 0),
                                          "fr")["/fr/news/clinic/"]["content"]
    work.assert_matches_clean_build()


def test_a_change_outside_the_indexed_pages_indexes_nothing(work: Workspace) -> None:
    """A list template changes lists, and no page the index reads."""
    work.edit("themes/default/templates/list.html", "{% block main %}",
              "{% block main %}<!-- lists only -->")
    result = work.build()
    assert result.rendered and not any(index.indexed for index in result.search)
    work.assert_matches_clean_build()


def test_a_deleted_page_leaves_the_index(work: Workspace) -> None:
    """(A page with no translation: deleting a translated article changes its other
    versions' language links, and so their languages' indexes too.)"""
    (work.site / "content/en/about.md").unlink()
    result = work.build()
    assert {index.lang for index in result.search if index.indexed} == {"en"}
    assert set(fragments(Built(work.site, work.output, 0), "en")) == \
        INDEXED["en"] - {"/en/about/"}
    work.assert_matches_clean_build()


def test_a_damaged_bundle_is_made_again(work: Workspace) -> None:
    fragment = next((work.output / "ar/search/pagefind/fragment").iterdir())
    fragment.unlink()
    (work.output / "zh/search/pagefind/pagefind-entry.json").write_text("{}")
    result = work.build()
    assert {index.lang for index in result.search if index.indexed} == {"ar", "zh"}
    work.assert_matches_clean_build()


def test_a_server_indexes_after_the_pages_are_shown(tmp_path: Path) -> None:
    """``newshub serve`` leaves the search phase for ``finish``, like share cards."""
    from generator.build import BuildSession

    work = Workspace(tmp_path, FIXTURES / "search")
    session = BuildSession(load_config(work.site), work.output, jobs=1, persist=False)
    session.build(later=frozenset({"card", "search"}))
    assert (work.output / "en/search/index.html").is_file()
    assert not (work.output / "en/search/pagefind").exists()
    session.finish()
    assert bundles(snapshot(work.output)) == bundles(work.clean_build())
    work.edit("content/zh/news/wells.md", "十二口水井和手动水泵", "十三口水井和手动水泵")
    session.build(load_config(work.site), later=frozenset({"card", "search"}))
    words = fragments(Built(work.site, work.output, 0), "zh")["/zh/news/wells/"]["content"]
    assert "十二口水井和手动水泵" in words.replace("\u200b", ""), "not indexed yet"
    session.finish()
    assert bundles(snapshot(work.output)) == bundles(work.clean_build())


# In a browser ----------------------------------------------------------------------------------

VIOLATIONS = ("window.__violations = [];"
              "document.addEventListener('securitypolicyviolation', e => window.__violations"
              ".push(e.violatedDirective + ' ' + e.blockedURI));")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def served(site: Built) -> Iterator[str]:
    with serve(site.output) as base:
        yield base


def open_search(browser, base: str, lang: str, *, script: str = "") -> tuple[object, list[str]]:
    page = browser.new_page(viewport={"width": 360, "height": 740})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.add_init_script(VIOLATIONS + script)
    page.goto(f"{base}/{lang}/search/")
    return page, requested


@needs_chromium
@pytest.mark.parametrize("lang, words, expected, count", [
    ("en", "wells", "/en/news/wells/", "2 results"),
    ("fr", "clinique", "/fr/news/clinic/", "1 résultat"),
    ("ar", "عيادة", "/ar/news/clinic/", "نتيجة واحدة"),
    ("zh", "水井", "/zh/news/wells/", "2 条结果"),
])
def test_typing_finds_the_article_first(site: Built, browser, served: str, lang: str,
                                        words: str, expected: str, count: str) -> None:
    page, requested = open_search(browser, served, lang)
    page.locator("#search-words").press_sequentially(words, delay=30)
    page.wait_for_selector(".search-results li")
    first = page.locator(".search-results li").first
    assert first.locator("h2 a").get_attribute("href") == expected
    assert first.locator(".date").inner_text().strip(), "results show the date"
    assert first.locator("mark").count() >= 1, "and an excerpt with the words found"
    assert page.locator("[role=status]").inner_text() == count
    assert page.evaluate("window.__violations") == []
    assert all(urlsplit(url).netloc == urlsplit(served).netloc for url in requested)
    if lang == "ar":
        assert page.evaluate("getComputedStyle(document.querySelector('.search-results'))"
                             ".direction") == "rtl"
    assert f"q={words}" in page.evaluate("decodeURIComponent(location.search)")
    page.close()


@needs_chromium
def test_titles_and_excerpts_are_text_not_markup(site: Built, browser, served: str) -> None:
    page, _ = open_search(browser, served, "en")
    page.locator("#search-words").fill("pumps")
    page.wait_for_selector(".search-results li")
    result = page.locator(".search-results li").first
    assert result.locator("h2 a").inner_text() == WELLS_TITLE
    tags = page.evaluate("[...document.querySelectorAll('.search-results li *')]"
                         ".map(e => e.tagName.toLowerCase())")
    assert set(tags) <= {"h2", "a", "p", "mark"}
    page.close()


@needs_chromium
def test_no_match_says_so_and_a_noindex_page_is_not_found(browser, served: str) -> None:
    page, _ = open_search(browser, served, "en")
    page.locator("#search-words").fill("warehouse")
    page.locator("[role=status]").filter(has_text="No results").wait_for()
    assert page.locator("[role=status]").inner_text() == "No results. Try other words."
    assert page.locator(".search-results li").count() == 0
    page.close()


@needs_chromium
def test_a_query_in_the_address_is_searched_at_once(browser, served: str) -> None:
    page = browser.new_page()
    page.goto(f"{served}/fr/search/?q=inondations")
    page.wait_for_selector(".search-results li")
    assert page.locator(".search-results li h2 a").first.get_attribute("href") == \
        "/fr/news/floods/"
    assert page.locator("#search-words").input_value() == "inondations"
    page.close()


@needs_chromium
def test_without_a_worker_pagefind_runs_under_the_page_policy(browser, served: str) -> None:
    """Pagefind searches in a worker where it can; without one it compiles its
    WebAssembly in the page, which the search page's policy allows ('wasm-unsafe-eval')."""
    page, requested = open_search(browser, served, "zh", script="window.Worker = undefined;")
    page.locator("#search-words").fill("诊所")
    page.wait_for_selector(".search-results li")
    assert page.locator(".search-results li h2 a").first.get_attribute("href") == \
        "/zh/news/clinic/"
    assert page.evaluate("window.__violations") == []
    assert not [url for url in requested if url.endswith("pagefind-worker.js")]
    page.close()


@needs_chromium
def test_other_pages_fetch_nothing_for_search(browser, served: str) -> None:
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{served}/ar/news/wells/", wait_until="networkidle")
    assert not [url for url in requested if "pagefind" in url or "/assets/search." in url]
    link = page.locator(".search-link")
    box = link.bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44, "a 44 px target"
    link.click()
    page.wait_for_url(f"{served}/ar/search/")
    assert page.evaluate("document.activeElement.id") == "search-words"
    page.close()


# Shards ----------------------------------------------------------------------------------------
# An edit re-indexes the shard of the pages it changed, not its language. Small shard sizes
# (set while building) cut the fixture's English into several; the archive articles add
# years before the newest (2026), whose pages go in shards of their own.

ARCHIVE = 36  # extra English articles, one every 53 days from 2021 to January 2026
SIZES = {"RECENT_PAGES": 4, "ARCHIVE_PAGES": 8}
CISTERN_REPORT = 17  # the one article with the word in its title (and not its text)
CISTERN = f"/en/news/report-{CISTERN_REPORT}/"
CISTERNS = {n for n in range(ARCHIVE) if n % 3 == 0} | {CISTERN_REPORT}


def report_date(number: int) -> datetime:
    return datetime(2021, 1, 5, 8, 0, tzinfo=UTC) + timedelta(days=53 * number)


def add_archive(site: Path) -> None:
    """Articles of which every third mentions the cistern programme (so the word is
    about as common in each shard); the oldest also a tamarind tree, the newest a
    baobab, and one has the cistern in its title."""
    for number in range(ARCHIVE):
        date = report_date(number)
        title = "Cistern lining rebuilt in the hills" if number == CISTERN_REPORT else \
            f"Field report {number}"
        work = "cistern programme" if number % 3 == 0 else "road repair"
        extra = " Volunteers planted a tamarind tree." if number == 0 else \
            " A baobab shades the new pump." if number == ARCHIVE - 1 else ""
        (site / f"content/en/news/report-{number}.md").write_text(
            f'---\ntitle: "{title}"\ndate: {date.isoformat()}\n---\n\n'
            f"The {work} continued in district number {number}, where committees met "
            f"to plan the next dry season.{extra}\n", encoding="utf-8")


@pytest.fixture
def small_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, size in SIZES.items():
        monkeypatch.setattr(search, name, size)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Built:
    workdir = tmp_path_factory.mktemp("sharded")
    source = workdir / "source"
    shutil.copytree(FIXTURES / "search", source)
    add_archive(source)
    with pytest.MonkeyPatch.context() as patch:
        for name, size in SIZES.items():
            patch.setattr(search, name, size)
        built = build_copy(source, workdir)
    assert built.code == 0
    return built


def shard_folders(output: Path, lang: str) -> list[Path]:
    """A language's shards, the first (in the bundle folder itself) first."""
    root = output / lang / "search" / "pagefind"
    listed = json.loads((root / "shards.json").read_bytes())["shards"]
    return [root, *(root / folder for folder in listed)]


def urls_in(folder: Path) -> set[str]:
    found = set()
    for path in (folder / "fragment").iterdir():
        data = gzip.decompress(path.read_bytes())
        found.add(json.loads(data[data.index(b"{"):])["url"])
    return found


def test_a_language_is_cut_into_shards_each_page_in_one(sharded: Built) -> None:
    folders = shard_folders(sharded.output, "en")
    assert len(folders) >= 4
    assert [f.name for f in folders[1:]] == sorted(
        {p.name for p in folders[0].iterdir() if p.name.startswith("shard-")},
        key=[f.name for f in folders[1:]].index), "shards.json names every shard folder"
    held = [urls_in(folder) for folder in folders]
    everything = INDEXED["en"] | {f"/en/news/report-{n}/" for n in range(ARCHIVE)}
    assert sum(len(urls) for urls in held) == len(everything)
    assert set().union(*held) == everything
    assert "/en/news/report-0/" in held[0], "the oldest first"
    for folder, urls in zip(folders, held, strict=True):
        entry = json.loads((folder / "pagefind-entry.json").read_bytes())
        assert entry["languages"]["en"]["page_count"] == len(urls)
        newest = {u in INDEXED["en"] or report_date(int(u.split("-")[1][:-1])).year == 2026
                  for u in urls}
        assert len(newest) == 1, "the newest year's pages are never in an archive shard"
        scripts = {p.name for p in folder.iterdir() if p.name.startswith(("pagefind.js",
                                                                           "wasm."))}
        assert bool(scripts) == (folder == folders[0]), "Pagefind's script in the first only"
    for lang in ("fr", "ar", "zh"):
        assert set().union(*map(urls_in, shard_folders(sharded.output, lang))) == \
            INDEXED[lang]


def test_shard_ends_stay_where_they_were_when_a_page_comes_or_goes() -> None:
    """A page added or removed anywhere changes the shard it is in, now and then the
    next one or two (after a shard cut at its largest size), never the rest."""
    paths = [f"en/news/{n:05}/index.html" for n in range(5000)]
    before = list(search._runs(paths, 16))
    assert 14 <= len(paths) / len(before) <= 22 and max(map(len, before)) == 32
    changed_pages = []
    for at in range(0, len(paths), 97):
        for changed in ([*paths[:at], "en/news/new/index.html", *paths[at:]],
                        [*paths[:at], *paths[at + 1:]]):
            after = list(search._runs(changed, 16))
            moved = [run for run in after if run not in before]
            assert 1 <= len(moved) <= 6 and sum(map(len, moved)) <= 6 * 32
            changed_pages.append(sum(map(len, moved)))
    assert sum(changed_pages) / len(changed_pages) <= 2 * 16


def test_an_edit_re_indexes_only_its_shard(tmp_path: Path, small_shards: None) -> None:
    work = Workspace(tmp_path, FIXTURES / "search")
    add_archive(work.site)
    work.build()
    before = bundles(snapshot(work.output))
    folders = shard_folders(work.output, "en")
    newest = next(f for f in folders if "/en/news/report-35/" in urls_in(f))
    work.edit("content/en/news/report-35.md", "A baobab shades", "A mango tree shades")
    result = work.build()
    english = next(index for index in result.search if index.lang == "en")
    assert (english.shards_indexed, english.shards) == (1, len(folders))
    assert english.pages_indexed == len(urls_in(newest)) < len(INDEXED["en"]) + ARCHIVE
    assert not any(index.indexed for index in result.search if index.lang != "en")
    after = bundles(snapshot(work.output))
    changed = {path for path in after.keys() | before.keys()
               if after.get(path) != before.get(path)}
    shard = newest.relative_to(work.output).as_posix() + "/"
    assert changed and all(path.startswith(shard) for path in changed), changed
    assert "indexed now: en (1 of" in search.describe(result.search)
    work.assert_matches_clean_build()
    # An old article: its archive shard only.
    work.edit("content/en/news/report-3.md", "district number 3", "district number three")
    result = work.build()
    english = next(index for index in result.search if index.lang == "en")
    assert english.shards_indexed == 1
    assert english.pages_indexed == len(next(
        urls_in(f) for f in folders if "/en/news/report-3/" in urls_in(f)))
    work.assert_matches_clean_build()


def test_new_and_deleted_articles_change_only_shards_near_them(
        tmp_path: Path, small_shards: None) -> None:
    work = Workspace(tmp_path, FIXTURES / "search")
    add_archive(work.site)
    work.build()
    count = len(shard_folders(work.output, "en"))
    (work.site / "content/en/news/latest.md").write_text(
        '---\ntitle: "Latest"\ndate: 2026-04-01T08:00:00Z\n---\n\nA new cistern.\n',
        encoding="utf-8")
    result = work.build()
    english = next(index for index in result.search if index.lang == "en")
    assert 1 <= english.shards_indexed <= 2 and english.shards in (count, count + 1)
    work.assert_matches_clean_build()
    for number in range(ARCHIVE - 1):  # the archive goes: its shards' folders too
        (work.site / f"content/en/news/report-{number}.md").unlink()
    result = work.build()
    assert len(shard_folders(work.output, "en")) < count
    assert not [p for p in bundle(Built(work.site, work.output, 0), "en").iterdir()
                if p.name.startswith("shard-") and not (p / "pagefind-entry.json").exists()]
    work.assert_matches_clean_build()


def test_a_damaged_shard_is_made_again_and_no_other(tmp_path: Path,
                                                    small_shards: None) -> None:
    work = Workspace(tmp_path, FIXTURES / "search")
    add_archive(work.site)
    work.build()
    folders = shard_folders(work.output, "en")
    next((folders[2] / "fragment").iterdir()).unlink()
    (folders[3] / "index" / "stray.pf_index").write_bytes(b"")
    result = work.build()
    english = next(index for index in result.search if index.lang == "en")
    assert english.shards_indexed == 2
    assert english.pages_indexed == len(urls_in(folders[2])) + len(urls_in(folders[3]))
    work.assert_matches_clean_build()
    result = work.build()
    assert not any(index.indexed for index in result.search)


@pytest.fixture(scope="module")
def served_shards(sharded: Built) -> Iterator[str]:
    with serve(sharded.output) as base:
        yield base


@needs_chromium
@pytest.mark.parametrize("worker", [True, False])
def test_one_search_box_searches_every_shard(sharded: Built, browser, served_shards: str,
                                             worker: bool) -> None:
    page, requested = open_search(browser, served_shards, "en",
                                  script="" if worker else "window.Worker = undefined;")
    field = page.locator("#search-words")
    field.fill("cistern")
    page.locator("[role=status]").filter(has_text="results").wait_for()
    assert page.locator("[role=status]").inner_text() == f"{len(CISTERNS)} results", \
        "every article from every shard"
    assert page.locator(".search-results li h2 a").first.get_attribute("href") == CISTERN, \
        "the one with the word in its title first, whichever shard it is in"
    shown = page.eval_on_selector_all(".search-results li h2 a",
                                      "links => links.map(a => a.getAttribute('href'))")
    assert len(shown) == 10 and set(shown) <= {f"/en/news/report-{n}/" for n in CISTERNS}
    for words, found in (("tamarind", "/en/news/report-0/"),  # the oldest shard
                         ("baobab", f"/en/news/report-{ARCHIVE - 1}/"),  # the newest
                         ("wells", "/en/news/wells/")):
        field.fill(words)
        page.wait_for_function("([href]) => document.querySelector("
                               "'.search-results li h2 a')?.getAttribute('href') === href",
                               arg=[found])
    assert page.evaluate("window.__violations") == []
    assert all(urlsplit(url).netloc == urlsplit(served_shards).netloc for url in requested)
    merged = {urlsplit(url).path.split("/pagefind/")[1].split("/")[0] for url in requested
              if "/pagefind/shard-" in url and url.split("?")[0].endswith("entry.json")}
    assert len(merged) == len(shard_folders(sharded.output, "en")) - 1
    page.close()


def test_a_long_list_of_shards_is_precompressed(tmp_path: Path) -> None:
    """shards.json above 1 KB (some 60 shards) gets .br and .gz copies like any text."""
    folder = "en/search/pagefind/"
    parts = [search.Shard(folder, ("en/a/index.html",), True)] + [
        search.Shard(f"{folder}shard-{n:010x}/", (f"en/{n}/index.html",), False)
        for n in range(80)]
    made = search._shard_list(tmp_path, folder, parts, set(), True)
    source = (tmp_path / folder / "shards.json").read_bytes()
    assert len(json.loads(source)["shards"]) == 80
    assert set(made) == {f"{folder}shards.json{suffix}" for suffix in ("", ".br", ".gz")}
    assert gzip.decompress((tmp_path / folder / "shards.json.gz").read_bytes()) == source
    assert brotli.decompress((tmp_path / folder / "shards.json.br").read_bytes()) == source
    assert search._shard_list(tmp_path, folder, parts[:1], set(made), False).keys() == \
        {f"{folder}shards.json"}
    assert not (tmp_path / folder / "shards.json.br").exists(), "copies of no list go"
