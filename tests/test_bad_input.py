"""Bad input: a clear ``path:line: message``, exit 1, and the last good output kept."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import REPO

GOOD = """---
title: Good
date: 2026-01-02T10:00:00+00:00
---

Fine.
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def build(site: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["build", "--site", str(site), "--quiet"])
    return code, capsys.readouterr().err


CASES = {
    "broken YAML": ("content/en/news/bad.md",
                    "---\ntitle: Bad\ndate: 2026-01-01\ntags: [a, b\n---\n\nx\n",
                    "content/en/news/bad.md:4: invalid YAML"),
    "missing title": ("content/en/news/bad.md", "---\ndate: 2026-01-01\n---\n\nx\n",
                      "content/en/news/bad.md:1: missing 'title'"),
    "bad date": ("content/en/news/bad.md", "---\ntitle: Bad\ndate: 2026-13-45\n---\n\nx\n",
                 "content/en/news/bad.md:3: 'date' is not an ISO 8601 date"),
    "bad weight": ("content/en/news/bad.md", "---\ntitle: Heavy\nweight: heavy\n---\n\nx\n",
                   "content/en/news/bad.md:3: 'weight' must be a whole number"),
    "unclosed front matter": ("content/en/news/bad.md", "---\ntitle: Open\n\n# Body\n",
                              "content/en/news/bad.md:1: front matter is not closed"),
    "unknown language": ("content/xx/news/bad.md", GOOD,
                         "content/xx: unknown language folder 'xx'"),
    "non-UTF-8": ("content/en/news/bad.md",
                  "---\ntitle: Caf\xe9\n---\n".encode("latin-1"),
                  "content/en/news/bad.md:2: not valid UTF-8"),
    "slug leaving output": ("content/en/news/bad.md",
                            "---\ntitle: Escape\ndate: 2026-01-01\nslug: ../../etc\n---\n\nx\n",
                            "content/en/news/bad.md:4: slug '../../etc' is not allowed"),
    "HTML in title": ("content/en/news/bad.md",
                      "---\ntitle: <script>alert(1)</script> News\ndate: 2026-01-01\n---\n",
                      "content/en/news/bad.md:2: title contains HTML markup"),
    "bad boolean": ("content/en/news/bad.md",
                    "---\ntitle: T\ndate: 2026-01-01\ndraft: maybe\n---\n",
                    "content/en/news/bad.md:4: 'draft' must be true or false"),
    "missing image": ("content/en/news/bad.md",
                      "---\ntitle: T\ndate: 2026-01-01\nimage: nowhere.jpg\n---\n",
                      "content/en/news/bad.md:4: image 'nowhere.jpg' not found"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_reported_and_output_kept(case: str, make_site: Callable[..., Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/good.md": GOOD})
    assert build(site, capsys)[0] == 0
    before = snapshot(site / "output")
    relative, text, expected = CASES[case]
    path = site / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    code, err = build(site, capsys)
    assert code == 1
    assert expected in err
    assert snapshot(site / "output") == before


def test_every_error_of_a_build_is_reported(make_site: Callable[..., Path],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/a.md": "---\ndate: 2026-01-01\n---\n",
        "content/fr/news/b.md": "---\ntitle: B\ndate: yesterday\n---\n",
        "content/ar/news/c.md": "---\ntitle: [unclosed\n---\n",
    })
    code, err = build(site, capsys)
    assert code == 1
    assert "content/en/news/a.md:1:" in err
    assert "content/fr/news/b.md:3:" in err
    assert "content/ar/news/c.md:" in err
    assert "3 errors" in err


def test_two_pages_with_the_same_url(make_site: Callable[..., Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/one.md": GOOD,
        "content/en/news/two.md": GOOD.replace("title: Good", "title: Two\nslug: one"),
    })
    code, err = build(site, capsys)
    assert code == 1
    assert "URL /en/news/one/ is already used by content/en/news/" in err
    index = next((site / ".newshub-cache").rglob("pages.pickle"), None)
    assert index is not None, "what was parsed is kept for the next build, though this one failed"


def test_a_page_bundle_and_a_file_with_one_url(make_site: Callable[..., Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/one.md": GOOD, "content/en/news/one/index.md": GOOD})
    code, err = build(site, capsys)
    assert code == 1
    assert "is already used by" in err


def test_a_section_that_collides_with_tag_pages(make_site: Callable[..., Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/tags/water.md": GOOD.replace("---\n\n", "tags: [water]\n---\n")})
    code, err = build(site, capsys)
    assert code == 1
    assert "produced twice" in err


def test_missing_template(make_site: Callable[..., Path], tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/good.md": GOOD})
    assert build(site, capsys)[0] == 0
    before = snapshot(site / "output")
    theme = site / "themes/default"
    shutil.copytree(REPO / "themes/default", theme)
    (theme / "templates/article.html").write_text(
        '{% extends "base.html" %}{% block main %}{% include "gone.html" %}{% endblock %}')
    code, err = build(site, capsys)
    assert code == 1
    assert "gone.html" in err and "Traceback" not in err
    assert snapshot(site / "output") == before


def test_template_error_names_the_template_line(make_site: Callable[..., Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/good.md": GOOD})
    theme = site / "themes/default"
    shutil.copytree(REPO / "themes/default", theme)
    page = theme / "templates/page.html"
    page.write_text(page.read_text() + "{% if %}\n")
    (site / "content/en/about.md").write_text("---\ntitle: About\n---\n")
    code, err = build(site, capsys)
    assert code == 1
    assert "templates/page.html:" in err
    assert "template syntax error" in err


def test_unknown_config_key_suggests_the_right_one(make_site: Callable[..., Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/good.md": GOOD},
                     config='base_url = "https://example.org/"\npaginte = 5\n[languages.en]\n')
    code, err = build(site, capsys)
    assert code == 1
    assert "site.toml:2: unknown key 'paginte'; did you mean 'paginate'?" in err


def test_broken_site_toml(make_site: Callable[..., Path],
                          capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/good.md": GOOD}, config="base_url = \n")
    code, err = build(site, capsys)
    assert code == 1
    assert "site.toml:1: invalid TOML" in err


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["build", "--jobs", "0"])
    assert raised.value.code == 2


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_failed_render_removes_what_it_staged_and_created(
        make_site: Callable[..., Path], capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    """Render workers write as they go; a failure anywhere takes all of it back."""
    files = {f"content/en/news/story-{n:03d}.md": GOOD.replace("Good", f"Story {n}")
             for n in range(320)}
    site = make_site(files)
    assert main(["build", "--site", str(site), "--quiet", "--jobs", jobs]) == 0
    before = snapshot(site / "output")
    theme = site / "themes/default"
    shutil.copytree(REPO / "themes/default", theme)
    article = theme / "templates/article.html"
    article.write_text('{% if page.title == "Boom" %}{{ no_such_value }}{% endif %}'
                       + article.read_text())
    (site / "content/en/news/story-100.md").write_text(GOOD.replace("Fine.", "Edited."))
    (site / "content/en/news/new-one.md").write_text(GOOD.replace("Good", "New one"))
    (site / "content/en/news/boom.md").write_text(GOOD.replace("Good", "Boom"))
    code = main(["build", "--site", str(site), "--quiet", "--jobs", jobs])
    assert code == 1
    assert "no_such_value" in capsys.readouterr().err
    assert snapshot(site / "output") == before
    assert not (site / "output/en/news/new-one").exists()


def test_a_file_without_front_matter_is_a_page_titled_from_its_name(
        make_site: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/good.md": GOOD,
                      "content/en/water-points.md": "# Just Markdown\n\nText.\n"})
    code = main(["build", "--site", str(site)])
    err = capsys.readouterr().err
    assert code == 0, "Hugo builds such files too"
    assert "content/en/water-points.md:1: warning: no front matter" in err
    page = (site / "output/en/water-points/index.html").read_text(encoding="utf-8")
    assert "<title>Water points" in page and ">Just Markdown</h1>" in page
