"""A CI matrix of ``--languages`` builds: each machine builds one language into a folder
of its own (its own checkout, its own cache), the folders are merged by plain copying,
and the merged site equals one build of every language, byte for byte.

The merge rule these tests hold the build to: a file that several machines produce is
the same on all of them, so the order of copying never matters. Without
``default_language_at_root`` every machine writes the shared files at the site root
(the chooser, ``/404.html``, the sitemap, ``/robots.txt``, ``/_headers``,
``/_redirects``, the service worker, the theme's assets, static files and the
precompressed copies of all of these); with it, the default language's machine alone
writes the root, which is its language's folder. Every machine reads all content's
front matter, so hreflang links, language switchers and sitemap alternates name every
language, and converts the bodies of its own languages only (and of those their lists
fall back to).

Built through the real command line, with search (when Pagefind is installed) and
precompression on, as a CI job would run it.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
import yaml
from PIL import Image

from generator import __version__
from generator.cli import main
from generator.outputs import search, sitemap
from tests.conftest import FIXTURES, REPO

LANGS = ("en", "fr", "ar")
SHARED_AT_ROOT = ("index.html", "404.html", "sitemap.xml", "robots.txt", "_headers",
                  "_redirects", "sw.js")
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9",
              "x": "http://www.w3.org/1999/xhtml"}
needs_pagefind = pytest.mark.skipif(search.executable() is None,
                                    reason="Pagefind is not installed (pip install "
                                           "'pagefind[extended]')")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def merge(parts: list[Path], target: Path) -> dict[str, list[str]]:
    """Copy every machine's folder into ``target``; return which machines wrote each
    file, after checking that a file written by several is the same on all of them."""
    owners: dict[str, list[str]] = {}
    merged: dict[str, bytes] = {}
    for part in parts:
        for path, data in snapshot(part).items():
            assert merged.setdefault(path, data) == data, \
                f"{path}: {part.name} wrote other bytes than {owners[path]}"
            owners.setdefault(path, []).append(part.name)
        shutil.copytree(part, target, dirs_exist_ok=True)
    return owners


def make_site(folder: Path, *, at_root: bool = False) -> Path:
    """The multilingual fixture (en, fr, ar: a right-to-left language, tags, an urgent
    appeal, a draft, a story dated later) with what a split must also keep whole: old
    addresses of a French and an Arabic story (pages at the site root and lines in
    ``/_redirects``), a French photo story (its renditions), files in ``static/`` both
    shared and in a language's folder."""
    site = folder / "site"
    shutil.copytree(FIXTURES / "multilingual", site,
                    ignore=shutil.ignore_patterns("output", ".newshub-cache"))
    for name in ("themes", "locales"):
        shutil.copytree(REPO / name, site / name)
    files = {
        "content/fr/news/old-wells.md": '---\ntitle: "Les anciens puits"\n'
        'date: 2026-01-10T08:00:00Z\ntags: [water]\naliases: [/puits/, "/?p=12"]\n---\n'
        "Les puits de 2025.\n",
        "content/ar/news/clinic.md": '---\ntitle: "عيادة متنقلة"\ndate: 2026-02-10T08:00:00Z\n'
        "aliases: [/ar-clinic.html]\n---\nعيادة جديدة.\n",
        "content/fr/news/photo/index.md": '---\ntitle: "En images"\n'
        'date: 2026-02-20T08:00:00Z\n---\n![Une pompe réparée](pump.jpg)\n\nDes photos.\n',
        "static/files/report.txt": "Annual report\n",
        "static/fr/guide.txt": "Guide en français\n",
    }
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text, encoding="utf-8")
    photo = io.BytesIO()
    Image.new("RGB", (1200, 800), (40, 120, 200)).save(photo, "JPEG", quality=80)
    (site / "content/fr/news/photo/pump.jpg").write_bytes(photo.getvalue())
    if at_root:
        toml = site / "site.toml"
        toml.write_text("default_language_at_root = true\n" + toml.read_text(encoding="utf-8"),
                        encoding="utf-8")
    return site


def newshub_build(site: Path, output: Path, *options: str) -> None:
    """``newshub build`` as a CI job runs it: a process of its own."""
    done = subprocess.run([sys.executable, "-m", "generator", "build", "--site", str(site),
                           "--output", str(output), "--quiet", *options],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def split_build(tmp: Path, *, at_root: bool = False) -> tuple[dict[str, bytes], Path,
                                                               dict[str, list[str]]]:
    """One whole build, and one build per language on its own "machine" (a copy of the
    site with its own cache), merged: (the whole build, the merged folder, which
    machines wrote each file)."""
    whole = tmp / "whole"
    newshub_build(make_site(whole, at_root=at_root), whole / "output")
    parts = []
    for lang in LANGS:
        machine = tmp / f"machine-{lang}"
        newshub_build(make_site(machine, at_root=at_root), machine / lang, "--languages", lang)
        parts.append(machine / lang)
    merged = tmp / "merged"
    owners = merge(parts, merged)
    return snapshot(whole / "output"), merged, owners


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], Path,
                                                              dict[str, list[str]]]:
    return split_build(tmp_path_factory.mktemp("split"))


@pytest.fixture(scope="module")
def split_at_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[
        dict[str, bytes], Path, dict[str, list[str]]]:
    return split_build(tmp_path_factory.mktemp("split-root"), at_root=True)


def _assert_equal(whole: dict[str, bytes], merged: dict[str, bytes]) -> None:
    assert sorted(set(whole) - set(merged)) == [], "files no machine wrote"
    assert sorted(set(merged) - set(whole)) == [], "files only the split wrote"
    assert sorted(path for path in whole if whole[path] != merged[path]) == []


def test_the_merged_machines_equal_one_build(split: tuple) -> None:
    whole, merged, _owners = split
    _assert_equal(whole, snapshot(merged))
    for path in ("fr/news/photo/index.html", "fr/guide.txt", "ar/news/clinic/index.html"):
        assert path in whole, path
    assert any(path.endswith(".br") for path in whole), "precompressed copies are compared"


def test_every_machine_writes_the_shared_root_and_only_its_language(split: tuple) -> None:
    _whole, _merged, owners = split
    machines = list(LANGS)
    for path in (*SHARED_AT_ROOT, "files/report.txt", "puits/index.html", "ar-clinic.html",
                 "index.html.br", "sitemap.xml.gz"):
        assert sorted(owners[path]) == sorted(machines), path
    assert any(path.startswith("assets/") and owners[path] == machines for path in owners)
    for path, wrote in owners.items():
        first = path.split("/", 1)[0]
        if first in LANGS:
            assert wrote == [first], path


@needs_pagefind
def test_each_machine_indexes_its_own_language_for_search(split: tuple) -> None:
    whole, _merged, owners = split
    for lang in LANGS:
        bundle = [path for path in whole if path.startswith(f"{lang}/search/pagefind/")]
        assert f"{lang}/search/pagefind/pagefind.js" in bundle
        assert {machine for path in bundle for machine in owners[path]} == {lang}


def test_a_machine_links_every_language(split: tuple) -> None:
    """What one machine writes about its language names the others' pages too:
    hreflang alternates, the language switcher, the sitemap's alternates."""
    _whole, merged, owners = split
    page = lxml.html.fromstring((merged / "fr/news/wells/index.html").read_bytes())
    assert owners["fr/news/wells/index.html"] == ["fr"]
    alternates = {link.get("hreflang") for link in page.xpath('//link[@rel="alternate"]'
                                                              '[@hreflang]')}
    assert {"en", "fr", "ar", "x-default"} <= alternates
    switcher = {a.get("hreflang") for a in page.xpath("//a[@hreflang]")}
    assert {"en", "ar"} <= switcher
    tree = lxml.etree.fromstring((merged / "sitemap.xml").read_bytes())
    wells = tree.xpath('//s:url[s:loc="https://hub.example.org/fr/news/wells/"]'
                       "/x:link/@hreflang", namespaces=SITEMAP_NS)
    assert set(wells) == {"en", "fr", "ar", "x-default"}


def test_the_merged_machines_equal_one_build_with_the_default_language_at_root(
        split_at_root: tuple) -> None:
    whole, merged, owners = split_at_root
    _assert_equal(whole, snapshot(merged))
    assert "index.html" in whole and "news/wells/index.html" in whole
    for path, wrote in owners.items():
        first = path.split("/", 1)[0]
        assert wrote == [first if first in ("fr", "ar") else "en"], path
    for path in ("sitemap.xml", "_headers", "_redirects", "sw.js", "puits/index.html"):
        assert owners[path] == ["en"], path


def _urls(folder: Path, files: list[str]) -> dict[str, frozenset[tuple[str, str]]]:
    """Each address in these sitemap files with its alternates (hreflang, href)."""
    found = {}
    for name in files:
        tree = lxml.etree.parse(str(folder / name))
        assert tree.getroot().tag == f"{{{SITEMAP_NS['s']}}}urlset", name
        for url in tree.getroot():
            loc = url.findtext("s:loc", namespaces=SITEMAP_NS)
            assert loc not in found, f"{loc} twice"
            found[loc] = frozenset((link.get("hreflang"), link.get("href"))
                                   for link in url.findall("x:link", namespaces=SITEMAP_NS))
    return found


@pytest.mark.parametrize("at_root", [False, True])
def test_a_large_site_has_a_sitemap_per_language_each_machine_writes_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at_root: bool) -> None:
    """Past ``URLS_PER_FILE`` addresses (here 3), ``/sitemap.xml`` is an index of each
    language's files, which hold the same addresses and alternates as one sitemap."""
    one = tmp_path / "one"
    site = make_site(one, at_root=at_root)
    assert main(["build", "--site", str(site), "--output", str(one / "output"), "--quiet",
                 "--no-search", "--no-cards"]) == 0
    expected = _urls(one / "output", ["sitemap.xml"])
    monkeypatch.setattr(sitemap, "URLS_PER_FILE", 3)
    whole = tmp_path / "whole"
    assert main(["build", "--site", str(make_site(whole, at_root=at_root)), "--output",
                 str(whole / "output"), "--quiet", "--no-search", "--no-cards"]) == 0
    parts = []
    for lang in LANGS:
        machine = tmp_path / lang
        assert main(["build", "--site", str(make_site(machine, at_root=at_root)), "--output",
                     str(machine / lang), "--quiet", "--no-search", "--no-cards",
                     "--languages", lang]) == 0
        parts.append(machine / lang)
    owners = merge(parts, tmp_path / "merged")
    _assert_equal(snapshot(whole / "output"), snapshot(tmp_path / "merged"))
    index = lxml.etree.parse(str(tmp_path / "merged/sitemap.xml")).getroot()
    assert index.tag == f"{{{SITEMAP_NS['s']}}}sitemapindex"
    files = [loc.text.removeprefix("https://hub.example.org/")
             for loc in index.iterfind("s:sitemap/s:loc", namespaces=SITEMAP_NS)]
    assert files[:2] == (["sitemap-en.xml", "sitemap-en-2.xml"] if at_root
                         else ["en/sitemap.xml", "en/sitemap-2.xml"])
    assert "fr/sitemap.xml" in files and "ar/sitemap.xml" in files
    assert _urls(tmp_path / "merged", files) == expected
    for name in files:
        lang = next(lang for lang in LANGS if f"{lang}/" in name or f"-{lang}" in name)
        assert owners[name] == [lang], name
    assert sorted(owners["sitemap.xml"]) == (["en"] if at_root else sorted(LANGS))


def test_a_checkout_with_other_file_times_builds_the_same_site(tmp_path: Path) -> None:
    """Each machine's checkout gives its files new times: no byte may depend on them (a
    photo's time once reached the offline list's revisions, and so ``/sw.js``)."""
    site = make_site(tmp_path)
    newshub_build(site, tmp_path / "output")
    before = snapshot(tmp_path / "output")
    later = time.time() + 3600
    for path in (site / "content").rglob("*"):
        os.utime(path, (later, later))
    newshub_build(site, tmp_path / "output")
    assert snapshot(tmp_path / "output") == before
    newshub_build(site, tmp_path / "clean", "--force")
    assert snapshot(tmp_path / "clean") == before


LAUNCH = "2030-06-01T12:00:00Z"  # a story's publish_date, in English and French


def clock_machines(tmp: Path, clocks: dict[str, str]) -> tuple[Path, Path]:
    """Each language's machine builds as at its ``--now`` (``clocks``) and a whole
    build at the English machine's; the machines' folders merged (merged, whole)."""
    parts = []
    for lang, when in clocks.items():
        machine = tmp / f"machine-{lang}"
        site = make_site(machine)
        for code, title in (("en", "Launch"), ("fr", "Lancement")):
            (site / f"content/{code}/news/launch.md").write_text(
                f"---\ntitle: {title}\ndate: 2030-01-01T00:00:00Z\npublish_date: {LAUNCH}\n"
                "---\n\nThe pumps are in.\n", encoding="utf-8")
        assert main(["build", "--site", str(site), "--output", str(machine / lang), "--quiet",
                     "--no-search", "--no-cards", "--languages", lang, "--now", when]) == 0
        parts.append(machine / lang)
        if lang == "en":
            assert main(["build", "--site", str(site), "--output", str(tmp / "whole"),
                         "--quiet", "--no-search", "--no-cards", "--now", when]) == 0
    merge(parts, tmp / "merged")
    return tmp / "merged", tmp / "whole"


def test_machines_on_one_clock_agree_on_a_story_that_falls_due(tmp_path: Path) -> None:
    """The CI recipe's ``--now``: machines that build minutes apart, across a story's
    publish_date, publish it all or none of them, and merge to one build's output."""
    later = "@1907712000"  # 2030-06-15, after LAUNCH
    merged, whole = clock_machines(tmp_path, dict.fromkeys(LANGS, later))
    _assert_equal(snapshot(whole), snapshot(merged))
    assert (merged / "en/news/launch/index.html").is_file()
    assert (merged / "fr/news/launch/index.html").is_file()
    tree = lxml.etree.parse(str(merged / "sitemap.xml"))
    assert tree.xpath('//s:loc[.="https://hub.example.org/en/news/launch/"]',
                      namespaces=SITEMAP_NS)


def test_machines_on_their_own_clocks_disagree_on_a_story_that_falls_due(
        tmp_path: Path) -> None:
    """What the one clock prevents: the English machine before the story's moment, the
    others after it, write shared files (the sitemap, the offline worker) differently."""
    with pytest.raises(AssertionError, match="wrote other bytes"):
        clock_machines(tmp_path, {"en": "2030-06-01T11:59:59Z", "fr": LAUNCH, "ar": LAUNCH})


def test_a_file_written_differently_by_two_machines_fails_the_merge(tmp_path: Path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    for folder, text in ((one, "a"), (other, "b")):
        folder.mkdir()
        (folder / "sw.js").write_text(text)
    with pytest.raises(AssertionError, match=r"sw\.js"):
        merge([one, other], tmp_path / "merged")


CORPUS_SCRIPT = REPO.parent / "shared" / "corpus" / "make_corpus.py"


@pytest.mark.skipif(not CORPUS_SCRIPT.is_file(), reason="../shared/corpus is not beside the repo")
def test_the_split_benchmark_runs_and_compares(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "split.py"), "--articles", "3",
                           "--work", str(tmp_path), "--option=--no-search"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "merged site EQUALS the whole build" in done.stdout
    for row in ("whole site", "--languages zh", "matrix (slowest machine)"):
        assert row in done.stdout, row
    assert not (tmp_path / "merged").exists(), "output folders are removed at the end"


# The CI recipe: `newshub init --ci-matrix` ---------------------------------------------

PAGES_URL = "https://acacia.github.io/news"


def test_the_matrix_workflow_passes_actionlint(tmp_path: Path) -> None:
    from tests.test_distribution import _actionlint

    assert main(["init", str(tmp_path / "acacia"), "--languages", "en,fr,ar,zh",
                 "--ci-matrix"]) == 0
    workflow = tmp_path / "acacia/.github/workflows/deploy.yml"
    spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    assert spec["jobs"]["build"]["strategy"]["matrix"]["languages"] == ["en", "fr", "ar", "zh"]
    assert spec["jobs"]["build"]["needs"] == "clock", "every machine on the clock job's moment"
    built = next(step for step in spec["jobs"]["build"]["steps"]
                 if step.get("name", "").startswith("Build"))
    assert '--now "@$NOW"' in built["run"]
    assert built["env"]["NOW"] == "${{ needs.clock.outputs.now }}"
    assert spec["env"]["NEWSHUB_VERSION"] == __version__
    done = _actionlint([workflow])
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_matrix_workflow_builds_merges_and_checks_one_site(tmp_path: Path) -> None:
    """The workflow's own steps, run as GitHub's runner would (``uses:`` steps stood in
    for: each machine's folder is "uploaded" into parts/site-<index>/): the merged
    output/ equals one build, passes ``newshub check --strict``, and a machine that
    made a shared file differently stops the merge."""
    from tests.test_distribution import Runner

    assert main(["init", str(tmp_path / "acacia"), "--languages", "en,fr,ar",
                 "--ci-matrix"]) == 0
    site = tmp_path / "acacia"
    workflow = site / ".github/workflows/deploy.yml"
    matrix = yaml.safe_load(workflow.read_text(encoding="utf-8"))[
        "jobs"]["build"]["strategy"]["matrix"]["languages"]
    bin_folder = Path(sys.executable).parent
    assert (bin_folder / "newshub").is_file(), "the newshub command beside this Python"
    now = Runner(workflow, "clock", bin_folder, site, {}).run()["now"]["now"]
    assert abs(int(now) - time.time()) < 60, now
    for index, languages in enumerate(matrix):
        machine = tmp_path / f"machine-{index}"
        shutil.copytree(site, machine)
        runner = Runner(workflow, "build", bin_folder, machine, {
            "steps.pages.outputs.base_url": PAGES_URL, "matrix.languages": languages,
            "needs.clock.outputs.now": now})
        runner.job["steps"] = [step for step in runner.job["steps"]
                               if step.get("name", "").startswith("Build")]
        runner.run()
        shutil.copytree(machine / "output", site / "parts" / f"site-{index}")
    newshub_build(site, tmp_path / "whole", "--base-url", PAGES_URL, "--now", f"@{now}")

    def merge_job() -> dict[str, dict[str, str]]:
        runner = Runner(workflow, "merge", bin_folder, site, {
            "steps.pages.outputs.base_url": PAGES_URL, "github.event_name": "push",
            "steps.published.outputs.cache-hit": ""})
        runner.job["steps"] = [step for step in runner.job["steps"]
                               if not step.get("name", "").startswith("Install")]
        return runner.run()

    outputs = merge_job()
    assert snapshot(site / "output") == snapshot(tmp_path / "whole")
    assert outputs["decide"]["changed"] == "true"
    assert not (site / "parts").exists()
    for index in range(len(matrix)):  # again, with one machine's sitemap changed
        shutil.copytree(tmp_path / f"machine-{index}/output", site / "parts" / f"site-{index}")
    sitemap = site / "parts/site-1/sitemap.xml"
    sitemap.write_text(sitemap.read_text(encoding="utf-8").replace("</urlset>", "<!-- -->"
                                                                   "</urlset>"))
    with pytest.raises(AssertionError, match=r"(?s)Merge the folders.*sitemap\.xml differ"):
        merge_job()


def test_a_language_build_leaves_the_strict_check_to_the_merged_site(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site(tmp_path)
    assert main(["build", "--site", str(site), "--languages", "fr", "--strict"]) == 2
    assert "newshub check --strict" in capsys.readouterr().err
    assert not (site / "output").exists()


def _language_files(folder: Path, lang: str) -> dict[str, bytes]:
    return {path: data for path, data in snapshot(folder).items()
            if path.startswith(f"{lang}/")}


def test_a_machine_reads_other_languages_front_matter_only(tmp_path: Path) -> None:
    """Bodies are most of reading: a machine converts its own languages' only, so a
    fault in another language's body is left to that language's machine."""
    site = make_site(tmp_path)
    (site / "content/en/news/broken.md").write_text(
        "---\ntitle: Broken\ndate: 2026-01-05T08:00:00Z\n---\n\n{{< no-such-shortcode >}}\n",
        encoding="utf-8")
    newshub_build(site, tmp_path / "fr", "--languages", "fr")
    done = subprocess.run([sys.executable, "-m", "generator", "build", "--site", str(site),
                           "--output", str(tmp_path / "en"), "--quiet", "--languages", "en"],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1 and "broken.md" in done.stderr, done.stderr


def test_a_machine_reads_the_bodies_its_lists_fall_back_to(tmp_path: Path) -> None:
    """French lists show English stories that have no French version (with their
    summaries, made from their bodies): the French machine reads English bodies."""
    site = make_site(tmp_path)
    toml = site / "site.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '[languages.fr]\n', '[languages.fr]\nfallback = ["en"]\n'), encoding="utf-8")
    newshub_build(site, tmp_path / "whole")
    newshub_build(site, tmp_path / "fr", "--languages", "fr")
    assert _language_files(tmp_path / "fr", "fr") == _language_files(tmp_path / "whole", "fr")


def test_one_cache_serves_language_builds_and_whole_builds(tmp_path: Path) -> None:
    """A developer's cache used for a ``--languages`` build (other bodies unread), then a
    whole build, an edit and a language build again: every whole build equals a clean one."""
    site = make_site(tmp_path / "dev")
    clean = make_site(tmp_path / "clean")
    story = "content/en/news/wells.md"
    newshub_build(site, tmp_path / "fr", "--languages", "fr")
    newshub_build(site, tmp_path / "whole")
    newshub_build(clean, tmp_path / "clean-out", "--force")
    _assert_equal(snapshot(tmp_path / "clean-out"), snapshot(tmp_path / "whole"))
    for folder in (site, clean):
        text = (folder / story).read_text(encoding="utf-8")
        (folder / story).write_text(text + "\nOne more sentence.\n", encoding="utf-8")
    newshub_build(site, tmp_path / "fr", "--languages", "fr")
    newshub_build(site, tmp_path / "whole")
    newshub_build(clean, tmp_path / "clean-out", "--force")
    _assert_equal(snapshot(tmp_path / "clean-out"), snapshot(tmp_path / "whole"))
    assert "One more sentence." in (tmp_path / "whole/en/news/wells/index.html").read_text(
        encoding="utf-8")
