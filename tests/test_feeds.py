"""Feeds read by a real feed reader (feedparser) and a real XML parser (lxml)."""

from __future__ import annotations

import json
import shutil
from urllib.parse import urlsplit

import feedparser
import lxml.etree
import pytest

from tests.conftest import FIXTURES, Built, build_copy

ATOM = "{http://www.w3.org/2005/Atom}"


def feed_files(built: Built) -> list[str]:
    return [f for f in built.files() if f.endswith(("atom.xml", "rss.xml"))]


def test_every_language_has_three_feeds(multilingual: Built) -> None:
    for lang in ("en", "fr", "ar"):
        for name in ("atom.xml", "rss.xml", "feed.json"):
            assert (multilingual.output / lang / name).is_file()
    assert (multilingual.output / "en/tags/water/atom.xml").is_file()


@pytest.mark.parametrize("name", ["multilingual", "example"])
def test_feeds_parse_without_bozo(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    for path in feed_files(built):
        parsed = feedparser.parse((built.output / path).read_bytes())
        assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
        lang = path.split("/")[0]
        assert parsed.feed.get("language") == lang, path
        for entry in parsed.entries:
            assert urlsplit(entry.link).scheme == "https", path
            assert entry.id
            for link in entry.get("links", []):
                assert urlsplit(link["href"]).scheme == "https"


def test_entries_newest_first_with_the_right_count(multilingual: Built) -> None:
    parsed = feedparser.parse((multilingual.output / "en/atom.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [
        'Wells & pumps: <"fixed"> in 3 days', "Winter appeal", "An older story"]
    assert parsed.feed.updated == "2026-03-14T09:30:00+03:00"
    tag = feedparser.parse((multilingual.output / "en/tags/water/atom.xml").read_bytes())
    assert [e.title for e in tag.entries] == ['Wells & pumps: <"fixed"> in 3 days']


def test_entry_limit_comes_from_site_toml(tmp_path) -> None:
    source = tmp_path / "src"
    shutil.copytree(FIXTURES / "multilingual", source)
    config = source / "site.toml"
    config.write_text(config.read_text().replace("paginate = 2", "paginate = 2\nfeed_entries = 1"))
    built = build_copy(source, tmp_path / "work")
    parsed = feedparser.parse((built.output / "en/rss.xml").read_bytes())
    assert len(parsed.entries) == 1


def test_content_links_are_absolute_and_text_survives(multilingual: Built) -> None:
    parsed = feedparser.parse((multilingual.output / "en/atom.xml").read_bytes())
    content = parsed.entries[0].content[0].value
    assert 'href="https://hub.example.org/en/news/appeal/"' in content
    arabic = feedparser.parse((multilingual.output / "ar/rss.xml").read_bytes())
    assert arabic.entries[0].title == "فريق Tamarind يصلح 12 بئراً في 2026"


def test_atom_has_the_elements_rfc_4287_requires(multilingual: Built) -> None:
    for path in feed_files(multilingual):
        if not path.endswith("atom.xml"):
            continue
        root = lxml.etree.parse(str(multilingual.output / path)).getroot()
        assert root.tag == f"{ATOM}feed"
        assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == path.split("/")[0]
        for required in ("id", "title", "updated", "author"):
            assert root.find(f"{ATOM}{required}") is not None, (path, required)
        assert root.find(f'{ATOM}link[@rel="self"]') is not None
        for entry in root.findall(f"{ATOM}entry"):
            for required in ("id", "title", "updated"):
                assert entry.findtext(f"{ATOM}{required}"), (path, required)
            assert entry.find(f'{ATOM}link[@rel="alternate"]') is not None


def test_json_feed_has_required_keys(multilingual: Built) -> None:
    document = json.loads((multilingual.output / "fr/feed.json").read_text(encoding="utf-8"))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] and document["language"] == "fr"
    assert document["feed_url"] == "https://hub.example.org/fr/feed.json"
    for item in document["items"]:
        assert item["id"] and (item.get("content_html") or item.get("content_text"))
        assert item["url"].startswith("https://")


def test_entry_ids_survive_edits(multilingual: Built, tmp_path) -> None:
    before = feedparser.parse((multilingual.output / "en/atom.xml").read_bytes())
    source = multilingual.site / "content/en/news/wells.md"
    text = source.read_text(encoding="utf-8")
    copy = tmp_path / "src"
    shutil.copytree(multilingual.site, copy)
    (copy / "content/en/news/wells.md").write_text(
        text.replace("Wells & pumps", "Wells and pumps").replace(
            "tags:", "updated: 2026-03-20T10:00:00+03:00\ntags:"), encoding="utf-8")
    after_build = build_copy(copy, tmp_path / "work")
    after = feedparser.parse((after_build.output / "en/atom.xml").read_bytes())
    assert after.entries[0].title == 'Wells and pumps: <"fixed"> in 3 days'
    assert after.entries[0].id == before.entries[0].id
    assert after.feed.updated == "2026-03-20T10:00:00+03:00"


def test_pages_link_their_language_feeds(multilingual: Built) -> None:
    doc = multilingual.html("fr/news/wells/index.html")
    types = {link.get("type"): link.get("href")
             for link in doc.xpath('//head/link[@rel="alternate"][@type]')}
    assert types == {"application/atom+xml": "/fr/atom.xml",
                     "application/rss+xml": "/fr/rss.xml",
                     "application/feed+json": "/fr/feed.json"}


def test_links_under_a_path_prefix_stay_under_it(tmp_path) -> None:
    built = build_copy(FIXTURES / "multilingual", tmp_path, "--base-url",
                       "https://org.github.io/hub/")
    parsed = feedparser.parse((built.output / "en/atom.xml").read_bytes())
    content = parsed.entries[0].content[0].value
    assert 'href="https://org.github.io/hub/en/news/appeal/"' in content
    assert parsed.entries[0].link == "https://org.github.io/hub/en/news/wells/"
