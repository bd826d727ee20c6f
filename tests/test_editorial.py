"""The editorial workflow: translation status (from git history or front matter),
``newshub new``, ``newshub check`` and ``build --strict``, and the base URL.

Sites are built with the real command line; translation status runs in a real
temporary git repository with commits dated through GIT_*_DATE.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import lxml.html
import pytest

from generator.cli import main
from generator.config import SiteConfig, load_config
from generator.htmlscan import scan_html
from generator.link import link_site
from generator.load import load_site
from generator.model import Page
from tests.conftest import DEFAULT_CONFIG, REPO, Built

MakeSite = Callable[..., Path]
ENGLISH_ONLY = 'base_url = "https://example.org/"\n[languages.en]\n'  # no catalogs involved


def post(title: str, body: str = "Text.", date: str = "2026-01-05T10:00:00+00:00",
         extra: str = "") -> str:
    return f"---\ntitle: {title}\ndate: {date}\n{extra}---\n\n{body}\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def build_and_check(site: Path, capsys: pytest.CaptureFixture[str],
                    *check_args: str) -> tuple[int, dict]:
    code, _, err = run(capsys, "build", "--site", str(site), "--quiet")
    assert code == 0, err
    code, out, _ = run(capsys, "check", "--site", str(site), "--json", *check_args)
    return code, json.loads(out)


def findings(report: dict, kind: str) -> list[dict]:
    return [f for f in report["findings"] if f["kind"] == kind]


# newshub check ------------------------------------------------------------------------

def test_broken_links_and_anchors_name_the_markdown_line(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    body = ("Intro.\n\n## Details\n\n[ok](#details) and [fr ok](/fr/news/a/#en-bref).\n\n"
            "[gone](/en/news/nope/)\n\n[bad anchor](/fr/news/a/#nowhere)\n\n[self](#missing)\n")
    site = make_site({
        "content/en/news/a.md": post("A", body),
        "content/fr/news/a.md": post("A fr", "## En bref\n\nTexte."),
    })
    code, report = build_and_check(site, capsys)
    assert code == 1
    broken = {(f["message"].split(":")[0], f["source"], f["line"], f["output"])
              for f in report["findings"] if f["kind"] in ("broken-link", "broken-anchor")}
    assert broken == {
        ("broken link", "content/en/news/a.md", 12, "en/news/a/index.html"),
        ("broken anchor", "content/en/news/a.md", 14, "en/news/a/index.html"),
        ("broken anchor", "content/en/news/a.md", 16, "en/news/a/index.html"),
    }
    code, out, _ = run(capsys, "check", "--site", str(site))
    assert code == 1
    assert "content/en/news/a.md:12: error: broken link: /en/news/nope/" in out
    assert out.rstrip().endswith("→ FAILED")


def test_external_script_and_font_are_privacy_errors(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    body = ('A [link elsewhere](https://example.com/) is fine.\n\n'
            '<script src="https://cdn.example.com/tracker.js"></script>\n\n'
            '<p style="font-family: x; background: url(https://fonts.example.com/f.woff2)">'
            'Styled</p>\n')
    # kept as written ([markdown] html = "allow"): check finds them at their lines
    site = make_site({"content/en/news/a.md": post("A", body)},
                     DEFAULT_CONFIG + '[markdown]\nhtml = "allow"\n')
    code, report = build_and_check(site, capsys)
    assert code == 1
    foreign = findings(report, "foreign-resource")
    assert [(f["source"], f["line"], f["severity"]) for f in foreign] == [
        ("content/en/news/a.md", 8, "error"), ("content/en/news/a.md", 10, "error")]
    assert "cdn.example.com" in foreign[0]["message"]
    assert [(f["source"], f["line"]) for f in findings(report, "script")] == [
        ("content/en/news/a.md", 8)]
    assert report["errors"] == 3
    # by default ("safe") the build removes both, with a warning at each line
    (site / "site.toml").write_text(DEFAULT_CONFIG, encoding="utf-8")
    code, report = build_and_check(site, capsys)
    assert findings(report, "foreign-resource") == [] and findings(report, "script") == []
    removed = [(f["line"], f["message"].split(" (")[0]) for f in report["findings"]
               if f["message"].startswith("removed")]
    assert removed == [(8, "removed <script> with its content"),
                       (10, "removed attribute style= from <p>")]


def test_a_theme_script_is_reported_once_at_its_template_line(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/a.md": post("A")}, ENGLISH_ONLY)
    shutil.copytree(REPO / "themes/default", site / "themes/default")
    base = site / "themes/default/templates/base.html"
    text = base.read_text(encoding="utf-8").replace(
        "</head>", '<script src="https://stats.example.net/s.js"></script>\n</head>')
    base.write_text(text, encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "stats.example.net" in t)
    code, _, err = run(capsys, "build", "--site", str(site), "--quiet")
    assert code == 0, err
    code, out, _ = run(capsys, "check", "--site", str(site))
    assert code == 1
    [reported] = [t for t in out.splitlines() if "stats.example.net" in t]
    assert reported.startswith(f"themes/default/templates/base.html:{line}: error: <script> "
                               "loads https://stats.example.net/s.js from another host")
    assert re.search(r"\(and \d+ more pages\)$", reported)


def test_missing_image_and_missing_alt(make_site: MakeSite,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    body = "Text.\n\n![](/images/nowhere.png)\n"
    site = make_site({"content/en/news/a.md": post("A", body)})
    code, report = build_and_check(site, capsys)
    assert code == 1
    [missing] = findings(report, "missing-image")
    assert (missing["source"], missing["line"], missing["severity"]) == \
        ("content/en/news/a.md", 8, "error")
    [alt] = findings(report, "alt")
    assert (alt["source"], alt["line"], alt["severity"]) == ("content/en/news/a.md", 8, "warning")


def test_oversized_article_is_a_warning_that_strict_turns_into_failure(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    words = random.Random(7)
    text = " ".join("".join(words.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
                    for _ in range(4000))  # ~36 KB that gzip cannot shrink below 14 KB
    site = make_site({"content/en/news/big.md": post("Big", text),
                      "content/en/news/small.md": post("Small")})
    code, report = build_and_check(site, capsys)
    assert code == 0
    [weight] = findings(report, "weight")
    assert weight["severity"] == "warning"
    assert weight["source"] == "content/en/news/big.md"
    assert weight["output"] == "en/news/big/index.html"
    assert "over the 14 KB budget" in weight["message"]
    code, out, _ = run(capsys, "check", "--site", str(site), "--strict")
    assert code == 1
    assert "content/en/news/big.md: warning: article weighs" in out


def test_budget_comes_from_site_toml(make_site: MakeSite,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = ENGLISH_ONLY + "[budget]\narticle_kb = 1\nimages_kb = 2\n"
    site = make_site({"content/en/news/a.md": post("A", "![Noise](/images/noise.png)"),
                      "static/images/noise.png": _png(noise=True)}, config)
    code, report = build_and_check(site, capsys)
    assert code == 0
    messages = [f["message"] for f in findings(report, "weight")]
    assert len(messages) == 2
    assert "over the 1 KB budget ([budget] article_kb in site.toml)" in messages[0]
    assert "over the 2 KB budget ([budget] images_kb in site.toml)" in messages[1]
    (site / "site.toml").write_text(config.replace("article_kb", "artcle_kb"))
    code, _, err = run(capsys, "check", "--site", str(site))
    assert code == 1
    assert "unknown key 'budget.artcle_kb'; did you mean 'budget.article_kb'?" in err


def test_hreflang_that_does_not_point_back(make_site: MakeSite,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/a.md": post("A"), "content/fr/news/a.md": post("A fr")})
    code, report = build_and_check(site, capsys)
    assert (code, report["errors"], findings(report, "hreflang")) == (0, 0, [])
    page = site / "output/fr/news/a/index.html"
    html = page.read_text(encoding="utf-8")
    page.write_text(html.replace('hreflang="en" href="https://example.org/en/news/a/"',
                                 'hreflang="en" href="https://example.org/en/"'), "utf-8")
    code, out, _ = run(capsys, "check", "--site", str(site), "--strict")
    assert code == 1
    assert ("content/en/news/a.md: warning: hreflang is not reciprocal: this page names "
            "https://example.org/fr/news/a/ as its 'fr' version") in out


def test_decorative_images() -> None:
    scan = scan_html('<a href="/"><img src="a.svg" alt=""><span>Home</span></a>'
                     '<img src="b.svg" alt="" role="presentation"><img src="c.svg" alt="">'
                     '<a href="/x/"><img src="d.svg" alt=""></a><img src="e.svg">')
    assert [(i.src, i.alt, i.decorative) for i in scan.images] == [
        ("a.svg", "", True), ("b.svg", "", True), ("c.svg", "", False), ("d.svg", "", False),
        ("e.svg", None, False)]


def test_check_without_a_build(make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/a.md": post("A")})
    code, _, err = run(capsys, "check", "--site", str(site))
    assert code == 2
    assert "run newshub build first" in err


def test_build_strict_fails_on_warnings_but_keeps_the_output(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/a.md": post("A", "![](/images/logo.png)"),
                      "static/images/logo.png": _png()}, ENGLISH_ONLY)
    code, _, err = run(capsys, "build", "--site", str(site))
    assert code == 0
    code, _, err = run(capsys, "build", "--site", str(site), "--strict")
    assert code == 1
    assert "content/en/news/a.md:6: warning: image /images/logo.png has empty alt text" in err
    assert err.rstrip().endswith("(strict: warnings fail) → FAILED")
    assert (site / "output/en/news/a/index.html").is_file()
    (site / "content/en/news/a.md").write_text(post("A", "![A logo](/images/logo.png)"))
    code, _, err = run(capsys, "build", "--site", str(site), "--strict")
    assert code == 0, err


def _png(noise: bool = False) -> bytes:
    """A tiny PNG, or a 64×64 one of random pixels (12 KB that do not compress)."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    if noise:
        Image.frombytes("RGB", (64, 64), random.Random(3).randbytes(64 * 64 * 3)).save(
            buffer, "PNG")
    else:
        Image.new("RGB", (4, 4), "green").save(buffer, "PNG")
    return buffer.getvalue()


def test_the_example_passes_check_strict(example: Built,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert example.code == 0
    code, out, _ = run(capsys, "check", "--site", str(example.site), "--output",
                       str(example.output), "--strict")
    assert code == 0, out


# The base URL ---------------------------------------------------------------------------

def test_base_url_flag_beats_environment_beats_site_toml(
        make_site: MakeSite, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site({"content/en/news/a.md": post("A")})
    assert load_config(site).base_url == "https://example.org/"
    monkeypatch.setenv("NEWSHUB_BASE_URL", "https://preview.example.net/pr-7")
    assert load_config(site).base_url == "https://preview.example.net/pr-7/"
    assert load_config(site, base_url="https://news.example.org/").base_url == \
        "https://news.example.org/"


def test_a_path_prefix_build_checks_clean_and_prefixes_markdown_links(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site({"content/en/news/a.md": post("A"), "content/fr/news/a.md": post("A fr")})
    monkeypatch.setenv("NEWSHUB_BASE_URL", "https://org.github.io/hub/")
    code, report = build_and_check(site, capsys)
    assert code == 0
    assert [f for f in report["findings"] if f["kind"] != "ui-translation"] == []
    doc = lxml.html.fromstring((site / "output/en/news/a/index.html").read_bytes())
    assert doc.xpath('//link[@rel="canonical"]/@href') == ["https://org.github.io/hub/en/news/a/"]
    assert "/hub/en/news/" in doc.xpath('//nav[@class="sections"]//a/@href')
    (site / "content/en/news/a.md").write_text(post("A", "[French](/fr/news/a/)"))
    code, report = build_and_check(site, capsys)
    assert code == 0, "links written from the site root follow the base URL's path"
    doc = lxml.html.fromstring((site / "output/en/news/a/index.html").read_bytes())
    assert "/hub/fr/news/a/" in doc.xpath('//div[@class="body"]//a/@href')
    (site / "content/en/news/a.md").write_text(post("A", "[Gone](/fr/news/gone/)"))
    code, report = build_and_check(site, capsys)
    assert code == 1
    [broken] = findings(report, "broken-link")
    assert (broken["source"], broken["line"]) == ("content/en/news/a.md", 6)
    code, out, _ = run(capsys, "check", "--site", str(site),
                       "--base-url", "https://other.example/")
    assert code == 1
    assert "built for another base URL" in out


# Translation status ---------------------------------------------------------------------

def git(site: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", *args], cwd=site, env=env, check=True, capture_output=True)


@pytest.fixture(params=["site at the top", "site in a subfolder"])
def repo(make_site: MakeSite, request: pytest.FixtureRequest) -> Path:
    """A site in a git repository: 'wells' in en and fr (Jan), 'seeds' in en only, then
    the English 'wells' revised in March; 'about' committed in en, fr, ar together."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    site = make_site({
        "content/en/news/wells.md": post("Wells"),
        "content/fr/news/wells.md": post("Puits"),
        "content/en/news/seeds.md": post("Seeds", date="2026-01-03T10:00:00+00:00"),
        "content/en/about.md": post("About"),
        "content/fr/about.md": post("À propos"),
        "content/ar/about.md": post("حول"),
    })
    top = site.parent if request.param == "site in a subfolder" else site
    git(top, "init", "-q")
    git(top, "config", "user.name", "Editor")
    git(top, "config", "user.email", "editor@example.org")
    git(top, "config", "commit.gpgsign", "false")
    git(top, "add", "site" if top != site else ".")
    git(top, "commit", "-q", "-m", "first stories", when="2026-01-10T10:00:00+00:00")
    (site / "content/en/news/wells.md").write_text(post("Wells", "Revised figures."))
    git(top, "commit", "-q", "-am", "revise wells", when="2026-03-01T10:00:00+00:00")
    return site


def status_of(capsys: pytest.CaptureFixture[str], site: Path, *args: str) -> dict:
    code, out, _ = run(capsys, "translations", "--site", str(site), "--json", *args)
    assert code == 0
    data = json.loads(out)
    return {story["key"]: {lang: v["status"] for lang, v in story["languages"].items()}
            for story in data["stories"]} | {"_from": data["changed_from"]}


def test_stale_and_missing_translations_from_git_history(
        repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert status_of(capsys, repo) == {
        "_from": "git",
        "about": {"en": "source", "fr": "current", "ar": "current"},
        "news/seeds": {"en": "source", "fr": "missing", "ar": "missing"},
        "news/wells": {"en": "source", "fr": "outdated", "ar": "missing"},
    }
    code, out, _ = run(capsys, "translations", "--site", str(repo), "--lang", "fr")
    assert code == 0
    assert "news/wells  !" in out
    assert ("outdated: content/fr/news/wells.md (last changed 2026-01-10 10:00 UTC; source "
            "content/en/news/wells.md changed 2026-03-01 10:00 UTC)") in out
    assert "missing: news/seeds in fr: newshub new news/seeds --lang fr --from en" in out
    assert "fr: 1 up to date, 1 outdated, 1 missing" in out


def test_uncommitted_edits_count_as_now(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "content/fr/news/wells.md").write_text(post("Puits", "Chiffres révisés."))
    assert status_of(capsys, repo, "--lang", "fr")["news/wells"]["fr"] == "current"
    (repo / "content/en/about.md").write_text(post("About", "New team."))
    about = status_of(capsys, repo)["about"]
    assert about == {"en": "source", "fr": "outdated", "ar": "outdated"}


def test_status_from_front_matter_outside_git(make_site: MakeSite,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/a.md": post("A", extra="updated: 2026-02-01T00:00:00Z\n"),
        "content/fr/news/a.md": post("A fr"),
        "content/ar/news/a.md": post("A ar", extra="updated: 2026-02-02T00:00:00Z\n"),
        "content/fr/news/only-fr.md": post("Seulement", extra="draft: true\n"),
    })
    assert status_of(capsys, site) == {
        "_from": "front matter",
        "news/a": {"en": "source", "fr": "outdated", "ar": "current"},
        "news/only-fr": {"fr": "source", "en": "missing", "ar": "missing"},
    }
    _, out, _ = run(capsys, "translations", "--site", str(site))
    assert "news/only-fr  ✗   ●d  ✗" in out


# newshub new ----------------------------------------------------------------------------

def test_new_post_scaffold(make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/a.md": post("A")})
    code, out, _ = run(capsys, "new", "news/solar-pumps", "--lang", "fr", "--site", str(site))
    assert code == 0
    assert "created content/fr/news/solar-pumps.md" in out
    config = load_config(site, include_drafts=True)
    page = _pages(config)["fr/news/solar-pumps"]
    assert (page.title, page.draft, page.tags) == ("Solar pumps", True, ())
    assert page.date is not None and page.date.utcoffset() is not None
    code, _, err = run(capsys, "new", "news/solar-pumps", "--lang", "fr", "--site", str(site))
    assert code == 1
    assert "content/fr/news/solar-pumps.md already exists" in err
    code, _, err = run(capsys, "new", "news/x", "--lang", "de", "--site", str(site))
    assert code == 1
    assert "unknown language 'de': add [languages.de] to site.toml" in err


def test_new_translation_joins_the_source_group(make_site: MakeSite,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/wells.md": post("Wells", "Body of the story.", extra="tags: [water]\n"),
        "content/en/news/keyed.md": post("Keyed", extra="translation_key: story-42\n"),
        "content/en/news/photo/index.md": post("Photo", extra="image: p.png\nimage_alt: A p\n"),
        "content/en/news/photo/p.png": _png(),
    })
    for path in ("news/wells", "news/keyed", "news/photo"):
        code, _, err = run(capsys, "new", path, "--lang", "ar", "--from", "en", "--site",
                           str(site))
        assert code == 0, err
    text = (site / "content/ar/news/wells.md").read_text()
    assert "Body of the story." in text and "draft: true" in text
    assert "tags:" not in text and "date:" not in text, "inherited from the source, not copied"
    photo = (site / "content/ar/news/photo/index.md").read_text()
    assert 'image_alt: "A p"' in photo and "image:" not in photo
    assert not (site / "content/ar/news/photo/p.png").exists(), "no copy of the photo"
    config = load_config(site, include_drafts=True)
    site_model, problems = link_site(config, load_site(config).pages)
    assert [p for p in problems if p.severity == "error"] == []
    arabic = site_model.pages["ar/news/photo"]
    assert arabic.image_file == site_model.pages["en/news/photo"].image_file
    assert [path.name for path in arabic.resources] == ["p.png"]
    assert site_model.pages["ar/news/wells"].tags == ("water",)
    groups = {key: set(ids) for key, ids in site_model.translations.items()}
    assert groups["news/wells"] == {"en/news/wells", "ar/news/wells"}
    assert groups["story-42"] == {"en/news/keyed", "ar/news/keyed"}
    assert groups["news/photo"] == {"en/news/photo", "ar/news/photo"}
    assert site_model.pages["ar/news/wells"].draft
    code, _, err = run(capsys, "new", "news/wells", "--lang", "ar", "--from", "en", "--site",
                       str(site))
    assert (code, "already exists" in err) == (1, True)
    code, _, err = run(capsys, "new", "news/other", "--lang", "fr", "--from", "en", "--site",
                       str(site))
    assert (code, "nothing to translate: content/en/news/other.md" in err) == (1, True)


def test_new_refuses_a_second_version_and_bad_paths(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/wells.md": post("Wells", extra="translation_key: wells-2026\n"),
        "content/fr/news/puits.md": post("Puits", extra="translation_key: wells-2026\n"),
    })
    code, _, err = run(capsys, "new", "news/wells", "--lang", "fr", "--from", "en", "--site",
                       str(site))
    assert code == 1
    assert "'fr' already has this story: content/fr/news/puits.md" in err
    assert not (site / "content/fr/news/wells.md").exists()
    for bad in ("../escape", "/abs/path", "news/with space"):
        code, _, err = run(capsys, "new", bad, "--lang", "fr", "--site", str(site))
        assert code == 1, bad
    code, _, err = run(capsys, "new", "news/x", "--lang", "fr", "--from", "fr", "--site",
                       str(site))
    assert (code, "translate from another language" in err) == (1, True)


def _pages(config: SiteConfig) -> dict[str, Page]:
    return {page.id: page for page in load_site(config).pages}
