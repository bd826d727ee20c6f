"""Appeals for donations have their own look and a donate link: articles filed in the
``appeals`` section (with their translations), or with ``kind: appeal`` wherever they are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lxml.html

from generator.cli import main

CONFIG = """\
base_url = "https://example.org/"
[organisation]
name = "Test Relief"
donate_url = "https://example.org/give"
[languages.en]
[languages.fr]
"""


def story(title: str, date: str, extra: str = "") -> str:
    return f"---\ntitle: {title}\ndate: {date}T08:00:00Z\nsummary: About {title}.\n{extra}---\n\n" \
           f"{title} in one paragraph.\n"


def page(output: Path, path: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((output / path).read_bytes())


def test_appeals_by_section_or_front_matter(make_site: Callable[..., Path]) -> None:
    site = make_site({
        "content/en/appeals/winter.md": story("Winter appeal", "2026-03-01"),
        "content/fr/appeals/winter.md": story("Appel d'hiver", "2026-03-01"),
        "content/en/news/floods.md": story("Flood fund", "2026-02-01", "kind: appeal\n"),
        "content/en/news/wells.md": story("Wells repaired", "2026-01-01"),
    }, CONFIG)
    output = site / "out"
    assert main(["build", "--site", str(site), "--output", str(output), "--quiet",
                 "--no-cards", "--no-search", "--no-compress"]) == 0
    home = page(output, "en/index.html")
    cards = {a.xpath(".//h2/a")[0].text_content(): a
             for a in home.xpath("//ol[@class='cards']//article")}
    assert cards["Winter appeal"].get("class") == "lead appeal", "the newest leads the home"
    assert cards["Flood fund"].get("class") == "appeal"
    assert cards["Wells repaired"].get("class") is None
    for title, card in cards.items():
        donate = card.xpath(".//a[@class='donate']/@href")
        assert donate == (["https://example.org/give"] if title != "Wells repaired" else []), title
    french = page(output, "fr/appeals/winter/index.html")
    assert french.xpath("//article[@class='post appeal']//p[@class='give']/a/@href") == [
        "https://example.org/give"], "a translation filed under appeals/ is an appeal too"
    assert page(output, "en/news/floods/index.html").xpath("//p[@class='cta']/a")
    wells = page(output, "en/news/wells/index.html")
    assert not wells.xpath("//*[@class='give' or @class='cta']")
    assert wells.xpath("//article/@class") == ["post"]
