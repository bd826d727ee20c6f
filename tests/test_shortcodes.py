"""Hugo-style shortcodes in Markdown, expanded by the theme's templates (issue #16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lxml.html
import pytest

from generator.cli import main

BODY = """\
---
title: "Shortcodes"
date: 2026-01-01T10:00:00Z
---
See [the wells]({{{{< ref "wells.md" >}}}}) and [about]({{{{< relref "/about" >}}}}).

{body}
"""
ABOUT = '---\ntitle: "About"\n---\nAbout us.\n'
WELLS = '---\ntitle: "Wells"\ndate: 2026-01-02T10:00:00Z\nslug: water-wells\n---\nWells.\n'


def _site(make_site: Callable[..., Path], body: str, **files: str) -> Path:
    return make_site({"content/en/news/codes.md": BODY.format(body=body),
                      "content/en/about.md": ABOUT, "content/en/news/wells.md": WELLS,
                      **files})


def _build(site: Path, *args: str) -> int:
    return main(["build", "--site", str(site), "--no-cards", "--quiet", *args])


def _body(site: Path, path: str = "en/news/codes/index.html") -> lxml.html.HtmlElement:
    page = lxml.html.fromstring((site / "output" / path).read_bytes())
    return page.xpath('//div[@class="body"]')[0]


def test_built_in_shortcodes(make_site: Callable[..., Path]) -> None:
    site = _site(make_site, """\
{{< youtube w7Ft2ymGmfc >}}

{{< vimeo id="55073825" title="Field report" >}}

{{% details summary="More" %}}
Some **markdown** inside.
{{% /details %}}

{{< highlight python >}}
print("<b>")
{{< /highlight >}}

Shown as written: `{{</* figure src="x.jpg" */>}}`
""")
    assert _build(site) == 0
    body = _body(site)
    links = {a.text_content().strip(): a.get("href") for a in body.iter("a")}
    assert links["the wells"] == "/en/news/water-wells/", "ref follows the target's slug"
    assert links["about"] == "/en/about/"
    assert links["▶ YouTube"] == "https://www.youtube.com/watch?v=w7Ft2ymGmfc"
    assert links["▶ Field report"] == "https://vimeo.com/55073825"
    assert not body.xpath("//iframe"), "no request to the video host"
    details = body.xpath("//details")[0]
    assert details.xpath("summary")[0].text == "More"
    assert details.xpath(".//strong")[0].text == "markdown"
    code = body.xpath('//pre/code[@class="language-python"]')[0]
    assert code.text == 'print("<b>")'
    assert body.xpath("//p/code")[0].text == '{{< figure src="x.jpg" >}}'


def test_figure_goes_through_the_image_pipeline(make_site: Callable[..., Path]) -> None:
    image = (Path(__file__).parent / "fixtures/scripts/static/images/banner.jpg").read_bytes()
    site = make_site({
        "content/en/news/photo/index.md": '---\ntitle: "Photo"\ndate: 2026-01-01T10:00:00Z\n'
                                          '---\n{{< figure src="pic.jpg" alt="A banner" '
                                          'caption="A *caption* with \\"quotes\\"" >}}\n',
        "content/en/news/photo/pic.jpg": image})
    assert _build(site) == 0
    figure = _body(site, "en/news/photo/index.html").xpath("//figure")[0]
    assert figure.xpath("picture/source/@type") == ["image/webp"]
    assert figure.xpath(".//img/@alt") == ["A banner"]
    assert figure.xpath("figcaption/em")[0].text == "caption"
    assert 'with "quotes"' in figure.xpath("figcaption")[0].text_content()


def test_shortcodes_nest_and_markdown_ones_read_their_output_as_markdown(
        make_site: Callable[..., Path]) -> None:
    site = _site(make_site, """\
{{< details summary="Outer" >}}
Text with {{< ref "about" >}} inside, and:

{{% details summary="Inner" %}}
- one
- two
{{% /details %}}
{{< /details >}}
""")
    assert _build(site) == 0
    outer = _body(site).xpath("//details")[0]
    assert "/en/about/" in outer.text_content()
    assert outer.xpath(".//details/summary")[0].text == "Inner"
    assert [li.text for li in outer.xpath(".//details//li")] == ["one", "two"]


def test_an_unknown_shortcode_names_file_line_and_the_ones_there_are(
        make_site: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(make_site, "Para.\n\n{{< blocks/cover title=\"x\" >}}\n")
    assert _build(site) == 1
    err = capsys.readouterr().err
    assert "content/en/news/codes.md:9: unknown shortcode 'blocks/cover'" in err
    assert "figure" in err and "youtube" in err and "Traceback" not in err


def test_a_ref_to_nothing_is_an_error_at_its_line(make_site: Callable[..., Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(make_site, 'And [gone]({{< ref "news/missing.md" >}}).')
    assert _build(site) == 1
    assert "content/en/news/codes.md:7: ref 'news/missing.md' leads to no page" \
        in capsys.readouterr().err


def test_bad_arguments_and_unclosed_shortcodes_are_errors(
        make_site: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(make_site, 'x\n\n{{< /details >}}\n')
    assert _build(site) == 1
    assert "closes a shortcode that was not opened" in capsys.readouterr().err
    site = _site(make_site, '{{< figure "a.jpg" alt="b" >}}\n')
    assert _build(site) == 1
    assert "not both" in capsys.readouterr().err


def test_a_site_shortcode_overrides_the_theme_and_a_change_rerenders(
        make_site: Callable[..., Path]) -> None:
    site = _site(make_site, '{{< note >}}Be **careful**.{{< /note >}}\n\nPlain [text](#x).',
                 **{"themes/default/shortcodes/note.html":
                    '<aside class="note">{{ inner_html }}</aside>',
                    "themes/default/shortcodes/youtube.html": "<p>video {{ get(0) }}</p>"})
    assert _build(site) == 0
    assert _body(site).xpath('//aside[@class="note"]/p/strong')[0].text == "careful"
    (site / "themes/default/shortcodes/note.html").write_text(
        '<aside class="warning">{{ inner_html }}</aside>', encoding="utf-8")
    assert _build(site) == 0
    assert _body(site).xpath('//aside[@class="warning"]'), "a template change re-renders"


def test_a_renamed_target_rerenders_the_page_that_refers_to_it(
        make_site: Callable[..., Path]) -> None:
    site = _site(make_site, "Text.")
    assert _build(site) == 0
    wells = site / "content/en/news/wells.md"
    wells.write_text(WELLS.replace("slug: water-wells", "slug: boreholes"), encoding="utf-8")
    assert _build(site) == 0
    links = {a.text_content(): a.get("href") for a in _body(site).iter("a")}
    assert links["the wells"] == "/en/news/boreholes/"


def test_param_reads_the_page_front_matter(make_site: Callable[..., Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site({"content/en/news/p.md": '---\ntitle: "P"\ndate: 2026-01-01T10:00:00Z\n'
                                              'region: "Sahel"\n---\nIn {{< param "region" >}}.'
                                              '\n\nAnd {{< param "nope" >}}.\n'})
    assert _build(site) == 1
    assert "content/en/news/p.md:8: shortcode 'param': neither the page's front matter " \
        "nor [params] in site.toml has 'nope'" in capsys.readouterr().err


def test_check_flags_shortcode_text_outside_code(make_site: Callable[..., Path],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(make_site, "In code: `{{</* figure */>}}`.\n\nAs text: {{</* youtube x */>}}.")
    assert _build(site) == 0
    capsys.readouterr()
    assert main(["check", "--site", str(site)]) == 1
    err = capsys.readouterr().out + capsys.readouterr().err
    assert "content/en/news/codes.md:9: error: shortcode left as text on the page: " \
        "'{{< youtube x >}}" in err
    assert "figure" not in err.split("shortcode left as text", 1)[1].split("\n", 1)[0]


def test_audio_and_video_play_files_of_the_site(make_site: Callable[..., Path]) -> None:
    site = make_site({
        "content/en/news/clip/index.md": '---\ntitle: "Clip"\ndate: 2026-01-01T10:00:00Z\n'
                                         '---\n{{< audio src="talk.mp3" caption="A talk" >}}\n\n'
                                         '{{< video src="clip.mp4" >}}\n',
        "content/en/news/clip/talk.mp3": b"ID3",
        "content/en/news/clip/clip.mp4": b"\x00\x00\x00\x18ftyp",
    })
    assert _build(site) == 0
    body = _body(site, "en/news/clip/index.html")
    assert body.xpath("//audio/@src") == ["talk.mp3"] and body.xpath("//audio/@preload") == \
        ["none"]
    assert body.xpath("//video/@src") == ["clip.mp4"]
    assert body.xpath('//figcaption')[0].text == "A talk"
    assert (site / "output/en/news/clip/talk.mp3").is_file()
