"""schema.org data for search engines and news aggregators: NewsArticle on articles,
Organization on homes, escaped so no text can end its script element."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import lxml.html

from generator.cli import main


def _data(site: Path, path: str) -> dict:
    page = lxml.html.fromstring((site / "output" / path).read_bytes())
    blocks = page.xpath('//script[@type="application/ld+json"]')
    assert len(blocks) == 1
    return json.loads(blocks[0].text)


def test_news_article_and_organization(make_site: Callable[..., Path]) -> None:
    summary = 'Water </script><script>alert(1)</script> & "more"'
    site = make_site({"content/en/news/a.md": f'---\ntitle: "Wells"\ndate: 2026-01-02T10:00:00Z'
                                              f'\nsummary: {json.dumps(summary)}\n---\nx\n'})
    assert main(["build", "--site", str(site), "--quiet"]) == 0
    html = (site / "output/en/news/a/index.html").read_text(encoding="utf-8")
    assert html.count("</script>") == html.count("<script"), "no early end of a script"
    article = _data(site, "en/news/a/index.html")
    assert article["@type"] == "NewsArticle" and article["headline"] == "Wells"
    assert article["description"] == summary and article["inLanguage"] == "en"
    assert article["datePublished"] == "2026-01-02T10:00:00+00:00"
    assert article["publisher"]["name"] == "Test Relief"
    assert article["image"][0].endswith("/en/news/a/card.jpg")
    home = _data(site, "en/index.html")
    assert home["@type"] == "Organization" and home["url"] == "https://example.org/en/"
    assert main(["check", "--site", str(site), "--strict"]) == 0, "data blocks never run"
