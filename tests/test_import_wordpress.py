"""``newshub import wordpress``: Polylang and WPML exports become linked translations in
content/<lang>/, old permalinks become aliases, bodies become Markdown, media is copied
into bundles, and a hostile or non-WordPress file changes nothing outside the target."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import lxml.html
import pytest
import yaml
from PIL import Image

from generator.cli import main
from generator.importers import body, phpserial
from generator.importers.output import segment, yaml_string
from generator.importers.wpautop import wpautop
from generator.importers.wxr import NotAnExport, read

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "wordpress"
THEME_UNIT_TEST = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / \
    "real" / "wordpress-theme-unit-test" / "themeunittestdata.wordpress.xml"


def front(path: Path) -> tuple[dict, str]:
    """A written page's front matter (read with PyYAML) and its body."""
    text = path.read_text(encoding="utf-8")
    _, matter, rest = text.split("---\n", 2)
    return yaml.safe_load(matter), rest


def iso(value: object) -> str:
    """A front-matter date as written (PyYAML reads it as a datetime)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def make_media(folder: Path, files: dict[str, tuple[int, int]]) -> Path:
    for relative, size in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".jpg", ".png"):
            Image.new("RGB", size, (size[0] % 256, 90, 160)).save(path)
        else:
            path.write_bytes(b"%PDF-1.4\n% test\n")
    return folder


def run_import(capsys: pytest.CaptureFixture[str], export: Path, target: Path,
               *extra: str) -> tuple[int, str]:
    code = main(["import", "wordpress", str(export), "--to", str(target), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def build(site: Path, *extra: str) -> int:
    return main(["build", "--site", str(site), "--output", str(site / "output"), "--quiet",
                 "--no-cards", "--jobs", "1", *extra])


POLYLANG_MEDIA = {"2024/05/wells.jpg": (64, 40), "2024/05/pump.jpg": (60, 40),
                  "2024/05/school.png": (32, 32), "2024/05/report.pdf": (0, 0),
                  "2023/01/old-logo.png": (16, 16)}


@pytest.fixture(scope="module")
def polylang(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("polylang")
    media = make_media(work / "uploads", POLYLANG_MEDIA)
    code = main(["import", "wordpress", str(FIXTURES / "polylang.xml"), "--to",
                 str(work / "site"), "--media", str(media)])
    assert code == 0
    return work / "site", ""


@pytest.fixture(scope="module")
def polylang_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    from generator.importers.wordpress import run

    work = tmp_path_factory.mktemp("polylang-report")
    code, text = run(FIXTURES / "polylang.xml", work / "site",
                     make_media(work / "uploads", POLYLANG_MEDIA), False)
    assert code == 0
    return text


def test_polylang_posts_land_in_their_language_linked_by_one_key(polylang) -> None:
    site, _ = polylang
    content = site / "content"
    en, en_body = front(content / "en/field-reports/wells-restored/index.md")
    fr, _ = front(content / "fr/field-reports/puits-restaures/index.md")
    ar, ar_body = front(content / "ar/news/آبار/index.md")
    assert en["translation_key"] == fr["translation_key"] == ar["translation_key"]
    assert en["title"] == "Wells restored in 14 villages"
    assert ar["title"] == "ترميم الآبار في 14 قرية"
    # The site's own offset (post_date minus post_date_gmt), modified as updated.
    assert iso(en["date"]) == "2024-05-14T09:30:00+02:00"
    assert iso(en["updated"]) == "2024-05-20T10:00:00+02:00"
    assert en["summary"] == "Fourteen villages have clean water again."
    assert en["author"] == "Amina Diallo"
    # Yoast's primary category is the section; every category is listed.
    assert en["categories"] == ["news", "field-reports"]
    assert en["tags"] == ["water"] and fr["tags"] == ["water"]
    # The featured image, copied into the bundle with its alt text.
    assert en["image"] == "wells.jpg"
    assert en["image_alt"] == "Two women fill jerrycans at a new tap stand"
    assert (content / "en/field-reports/wells-restored/wells.jpg").is_file()
    assert "draft" not in en
    # Bodies: a resized image traced to its original, embeds, internal links, files.
    assert '{{< figure src="pump.jpg" alt="A new hand pump" caption="The pump in Kaya" >}}' \
        in en_body
    assert "{{< youtube dQw4w9WgXcQ >}}" in en_body
    assert "[how the school kits arrived](/en/news/school-kits/)" in en_body
    assert "[the full report](report.pdf)" in en_body
    assert (content / "en/field-reports/wells-restored/report.pdf").is_file()
    assert "## What comes next" in en_body and "- Training for 40 pump keepers" in en_body
    assert "{{< vimeo 76979871 >}}" in ar_body
    assert "![Children in front of the new school](school.png)" in ar_body


def test_polylang_pages_keep_their_hierarchy_drafts_and_schedule(polylang) -> None:
    site, _ = polylang
    content = site / "content"
    about, _ = front(content / "en/about/_index.md")
    team, team_body = front(content / "en/about/team/index.md")
    equipe, _ = front(content / "fr/qui-sommes-nous/equipe.md")
    qui, _ = front(content / "fr/qui-sommes-nous/_index.md")
    assert about["translation_key"] == qui["translation_key"]
    assert team["translation_key"] == equipe["translation_key"] != about["translation_key"]
    assert team["weight"] == 2
    assert (content / "en/about/team/school.png").is_file()
    assert "school.png" in team_body
    assert (content / "ar/من-نحن.md").is_file()
    draft, _ = front(content / "en/news/draft-budget-notes.md")
    assert draft["draft"] is True
    assert "aliases" not in draft  # never public, so no old address to keep
    assert front(content / "en/contact.md")[0]["draft"] is True  # private page
    scheduled, _ = front(content / "en/news/rainy-season-appeal.md")
    assert iso(scheduled["date"]).startswith("2031-06-01T09:00:00") and "draft" not in scheduled


def test_polylang_site_toml_names_languages_sections_and_tags(polylang) -> None:
    site, _ = polylang
    config = tomllib.loads((site / "site.toml").read_text(encoding="utf-8"))
    assert config["default_language"] == "en"
    assert list(config["languages"]) == ["en", "ar", "fr"]
    assert config["languages"]["ar"]["name"] == "العربية"
    assert config["languages"]["fr"]["name"] == "Français"
    assert config["taxonomy"]["sections"]["field-reports"] == {"en": "Field reports",
                                                               "fr": "Reportages"}
    assert config["taxonomy"]["sections"]["news"]["ar"] == "أخبار"
    assert config["taxonomy"]["tags"]["water"] == {"en": "Water", "fr": "Eau"}
    assert config["taxonomies"] == ["tags", "categories"]
    assert config["taxonomy"]["categories"]["news"] == {"en": "News", "ar": "أخبار",
                                                        "fr": "Actualités"}


def test_old_permalinks_become_aliases_and_redirects(polylang) -> None:
    site, _ = polylang
    en, _ = front(site / "content/en/field-reports/wells-restored/index.md")
    fr, _ = front(site / "content/fr/field-reports/puits-restaures/index.md")
    about, _ = front(site / "content/en/about/_index.md")
    assert {"/2024/05/wells-restored/", "/2024/05/14/wells-restored/", "/?p=10",
            "/en/2024/05/wells-restored/"} <= set(en["aliases"])
    assert {"/fr/2024/05/puits-restaures/", "/?p=11"} <= set(fr["aliases"])
    assert {"/about/", "/?page_id=20"} <= set(about["aliases"])
    redirects = (site / "redirects.txt").read_text(encoding="utf-8").splitlines()
    assert "/?p=10 /en/field-reports/wells-restored/" in redirects
    assert "/?p=12 /ar/news/%D8%A2%D8%A8%D8%A7%D8%B1/" in redirects
    assert "/about/ /en/about/" in redirects


def test_report_counts_and_lists_what_was_left(polylang_report: str) -> None:
    report = polylang_report
    assert "articles: ar 1, en 4, fr 1" in report
    assert "pages: ar 1, en 3, fr 2" in report
    assert "comments (not imported): 2" in report
    assert "revisions: 1" in report
    assert "menu items (nav_menu_item" in report
    assert "attachments no imported post uses (not copied): 1" in report
    assert "post 10: block wp:latest-posts" in report
    assert "post 12: shortcode [contact-form-7] left as text" in report
    assert "drafts (draft: true): 2" in report and "scheduled (future date): 15" in report


def test_polylang_site_builds_with_linked_translations(polylang) -> None:
    site, _ = polylang
    assert build(site) == 0
    page = lxml.html.fromstring(
        (site / "output/en/field-reports/wells-restored/index.html").read_bytes())
    alternates = {link.get("hreflang"): link.get("href")
                  for link in page.xpath("//link[@rel='alternate'][@hreflang]")}
    assert alternates["fr"].endswith("/fr/field-reports/puits-restaures/")
    assert "/ar/news/" in alternates["ar"]
    assert page.xpath("//img[contains(@src, 'pump')]")


def test_old_permalinks_resolve_in_the_built_site(polylang) -> None:
    site, _ = polylang
    output = site / "output"
    if not (output / "index.html").is_file():
        assert build(site) == 0
    redirect = output / "2024/05/wells-restored/index.html"
    html = redirect.read_text(encoding="utf-8")
    assert "/en/field-reports/wells-restored/" in html


def test_wpml_posts_are_linked_by_translation_group_and_duplicate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    media = make_media(tmp_path / "uploads", {"2024/03/trucks.jpg": (64, 40),
                                              "2024/03/families.jpg": (64, 40),
                                              "2024/03/depot.mp4": (0, 0)})
    site = tmp_path / "site"
    code, report = run_import(capsys, FIXTURES / "wpml.xml", site, "--media", str(media))
    assert code == 0, report
    content = site / "content"
    en, en_body = front(content / "en/news/food-distribution/index.md")
    fr, fr_body = front(content / "fr/news/distribution-alimentaire/index.md")
    ar, ar_body = front(content / "ar/news/توزيع-الغذاء.md")
    assert en["translation_key"] == fr["translation_key"] == ar["translation_key"]
    clinic_en, _ = front(content / "en/news/mobile-clinics.md")
    clinic_fr, _ = front(content / "fr/news/mobile-clinics.md")  # _icl_lang_duplicate_of
    assert clinic_en["translation_key"] == clinic_fr["translation_key"]
    assert en["image"] == "families.jpg" and fr["image"] == "families.jpg"
    assert en["tags"] == ["food"] and fr["tags"] == ["food"]
    assert "![Trucks at the depot](trucks.jpg)" in en_body  # -1024x683 traced to the original
    assert "| North | 1,800 |" in en_body
    assert '{{< video src="depot.mp4" >}}' in en_body
    assert '{{< video src="depot.mp4" >}}' in fr_body
    assert "script" not in ar_body and "post 203: <script> removed" in report
    assert front(content / "en/news/pending-donor-list.md")[0]["draft"] is True
    assert str(front(content / "fr/news/appel-saison-seche.md")[0]["date"]).startswith("2032")
    history, _ = front(content / "en/about/history/_index.md")
    histoire, _ = front(content / "fr/a-propos/histoire.md")
    assert history["translation_key"] == histoire["translation_key"]
    assert (content / "en/about/history/board.md").is_file()
    assert "/fr/2024/03/distribution-alimentaire/" in fr["aliases"]
    config = tomllib.loads((site / "site.toml").read_text(encoding="utf-8"))
    assert config["title"] == "Relief Network & Partners"
    assert list(config["languages"]) == ["en", "ar", "fr"]
    assert config["taxonomy"]["sections"]["news"] == {"en": "News", "ar": "أخبار",
                                                      "fr": "Actualités"}
    assert build(site) == 0


def test_importing_twice_gives_identical_files(tmp_path: Path) -> None:
    media = make_media(tmp_path / "uploads", POLYLANG_MEDIA)
    trees = []
    for name in ("one", "two"):
        assert main(["import", "wordpress", str(FIXTURES / "polylang.xml"), "--to",
                     str(tmp_path / name), "--media", str(media)]) == 0
        root = tmp_path / name
        trees.append({p.relative_to(root).as_posix(): p.read_bytes()
                      for p in sorted(root.rglob("*")) if p.is_file()})
    assert trees[0] == trees[1]
    assert len(trees[0]) > 15


def test_a_folder_that_is_not_empty_needs_force(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "notes.txt").write_text("mine", encoding="utf-8")
    code, text = run_import(capsys, FIXTURES / "wpml.xml", site)
    assert code == 2 and "not empty" in text and "--force" in text
    assert sorted(p.name for p in site.iterdir()) == ["notes.txt"]
    code, _ = run_import(capsys, FIXTURES / "wpml.xml", site, "--force")
    assert code == 0 and (site / "site.toml").is_file()
    assert (site / "notes.txt").read_text(encoding="utf-8") == "mine"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>&d;</title>
<wp:wxr_version>1.2</wp:wxr_version></channel></rss>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>&secret;</title>
<wp:wxr_version>1.2</wp:wxr_version></channel></rss>
"""
NOT_WXR = {
    "billion-laughs.xml": (BILLION_LAUGHS, "DOCTYPE"),
    "external-entity.xml": (EXTERNAL_ENTITY, "DOCTYPE"),
    "not-xml.xml": ("title: a YAML file\n", "not well-formed XML"),
    "empty.xml": ("", "not well-formed XML"),
    "atom.xml": ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x'
                 "</title></feed>", "root element is <feed>"),
    "rss.xml": ('<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
                "</channel></rss>", "RSS feed, not a WordPress export"),
    "no-version.xml": ('<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
                       "<title>x</title></channel></rss>", "wxr_version"),
}


@pytest.mark.parametrize("name", sorted(NOT_WXR))
def test_files_that_are_not_wordpress_exports_exit_1_and_write_nothing(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, expected = NOT_WXR[name]
    export = tmp_path / name
    export.write_text(text, encoding="utf-8")
    code, output = run_import(capsys, export, tmp_path / "site")
    assert code == 1
    assert expected in output
    assert "Traceback" not in output
    assert not (tmp_path / "site").exists()


def test_the_reader_refuses_entities_before_expanding_them() -> None:
    with pytest.raises(NotAnExport, match="DOCTYPE"):
        list(read_text(BILLION_LAUGHS))


def read_text(text: str):
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as handle:
        handle.write(text)
    try:
        yield from read(Path(handle.name))
    finally:
        os.unlink(handle.name)


def snapshot(root: Path, skip: Path) -> dict[str, tuple[int, float, bytes]]:
    found = {}
    for path in sorted(root.rglob("*")):
        if skip == path or skip in path.parents:
            continue
        if path.is_file() or path.is_symlink():
            stat = path.lstat()
            found[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime,
                                                        path.read_bytes() if path.is_file()
                                                        else b"")
        else:
            found[path.relative_to(root).as_posix()] = (0, 0.0, b"")
    return found


def test_a_hostile_export_changes_nothing_outside_the_target(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(outside / "secret.jpg")
    Image.new("RGB", (8, 8), (0, 255, 0)).save(tmp_path / "outside.jpg")
    media = tmp_path / "media"
    (media / "2024/01").mkdir(parents=True)
    os.symlink(outside / "secret.jpg", media / "2024/01/link.jpg")
    site = tmp_path / "site"
    before = snapshot(tmp_path, site)
    code, report = run_import(capsys, FIXTURES / "hostile.xml", site, "--media", str(media))
    assert code == 0, report
    assert snapshot(tmp_path, site) == before
    secret = (outside / "secret.jpg").read_bytes()
    for path in site.rglob("*"):
        assert site.resolve() in path.resolve().parents
        if path.is_file():
            assert path.read_bytes() != secret
            assert path.suffix not in (".jpg", ".png")  # nothing was copied
    assert "refused: a symlink leading outside the media folder" in report
    assert "refused: the path climbs out of the media folder" in report
    assert "<script> removed" in report and "javascript: link removed" in report
    article = next(site.glob("content/en/escape/*.md"))
    matter, text = front(article)
    assert set(matter) <= {"title", "date", "author", "categories", "tags", "aliases"}
    assert "injected" not in matter and matter["title"].startswith("Hello")
    assert "<script" not in text and "onerror" not in text and "onclick" not in text
    assert "javascript:" not in text and "<style" not in text
    assert "{{<" not in text and "{{%" not in text  # newshub shortcode syntax neutralised
    assert not any(".." in alias for alias in matter["aliases"])
    names = [p.relative_to(site).as_posix() for p in site.rglob("*")]
    assert not any(".." in name.split("/") for name in names)
    config = tomllib.loads((site / "site.toml").read_text(encoding="utf-8"))
    assert "injected" not in config


@pytest.mark.skipif(not THEME_UNIT_TEST.is_file(), reason="../shared/corpus is not beside "
                                                          "the repo")
def test_the_theme_unit_test_export_imports_and_builds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    code, report = run_import(capsys, THEME_UNIT_TEST, site)
    assert code == 0, report
    assert "articles: en 51" in report and "pages: en 21" in report
    assert "comments (not imported): 32" in report
    assert (site / "content/en/level-1/level-2/level-3.md").is_file()
    assert (site / "content/en/greek/επίπεδο-2/επίπεδο-3.md").is_file()
    matter, _ = front(site / "content/en/classic/markup-title-with-markup.md")
    assert matter["title"] == "Markup: Title With Markup"
    assert "post 1173: title had HTML markup" in report
    assert "draft" in front(site / "content/en/classic/template-password-protected.md")[0]
    _, video = front(site / "content/en/classic/post-format-video-youtube.md")
    assert "{{< youtube SQEQr7c0-dw >}}" in video
    assert build(site) == 0
    assert (site / "output/en/classic/markup-image-alignment/index.html").is_file()


# Units: the pieces the importer is made of.

def test_php_serialised_arrays_are_read_without_unserialize() -> None:
    assert phpserial.load_array('a:2:{s:2:"en";i:12;s:2:"fr";i:15;}') == {"en": 12, "fr": 15}
    assert phpserial.load_array('a:1:{s:6:"locale";s:5:"ar_EG";}') == {"locale": "ar_EG"}
    assert phpserial.load_array('a:1:{s:1:"x";s:4:"éé";}') == {"x": "éé"}  # bytes counted
    for hostile in ('O:8:"stdClass":0:{}', 'a:1:{s:1:"x";O:1:"A":0:{}}', 'a:1:{s:9:"x";i:1;}',
                    "a:99999:{}", 'a:1:{i:0;r:1;}', "x" * 30, "a:1:{" * 10 + "}" * 10):
        assert phpserial.load_array(hostile) is None


def test_wpautop_adds_paragraphs_and_line_breaks_as_wordpress_does() -> None:
    assert wpautop("One\n\nTwo\nthree") == "<p>One</p>\n<p>Two<br />\nthree</p>\n"
    assert wpautop("<ul>\n<li>a</li>\n</ul>\n\nText") == "<ul>\n<li>a</li>\n</ul>\n<p>Text</p>\n"
    assert "<pre>a\n\nb</pre>" in wpautop("<pre>a\n\nb</pre>")


def links(**overrides) -> body.Links:
    defaults = {
        "image": lambda url, _id: body.Image(url.rsplit("/", 1)[-1], True, "alt from library"),
        "file": lambda url: None,
        "link": lambda url: url,
        "attachment": lambda _id: (f"https://x.example/wp-content/uploads/{_id}.jpg", "a", ""),
    }
    return body.Links(**{**defaults, **overrides})


@pytest.mark.parametrize(("html", "expected"), [
    ("<p>a &lt;script&gt; b &amp;lt; c</p>", "a &lt;script> b &amp;lt; c"),
    ("<p>{{< youtube x >}}</p>", "&#123;{&lt; youtube x >}}"),
    ("<p>1. not a list</p>", "1\\. not a list"),
    ("<p>snake_case *star*</p>", "snake\\_case \\*star\\*"),
    ('<pre class="wp-block-code"><code class="language-python">x = 1</code></pre>',
     "```python\nx = 1\n```"),
    ("<blockquote><p>Quote</p><cite>Someone</cite></blockquote>", "> Quote\n>\n> *Someone*"),
    ("<p>H<sub>2</sub>O</p>", "H<sub>2</sub>O"),
])
def test_html_becomes_markdown_escaped_for_python_markdown(html: str, expected: str) -> None:
    assert body.to_markdown(html, links()).markdown.strip() == expected


def test_caption_gallery_and_embed_shortcodes() -> None:
    text = ('[caption id="attachment_7" width="300"]<img class="wp-image-7" src="https://x.example'
            '/wp-content/uploads/p-300x200.jpg" alt="A pump" /> The "new" pump[/caption]\n\n'
            '[gallery ids="1,2"]\n\nhttps://youtu.be/dQw4w9WgXcQ\n\n'
            "[embed]https://vimeo.com/76979871[/embed]\n\nhttps://example.org/page")
    markdown = body.to_markdown(text, links()).markdown
    assert '{{< figure src="p-300x200.jpg" alt="A pump" caption="The \\"new\\" pump" >}}' \
        in markdown
    assert "![a](1.jpg)" in markdown and "![a](2.jpg)" in markdown  # the library's alt
    assert "{{< youtube dQw4w9WgXcQ >}}" in markdown
    assert "{{< vimeo 76979871 >}}" in markdown
    assert "<https://example.org/page>" in markdown


def test_block_columns_are_flattened_and_buttons_become_links() -> None:
    text = ('<!-- wp:columns --><div class="wp-block-columns"><!-- wp:column -->'
            '<div class="wp-block-column"><!-- wp:paragraph --><p>Left</p><!-- /wp:paragraph -->'
            '</div><!-- /wp:column --><!-- wp:column --><div class="wp-block-column">'
            '<!-- wp:paragraph --><p>Right</p><!-- /wp:paragraph --></div><!-- /wp:column -->'
            '</div><!-- /wp:columns --><!-- wp:buttons --><div class="wp-block-buttons">'
            '<!-- wp:button --><div class="wp-block-button"><a class="wp-block-button__link" '
            'href="https://x.example/give">Give</a></div><!-- /wp:button --></div>'
            '<!-- /wp:buttons --><!-- wp:jetpack/slideshow {"ids":[1]} --><div>Slides</div>'
            "<!-- /wp:jetpack/slideshow -->")
    converted = body.to_markdown(text, links())
    assert re.sub(r"\s+", " ", converted.markdown).strip() == \
        "Left Right [Give](https://x.example/give) Slides"
    assert converted.problems == ["block jetpack/slideshow has no equivalent: kept its HTML"]


def test_a_missing_image_becomes_a_link_never_a_remote_image() -> None:
    missing = links(image=lambda url, _id: body.Image(url, False, "A well"))
    markdown = body.to_markdown('<p><img src="https://x.example/w.jpg" alt="A well"></p>',
                                missing).markdown
    assert markdown.strip() == "[A well](https://x.example/w.jpg)"


def test_names_and_values_from_the_export_are_made_safe() -> None:
    assert segment("../../etc/passwd", "f") == "etc-passwd"
    assert segment("%ce%b5%cf%80%ce%af%cf%80%ce%b5%ce%b4%ce%bf", "f") == "επίπεδο"
    assert segment("..", "post-3") == "post-3"
    assert yaml.safe_load("k: " + yaml_string('a"\n---\nb: \u2028\\')) == \
        {"k": 'a"\n---\nb: \u2028\\'}
    assert body.shortcode_value('say "hi" }} {{<') == 'say \\"hi\\" } } { {<'


@pytest.mark.skipif(os.environ.get("NEWSHUB_LARGE_IMPORT") != "1",
                    reason="set NEWSHUB_LARGE_IMPORT=1 to import a generated 50 MB export")
def test_a_50_mb_export_imports_in_bounded_memory(tmp_path: Path) -> None:
    export = tmp_path / "big.xml"
    write_large_export(export, posts=12_000)
    assert export.stat().st_size > 45_000_000
    script = ("import resource, sys; from pathlib import Path; "
              "from generator.importers.wordpress import import_wordpress; "
              "import_wordpress(Path(sys.argv[1]), Path(sys.argv[2])); "
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", script, str(export), str(tmp_path / "site")],
                            capture_output=True, text=True, check=True, timeout=1800)
    peak_kb = int(result.stdout.split()[-1])
    assert peak_kb < 200_000, f"peak RSS {peak_kb / 1024:.0f} MB"


def write_large_export(path: Path, posts: int) -> None:
    """A Polylang export of ``posts`` block-editor posts (about 5 KB each), written as a
    stream."""
    paragraph = ("<!-- wp:paragraph -->\n<p>Field teams reported <strong>progress</strong> on "
                 'wells and clinics; see <a href="https://big.example/2020/01/post-1/">the '
                 "first report</a>. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed "
                 "do eiusmod tempor incididunt ut labore.</p>\n<!-- /wp:paragraph -->\n\n") * 12
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
                  'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
                  'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                  'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                  'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel><title>Big</title>'
                  "<link>https://big.example</link><language>en</language>"
                  "<wp:wxr_version>1.2</wp:wxr_version>\n")
        for n in range(1, posts + 1):
            lang = ("en", "fr", "ar")[n % 3]
            out.write(
                f"<item><title>Post {n}</title><link>https://big.example/2020/01/post-{n}/</link>"
                f"<dc:creator>admin</dc:creator><content:encoded><![CDATA[{paragraph}]]>"
                f"</content:encoded><wp:post_id>{n}</wp:post_id><wp:post_date>2020-01-"
                f"{1 + n % 28:02d} 10:00:00</wp:post_date><wp:post_date_gmt>2020-01-"
                f"{1 + n % 28:02d} 09:00:00</wp:post_date_gmt><wp:post_name>post-{n}"
                "</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type>"
                '<category domain="category" nicename="news">News</category>'
                f'<category domain="language" nicename="{lang}">{lang}</category>'
                f'<category domain="post_translations" nicename="pll_{(n - 1) // 3}">x'
                "</category></item>\n")
        out.write("</channel></rss>\n")


def test_a_wxr_1_0_export_of_a_blog_in_a_subfolder(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    code, report = run_import(capsys, FIXTURES / "wxr-1.0-subfolder.xml", site)
    assert code == 0, report
    matter, text = front(site / "content/fr/general/bonjour.md")
    assert matter["tags"] == ["eau"] and matter["categories"] == ["general"]
    # Old addresses are site paths under the blog's folder, as base_url is.
    assert matter["aliases"] == ["/2009/01/02/bonjour/", "/2009/01/bonjour/", "/?p=5",
                                 "/bonjour/"]
    assert "Second [lien](/fr/general/bonjour/)." in text
    config = tomllib.loads((site / "site.toml").read_text(encoding="utf-8"))
    assert config["base_url"] == "http://old.example/blog/"
    assert config["taxonomy"]["sections"]["general"] == {"fr": "Général"}
