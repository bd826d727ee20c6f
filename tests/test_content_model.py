"""The content model existing sites bring (issue #16): section introductions, undated and
nested pages, Hugo's front matter, aliases, language folders, one report of errors."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest

from generator.cli import main

MakeSite = Callable[..., Path]
NEWS = '---\ntitle: "{title}"\ndate: {date}\n---\nText of {title}.\n'
CONFIG = """\
base_url = "https://example.org/"
[organisation]
name = "Test Relief"
[languages.en]
[languages.fr]
[taxonomy.sections.news]
en = "News (site.toml)"
"""


def _build(site: Path, *args: str) -> int:
    return main(["build", "--site", str(site), "--no-cards", "--quiet", *args])


def _html(site: Path, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((site / "output" / path).read_bytes())


def _links(page: lxml.html.HtmlElement, within: str = "//main") -> list[str]:
    return [a.text_content().strip() for a in page.xpath(f"{within}//a")]


def test_index_md_introduces_its_section_and_is_never_a_page(make_site: MakeSite) -> None:
    site = make_site({
        "content/en/news/_index.md": '---\ntitle: "Field news"\ndescription: "From the '
                                     'field."\n---\nUpdates from **our teams**.\n',
        "content/en/news/a.md": NEWS.format(title="A", date="2026-01-02T10:00:00Z"),
        "content/en/_index.md": '---\ntitle: "Home"\n---\nWelcome **home**.\n',
    }, CONFIG)
    assert _build(site) == 0
    assert not (site / "output/en/news/_index").exists()
    section = _html(site, "en/news/index.html")
    assert section.xpath("//h1")[0].text == "Field news", "its title over site.toml's name"
    assert section.xpath('//meta[@name="description"]/@content') == ["From the field."]
    assert section.xpath('//div[contains(@class,"intro")]//strong')[0].text == "our teams"
    nav = [a.text for a in section.xpath('//nav[@class="sections"]//a')]
    assert "Field news" in nav
    home = _html(site, "en/index.html")
    assert "A" in _links(home)
    urls = [loc.text for loc in lxml.etree.parse(str(site / "output/sitemap.xml")).iter(
        "{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert not any("_index" in url for url in urls)


def test_underscore_and_bundle_markdown_are_not_pages(make_site: MakeSite) -> None:
    site = make_site({
        "content/en/news/a.md": NEWS.format(title="A", date="2026-01-02T10:00:00Z"),
        "content/en/news/_draft-notes.md": NEWS.format(title="Notes", date="2026-01-03"),
        "content/en/_shared/snippet.md": NEWS.format(title="Snippet", date="2026-01-03"),
        "content/en/news/bundle/index.md": NEWS.format(title="Bundle", date="2026-01-04"),
        "content/en/news/bundle/extra.md": NEWS.format(title="Extra", date="2026-01-04"),
        "content/en/news/hidden/index.md": '---\ntitle: "Hidden"\ndate: 2026-01-05\n'
                                           'headless: true\n---\nx\n',
        "content/en/news/unlisted.md": '---\ntitle: "Unlisted"\ndate: 2026-01-06\nbuild:\n'
                                       '  list: never\n---\nx\n',
        "content/en/news/unrendered.md": '---\ntitle: "Unrendered"\ndate: 2026-01-06\n'
                                         '_build:\n  render: never\n---\nx\n',
    }, CONFIG)
    assert _build(site) == 0
    out = site / "output/en"
    assert not (out / "news/_draft-notes").exists() and not (out / "_shared").exists()
    assert (out / "news/bundle/index.html").is_file()
    assert not (out / "news/bundle/extra").exists() and not (out / "news/bundle/extra.md").exists()
    assert not (out / "news/hidden").exists() and not (out / "news/unrendered").exists()
    assert (out / "news/unlisted/index.html").is_file()
    listed = _links(_html(site, "en/news/index.html"))
    assert "A" in listed and "Bundle" in listed and "Unlisted" not in listed


def test_undated_pages_in_weight_then_title_order_and_out_of_feeds(make_site: MakeSite) -> None:
    page = '---\ntitle: "{title}"\n{extra}---\nx\n'
    site = make_site({
        "content/en/faq/zebra.md": page.format(title="Zebra", extra=""),
        "content/en/faq/apple.md": page.format(title="Apple", extra=""),
        "content/en/faq/second.md": page.format(title="Second", extra="weight: 2\n"),
        "content/en/faq/first.md": page.format(title="First", extra="weight: 1\n"),
        "content/en/news/a.md": NEWS.format(title="A", date="2026-01-02T10:00:00Z"),
    }, CONFIG)
    assert _build(site) == 0
    assert _links(_html(site, "en/faq/index.html"), "//ol") == \
        ["First", "Second", "Apple", "Zebra"]
    feed = feedparser.parse((site / "output/en/atom.xml").read_bytes())
    assert [entry.title for entry in feed.entries] == ["A"]


def test_a_site_of_pages_only_shows_its_sections_and_pages(make_site: MakeSite) -> None:
    site = make_site({
        "content/en/docs/_index.md": '---\ntitle: "Documentation"\n---\n',
        "content/en/docs/install.md": '---\ntitle: "Install"\n---\nx\n',
        "content/en/about.md": '---\ntitle: "About"\n---\nx\n',
    }, CONFIG)
    assert _build(site) == 0
    home = _html(site, "en/index.html")
    assert "0 articles" not in home.text_content()
    assert "Documentation" in _links(home) and "About" in _links(home)


def test_nested_sections_have_lists_breadcrumbs_and_weight_order(make_site: MakeSite) -> None:
    page = '---\ntitle: "{title}"\nweight: {weight}\n---\nx\n'
    site = make_site({
        "content/en/docs/_index.md": '---\ntitle: "Docs"\n---\n',
        "content/en/docs/tasks/_index.md": '---\ntitle: "Tasks"\nweight: 2\n---\n',
        "content/en/docs/concepts/_index.md": '---\ntitle: "Concepts"\nweight: 1\n---\n',
        "content/en/docs/tasks/ponycopters/_index.md": '---\ntitle: "Ponycopters"\n'
                                                        'linkTitle: "Ponies"\n---\n',
        "content/en/docs/tasks/ponycopters/launch.md": page.format(title="Launch", weight=2),
        "content/en/docs/tasks/ponycopters/configure.md": page.format(title="Configure",
                                                                      weight=1),
    }, CONFIG)
    assert _build(site) == 0
    docs = _html(site, "en/docs/index.html")
    assert [a.text for a in docs.xpath('//ul[@class="subsections"]//a')] == \
        ["Concepts", "Tasks"]
    ponies = _html(site, "en/docs/tasks/ponycopters/index.html")
    assert ponies.xpath("//h1")[0].text == "Ponycopters"
    assert [a.text for a in ponies.xpath('//p[@class="crumbs"]/a')][1:] == ["Docs", "Tasks"]
    assert _links(ponies, "//ol") == ["Configure", "Launch"]
    launch = _html(site, "en/docs/tasks/ponycopters/launch/index.html")
    assert [a.text for a in launch.xpath('//p[@class="crumbs"]/a')][1:] == \
        ["Docs", "Tasks", "Ponies"]


def test_hugo_front_matter(make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/yaml.md": '\n\n---\nTitle: "Yaml"\nDate: 2026-01-02T10:00:00Z\n'
                                   'lastmod: 2026-01-05T10:00:00Z\nTranslationKey: story\n'
                                   'description: "Described."\nlinkTitle: "Y"\n'
                                   'draft:\n---\nBody.\n',
        "content/fr/news/autre.md": '+++\ntitle = "Toml"\ndate = 2026-01-03T10:00:00Z\n'
                                    'translationKey = "story"\n+++\nCorps.\n',
        "content/en/news/json.md": '{\n  "title": "Json",\n  "date": "2026-01-04T10:00:00Z",\n'
                                   '  "noindex": true\n}\nJSON body.\n',
        "content/en/news/later.md": '---\ntitle: "Later"\ndate: 2026-01-01T10:00:00Z\n'
                                    'publishDate: 2999-01-01T00:00:00Z\n---\nx\n',
        "content/en/news/gone.md": '---\ntitle: "Gone"\ndate: 2026-01-01T10:00:00Z\n'
                                   'expiryDate: 2026-01-02T00:00:00Z\n---\nx\n',
    }, CONFIG)
    assert main(["build", "--site", str(site), "--no-cards"]) == 0
    assert "content/en/news/yaml.md:10: warning: 'draft' is empty: read as false" in \
        capsys.readouterr().err
    yaml_page = _html(site, "en/news/yaml/index.html")
    assert yaml_page.xpath("//h1")[0].text == "Yaml"
    assert yaml_page.xpath('//meta[@name="description"]/@content') == ["Described."]
    assert yaml_page.xpath('//link[@hreflang="fr"]/@href') == \
        ["https://example.org/fr/news/autre/"], "translationKey links the TOML page"
    assert yaml_page.xpath('//meta[@property="article:modified_time"]/@content')[0] \
        .startswith("2026-01-05")
    json_page = _html(site, "en/news/json/index.html")
    assert json_page.xpath('//meta[@name="robots"]/@content') == ["noindex"]
    sitemap = (site / "output/sitemap.xml").read_text(encoding="utf-8")
    assert "/en/news/json/" not in sitemap and "/en/news/yaml/" in sitemap
    assert not (site / "output/en/news/later").exists(), "publishDate in the future"
    assert not (site / "output/en/news/gone").exists(), "expiryDate passed"


def test_aliases_redirect_and_collide_like_addresses(make_site: MakeSite,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/a.md": '---\ntitle: "A"\ndate: 2026-01-02T10:00:00Z\naliases:\n'
                                '  - /2024/05/old-a/\n  - "/?p=123"\n  - older\n---\nx\n',
        "content/en/about.md": '---\ntitle: "About"\nurl: /about-us/\n---\nx\n',
    }, CONFIG)
    assert _build(site) == 0
    redirect = _html(site, "2024/05/old-a/index.html")
    assert redirect.xpath('//meta[@http-equiv="refresh"]/@content') == ["0; url=/en/news/a/"]
    assert redirect.xpath('//link[@rel="canonical"]/@href') == ["https://example.org/en/news/a/"]
    assert redirect.xpath('//meta[@name="robots"]/@content') == ["noindex"]
    assert redirect.xpath("//a/@href") == ["/en/news/a/"]
    assert (site / "output/en/news/older/index.html").is_file(), "relative to its section"
    redirects = (site / "output/_redirects").read_text(encoding="utf-8").splitlines()
    assert "/2024/05/old-a/ /en/news/a/ 301" in redirects
    assert "/ p=123 /en/news/a/ 301" in redirects
    assert "/2024/05/old-a/" not in (site / "output/sitemap.xml").read_text(encoding="utf-8")
    assert (site / "output/about-us/index.html").is_file(), "url sets the address"
    (site / "content/en/news/b.md").write_text(
        '---\ntitle: "B"\ndate: 2026-01-03T10:00:00Z\naliases: [/about-us/]\n---\nx\n')
    assert _build(site) == 1
    assert "alias /about-us/ is also the address of content/en/about.md" in \
        capsys.readouterr().err


def test_language_folders_and_the_default_language_at_the_root(make_site: MakeSite) -> None:
    site = make_site({
        "content/en/news/a.md": NEWS.format(title="A", date="2026-01-02T10:00:00Z"),
        "content/pt-br/news/a.md": NEWS.format(title="Um", date="2026-01-02T10:00:00Z"),
        "content/zh-tw/news/a.md": NEWS.format(title="甲", date="2026-01-02T10:00:00Z"),
    }, 'base_url = "https://example.org/"\ndefault_language_at_root = true\n'
       '[languages.en]\n[languages.pt-br]\n[languages.zh-TW]\nfolder = "zh-tw"\n')
    assert _build(site) == 0
    out = site / "output"
    assert (out / "news/a/index.html").is_file() and not (out / "en").exists()
    page = _html(site, "pt-br/news/a/index.html")
    assert page.get("lang") == "pt-BR", "codes are written in their canonical form"
    alternates = dict(zip(page.xpath('//link[@hreflang]/@hreflang'),
                          page.xpath('//link[@hreflang]/@href'), strict=True))
    assert alternates["en"] == "https://example.org/news/a/"
    assert alternates["zh-TW"] == "https://example.org/zh-tw/news/a/"
    assert _html(site, "index.html").xpath("//h1"), "the root is the English home"


def test_every_content_problem_in_one_run(make_site: MakeSite,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/a.md": '---\ntitle: "A"\ndate: 2026-01-02\ntags: [a, b\n---\n',
        "content/en/news/b.md": '---\ntitle: "B"\ndate: 2026-13-45\n---\n',
        "content/en/news/c.md": '---\ntitle: "C"\ndate: 2026-01-02\nslug: d\n---\n',
        "content/en/news/d.md": '---\ntitle: "D"\ndate: 2026-01-02\n---\n',
        "content/en/news/e.md": '---\ndate: 2026-01-02\n---\nx\n',
    }, CONFIG)
    assert _build(site) == 1
    err = capsys.readouterr().err
    assert "a.md:4: invalid YAML" in err and "b.md:3: 'date' is not an ISO 8601" in err
    assert "URL /en/news/d/ is already used" in err, "link problems come in the same run"
    assert "e.md:1: missing 'title' in the front matter (lines 1–2)" in err


def test_check_accepts_links_to_aliases(make_site: MakeSite,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/a.md": '---\ntitle: "A"\ndate: 2026-01-02T10:00:00Z\n'
                                'aliases: [/old-a/]\n---\nx\n',
        "content/en/news/b.md": '---\ntitle: "B"\ndate: 2026-01-03T10:00:00Z\n---\n'
                                'See [the old link](/old-a/).\n',
    }, CONFIG)
    assert _build(site) == 0
    capsys.readouterr()
    assert main(["check", "--site", str(site), "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert not [f for f in findings if f["severity"] == "error"]


def test_verbose_names_every_ignored_source_and_why(make_site: MakeSite,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({
        "content/en/news/b/index.md": NEWS.format(title="B", date="2026-01-02T10:00:00Z"),
        "content/en/news/b/more.md": NEWS.format(title="More", date="2026-01-02T10:00:00Z"),
        "content/en/news/_notes.md": NEWS.format(title="Notes", date="2026-01-02T10:00:00Z"),
    }, CONFIG)
    assert main(["build", "--site", str(site), "--no-cards", "-v"]) == 0
    err = capsys.readouterr().err
    assert "ignored content/en/news/_notes.md: a file whose name starts with _" in err
    assert "ignored content/en/news/b/more.md: Markdown inside a page bundle" in err


def test_declared_taxonomies_get_term_lists(make_site: MakeSite) -> None:
    story = '---\ntitle: "{title}"\ndate: {date}\ncategories: [Field reports]\n---\nx\n'
    site = make_site({
        "content/en/news/a.md": story.format(title="A", date="2026-01-02T10:00:00Z"),
        "content/en/news/b.md": story.format(title="B", date="2026-01-03T10:00:00Z"),
        "content/fr/news/a.md": story.format(title="Un", date="2026-01-02T10:00:00Z"),
    }, 'taxonomies = ["tags", "categories"]\n' + CONFIG +
       '[taxonomy.categories."Field reports"]\nfr = "Récits du terrain"\n')
    assert _build(site) == 0
    english = _html(site, "en/categories/field-reports/index.html")
    assert english.xpath("//h1")[0].text == "Field reports"
    assert _links(english, "//ol") == ["B", "A"]
    french = _html(site, "fr/categories/recits-du-terrain/index.html")
    assert french.xpath("//h1")[0].text == "Récits du terrain"


def test_undated_pages_take_their_sitemap_date_from_git(make_site: MakeSite) -> None:
    site = make_site({"content/en/faq/q.md": '---\ntitle: "Q"\n---\nx\n',
                      "content/en/news/a.md": NEWS.format(title="A", date="2026-01-02T10:00:00Z")},
                     CONFIG)
    env = {**os.environ, "GIT_AUTHOR_DATE": "2025-06-01T12:00:00Z",
           "GIT_COMMITTER_DATE": "2025-06-01T12:00:00Z", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(site), *command], env=env, check=True)
    assert _build(site) == 0
    tree = lxml.etree.parse(str(site / "output/sitemap.xml"))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    lastmod = tree.xpath('//s:url[s:loc="https://example.org/en/faq/q/"]/s:lastmod/text()',
                         namespaces=ns)
    assert lastmod == ["2025-06-01T12:00:00+00:00"]


def test_a_redirect_page_does_not_stand_for_its_target_in_check(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    story = '---\ntitle: "{title}"\ndate: 2026-01-02T10:00:00Z\ntranslation_key: k\n{extra}---\nx\n'
    site = make_site({"content/en/news/a.md": story.format(title="A", extra="aliases: [/old/]\n"),
                      "content/fr/news/a.md": story.format(title="Un", extra="")}, CONFIG)
    assert _build(site) == 0
    capsys.readouterr()
    assert main(["check", "--site", str(site), "--strict"]) == 0, capsys.readouterr()


def test_a_page_at_the_search_pages_address_is_named_in_the_error(
        make_site: MakeSite, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/search.md": '---\ntitle: "Search and rescue"\n---\nText.\n',
                      "content/en/news/a.md": NEWS.format(title="A",
                                                          date="2026-01-02T10:00:00Z")},
                     CONFIG)
    assert _build(site) == 1
    err = capsys.readouterr().err
    assert "content/en/search.md:1:" in err
    assert "en/search/index.html is produced twice (page and the search page)" in err
    assert _build(site, "--no-search") == 0, "without search the address is the page's"
    assert _html(site, "en/search/index.html").xpath("//h1")[0].text == "Search and rescue"
