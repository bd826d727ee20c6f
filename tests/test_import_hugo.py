"""``newshub import hugo``: small Hugo sites (TOML with a content folder per language,
YAML split over config/_default/ with translations named by suffix, JSON and a single
language) and the real Docsy example when ../shared is beside the repository. The new
site.toml is read back with tomllib, copies are compared byte for byte, and the
placeholder shortcode templates are rendered with Jinja2 and parsed with lxml."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import jinja2
import lxml.html
import pytest
from babel import Locale
from markupsafe import Markup

from generator import markup
from generator.cli import main
from generator.importers import hugo

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hugo"
ROOT = Path(__file__).resolve().parent.parent
DOCSY = ROOT.parent / "shared" / "corpus" / "real" / "docsy-example"
needs_docsy = pytest.mark.skipif(not (DOCSY / "content").is_dir(),
                                 reason="../shared/corpus/real/docsy-example is not beside "
                                        "the repo")


def run_import(source: Path, target: Path, capsys: pytest.CaptureFixture[str],
               *extra: str) -> tuple[int, str, str]:
    code = main(["import", "hugo", str(source), "--to", str(target), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def site_toml(folder: Path) -> dict:
    return tomllib.loads((folder / "site.toml").read_text(encoding="utf-8"))


def tree(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def write_site(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def render(template: Path, **context: object) -> str:
    """A placeholder rendered as newshub's shortcode expander would (same settings)."""
    environment = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.Undefined)
    environment.filters["urlquery"] = lambda text: str(text)
    environment.filters["markdownify"] = lambda text: Markup(markup.to_html(str(text or "")))
    environment.globals["fail"] = lambda message: (_ for _ in ()).throw(ValueError(message))
    args = list(context.pop("args", []))
    params = dict(context.pop("params", {}))
    inner = context.pop("inner", None)
    values = {"args": args, "params": params, "inner": inner,
              "inner_html": Markup(context.pop("inner_html", "")),
              "get": lambda key, default="": (args[key] if isinstance(key, int) and
                                              key < len(args) else
                                              params.get(key, default) if isinstance(key, str)
                                              else default), **context}
    return environment.from_string(template.read_text(encoding="utf-8")).render(values)


class Page:
    def __init__(self, lang: str, folder: str, params: dict | None = None) -> None:
        self.lang, self.folder, self.params = lang, folder, params or {}


# --- TOML: a content folder per language ----------------------------------------------

@pytest.fixture(scope="module")
def toml_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    target = tmp_path_factory.mktemp("toml") / "site"
    lines: list[str] = []
    code = hugo.run(str(FIXTURES / "toml-dirs"), str(target), out=lines.append)
    assert code == 0
    return target, "\n".join(lines)


def test_toml_languages_are_canonical_in_weight_order_with_their_folders(
        toml_import: tuple[Path, str]) -> None:
    data = site_toml(toml_import[0])
    assert list(data["languages"]) == ["en", "zh-TW", "pt-BR"]
    for code in data["languages"]:
        Locale.parse(code.replace("-", "_"))
    assert "folder" not in data["languages"]["en"]
    assert data["languages"]["zh-TW"]["folder"] == "zh-tw"
    assert data["languages"]["pt-BR"]["folder"] == "pt-br"
    assert data["languages"]["zh-TW"]["name"] == "繁體中文"
    assert data["languages"]["zh-TW"]["title"] == "金合歡救援"  # from the language's params
    assert data["languages"]["zh-TW"]["params"] == {"dateFormat": "2006年1月2日"}
    assert "params" not in data["languages"]["pt-BR"]  # only its description
    assert data["languages"]["pt-BR"]["title"] == "Acácia Socorro"
    assert data["languages"]["pt-BR"]["description"] == "Notícias de campo"
    assert data["default_language"] == "en"
    assert data["default_language_at_root"] is False  # defaultContentLanguageInSubdir
    assert (data["base_url"], data["title"]) == ("https://relief.example.org/", "Acacia Relief")


def test_toml_menus_params_permalinks_taxonomies(toml_import: tuple[Path, str]) -> None:
    target, output = toml_import
    data = site_toml(target)
    assert data["languages"]["en"]["menu"] == [
        {"name": "About us", "page": "about"}, {"name": "News", "page": "news"},
        {"name": "Donate", "url": "https://relief.example.org/donate"}]
    assert data["languages"]["zh-TW"]["menu"] == [{"name": "新聞", "page": "news"}]
    # pt-BR has no news or about page: only the address stays
    assert data["languages"]["pt-BR"]["menu"] == [
        {"name": "Donate", "url": "https://relief.example.org/donate"}]
    assert data["params"] == {"description": "Field news from Acacia Relief",
                              "donate": "https://relief.example.org/donate",
                              "mainSections": ["news"], "showReadingTime": True, "maxItems": 12}
    assert data["organisation"] == {"name": "Acacia Relief Network"}
    assert data["taxonomies"] == ["tags", "series"]
    assert data["permalinks"] == {"news": "/news/:year/:month/:slug/",
                                  "archive": "/:sections/:yearday/:title/"}
    assert data["taxonomy"]["sections"] == {"news": {"en": "Field news", "zh-TW": "新聞"}}
    for expected in ("author, social", "menu entry 'Team' (en): a sub-entry",
                     "menu 'footer' (en)", "menu entry '首頁' (zh-tw): the home page",
                     "permalinks.stories = '/:2006/:01/:slug/': left out", "permalinks.section",
                     "layouts/ (1 file)", "data/ (1 file)", "archetypes/ (1 file)",
                     "enableRobotsTXT, summaryLength", "languageCode 'en-us'",
                     "front matter 'layout'",
                     "Next:", "newshub build"):
        assert expected in output, expected


def test_toml_shortcodes_are_listed_with_placeholders(toml_import: tuple[Path, str]) -> None:
    target, output = toml_import
    folder = target / "themes" / "default" / "shortcodes"
    assert sorted(p.name for p in folder.iterdir()) == ["callout.html", "note.html",
                                                        "sponsor-logo.html"]
    assert "callout (the site's own, paired, 2 uses: content/en/news/2024-water/index.md:9" \
        in output
    assert "figure" in output and not (folder / "figure.html").exists()  # built in
    assert "/* callout */" not in output  # an escaped shortcode is text, not a use
    html = render(folder / "callout.html", inner="The **pumps**",
                  inner_html="<p>The <strong>pumps</strong></p>")
    div = lxml.html.fragment_fromstring(html)
    assert (div.tag, div.get("class")) == ("div", "shortcode-callout")
    assert div.findtext("p/strong") == "pumps"
    assert render(folder / "sponsor-logo.html", params={"name": "Acme"}).strip() == ""
    span = lxml.html.fragment_fromstring(render(folder / "sponsor-logo.html",
                                                params={"title": "Acme <Co>"}))
    assert (span.tag, span.text) == ("span", "Acme <Co>")


def test_copies_are_byte_identical_without_noise_or_links_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "hugo"
    shutil.copytree(FIXTURES / "toml-dirs", source)
    (source / "static" / "site.css~").write_text("backup")
    (source / "static" / ".DS_Store").write_bytes(b"\0\0")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for publishing")
    os.symlink(secret, source / "static" / "leak.txt")
    os.symlink(source / "static" / "site.css", source / "static" / "alias.css")
    code, out, _ = run_import(source, tmp_path / "new", capsys)
    assert code == 0
    copied = tree(tmp_path / "new")
    for folder in ("content", "static"):
        for name, data in tree(source / folder).items():
            if name in ("site.css~", ".DS_Store", "leak.txt"):
                assert f"{folder}/{name}" not in copied
            else:
                assert copied[f"{folder}/{name}"] == data, name
    assert copied["static/alias.css"] == (source / "static" / "site.css").read_bytes()
    assert "static/.well-known/security.txt" in copied
    assert "leak.txt" in out and "outside" in out


# --- YAML split over config/_default/, translations named by suffix ---------------------

@pytest.fixture(scope="module")
def yaml_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    target = tmp_path_factory.mktemp("yaml") / "site"
    lines: list[str] = []
    assert hugo.run(str(FIXTURES / "yaml-split"), str(target), out=lines.append) == 0
    return target, "\n".join(lines)


def test_yaml_config_folder_is_merged_like_hugo(yaml_import: tuple[Path, str]) -> None:
    target, output = yaml_import
    data = site_toml(target)
    assert list(data["languages"]) == ["en", "fr", "no"]  # `no:` stays Norwegian
    assert data["params"]["env"] == "production"  # config/production/ over _default/
    assert data["params"]["enabled"] == "yes"  # YAML 1.2: not a boolean
    assert data["params"]["tags_shown"] == ["harbour", "boats"]
    assert data["organisation"]["name"] == "Harbour Hub Collective"
    assert data["languages"]["fr"]["title"] == "Le Hub du Port"
    assert data["languages"]["en"]["description"] == "News from the harbour"
    assert data["default_language_at_root"] is True
    assert data["taxonomies"] == ["tags", "categories"]
    for expected in ("config/staging/", "theme: the Hugo theme", "outputs: output formats",
                     "markup: Markdown settings", "content/about.md: menu 'footer'",
                     "config/_default/menus.fr.yaml"):
        assert expected in output, expected


def test_yaml_menus_from_config_front_matter_and_sections(
        yaml_import: tuple[Path, str]) -> None:
    languages = site_toml(yaml_import[0])["languages"]
    assert languages["en"]["menu"] == [
        {"name": "About", "page": "about"},  # front matter, weight 5, its linkTitle
        {"name": "Guides", "page": "docs"},  # sectionPagesMenu, weight 10
        {"name": "Posts", "page": "posts"},  # sectionPagesMenu, weight 20
        {"name": "Partners", "url": "https://partners.example.net/"},  # menus.en.yaml
        {"name": "Contact", "page": "contact"}]
    assert languages["fr"]["menu"] == [{"name": "Articles", "page": "posts"},
                                       {"name": "Nous écrire", "page": "contact"}]
    assert languages["no"]["menu"] == [{"name": "Om oss", "page": "about"}]


def test_translations_by_suffix_move_into_language_folders(
        yaml_import: tuple[Path, str]) -> None:
    target, output = yaml_import
    source = FIXTURES / "yaml-split" / "content"
    copied = tree(target / "content")
    assert copied["fr/posts/first.md"] == (source / "posts/first.fr.md").read_bytes()
    assert copied["en/posts/first.md"] == (source / "posts/first.md").read_bytes()
    assert copied["no/about.md"] == (source / "about.no.md").read_bytes()
    assert copied["fr/_index.md"] == (source / "_index.fr.md").read_bytes()
    image = (source / "posts/hello-bundle/harbour-dawn.jpg").read_bytes()
    assert copied["en/posts/hello-bundle/harbour-dawn.jpg"] == image  # shared by the bundle's
    assert copied["fr/posts/hello-bundle/harbour-dawn.jpg"] == image  # translations
    assert "no/posts/hello-bundle/harbour-dawn.jpg" not in copied
    assert not any(name.count(".") > 1 for name in copied)  # no suffix left
    assert "one content folder holds every language" in output


def test_docsy_style_placeholders(yaml_import: tuple[Path, str]) -> None:
    target, output = yaml_import
    folder = target / "themes" / "default" / "shortcodes"
    alert = lxml.html.fragment_fromstring(render(
        folder / "alert.html", inner="Tide", inner_html="<p>Tide is <strong>high</strong></p>",
        params={"title": "Heads up", "color": "warning"}))
    assert (alert.get("class"), alert.get("role")) == ("alert alert-warning", "note")
    assert alert.findtext("p/strong") == "Heads up"
    figure = lxml.html.fragment_fromstring(render(
        folder / "imgproc.html", args=["harbour", "Fill", "400x200"], inner="Le port",
        inner_html="<p>Le port à l'aube.</p>", page=Page("fr", "posts/hello-bundle")))
    assert figure.find("img").get("src") == "harbour-dawn.jpg"
    assert figure.find("img").get("alt") == "Le port à l'aube."
    assert figure.findtext("figcaption/p") == "Le port à l'aube."
    with pytest.raises(ValueError, match=r"paste the text of includes/tide\.md"):
        render(folder / "readfile.html", params={"file": "includes/tide.md"})
    assert "readfile (content/posts/first.md:8)" in output
    assert not (folder / "youtube.html").exists()


# --- JSON, one language -------------------------------------------------------------

def test_json_single_language_moves_into_its_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_import(FIXTURES / "json-mono", tmp_path / "new", capsys)
    assert code == 0
    data = site_toml(tmp_path / "new")
    assert list(data["languages"]) == ["es"] and data["default_language"] == "es"
    assert data["languages"]["es"]["name"] == "Español"
    assert data["organisation"]["name"] == "Equipo Solo"
    assert data["taxonomies"] == ["categories"]
    assert data["taxonomy"]["sections"] == {"posts": {"es": "Noticias"}}  # TOML front matter
    copied = tree(tmp_path / "new")
    source = FIXTURES / "json-mono"
    for name, body in tree(source / "content").items():
        assert copied[f"content/es/{name}"] == body
    assert copied["static/logo.png"] == (source / "static/logo.png").read_bytes()
    assert "content/ → content/es/ (es: newshub keeps each language in a folder" in out


# --- the same result twice; refusals ----------------------------------------------------

def test_running_twice_gives_the_same_files(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    for fixture in ("toml-dirs", "yaml-split"):
        first, second = tmp_path / f"{fixture}-1", tmp_path / f"{fixture}-2"
        out = [run_import(FIXTURES / fixture, target, capsys)[1] for target in (first, second)]
        assert tree(first) == tree(second)
        assert out[0].replace(str(first), "X") == out[1].replace(str(second), "X")


def test_the_new_folder_is_named_after_the_hugo_site_by_default(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["import", "hugo", str(FIXTURES / "json-mono")]) == 0
    assert "cd json-mono-newshub && newshub build" in capsys.readouterr().out
    assert site_toml(tmp_path / "json-mono-newshub")["title"] == "Solo Aid"


def test_refuses_a_folder_that_is_not_empty_unless_forced(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new"
    (target / ".git").mkdir(parents=True)  # a fresh `git init` folder counts as empty
    assert run_import(FIXTURES / "json-mono", target, capsys)[0] == 0
    code, _, err = run_import(FIXTURES / "json-mono", target, capsys)
    assert code == 2 and "is not empty" in err and "--force" in err
    (target / "site.toml").write_text("broken = [")
    assert run_import(FIXTURES / "json-mono", target, capsys, "--force")[0] == 0
    assert site_toml(target)["title"] == "Solo Aid"
    code, _, err = run_import(FIXTURES / "json-mono", FIXTURES / "json-mono" / "content" / "x",
                              capsys)
    assert code == 2 and "outside the Hugo site's content" in err


@pytest.mark.parametrize(("files", "message"), [
    ({"content/a.md": "---\ntitle: A\n---\n"}, "no Hugo configuration"),
    ({"hugo.toml": "title = 'A'\n"}, "no content folder"),
    ({"hugo.yaml": "a: &x [1, 2]\nb: *x\n", "content/a.md": ""}, "aliases"),
    ({"hugo.toml": "title = \n", "content/a.md": ""}, "hugo.toml: invalid TOML"),
    ({"config.json": "[1]", "content/a.md": ""}, "must hold a table"),
])
def test_exits_1_when_it_is_not_a_hugo_site(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            files: dict[str, str], message: str) -> None:
    source = write_site(tmp_path / "hugo", files)
    code, _, err = run_import(source, tmp_path / "new", capsys)
    assert code == 1
    assert message in err
    assert not (tmp_path / "new").exists()


def test_keys_without_case_colliding_suffixes_and_unreadable_front_matter(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_site(tmp_path / "hugo", {
        "config.toml": "BASEURL = 'https://x.example/'\nTitle = 'X'\n"
                       "[Languages.EN]\nLanguageName = 'English'\n[languages.fr]\n",
        "content/about.md": "---\ntitle: About\n---\n",
        "content/about.en.md": "---\ntitle: About again\n---\n",
    })
    code, out, _ = run_import(source, tmp_path / "new", capsys)
    assert code == 0
    data = site_toml(tmp_path / "new")
    assert (data["base_url"], data["title"]) == ("https://x.example/", "X")
    assert list(data["languages"]) == ["en", "fr"]
    assert "content/about.en.md and content/about.md would both become content/en/about.md" \
        in out
    assert "content/ was copied as it is" in out and "3 files copied as they are" not in out
    assert tree(tmp_path / "new" / "content") == tree(source / "content")


def test_front_matter_with_aliases_is_reported_and_copied(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = "---\na: &a [x, x, x]\nb: [*a, *a, *a]\nc: [*b, *b, *b]\n---\nBody\n"
    source = write_site(tmp_path / "hugo", {"hugo.toml": "", "content/bomb.md": bomb})
    code, out, _ = run_import(source, tmp_path / "new", capsys)
    assert code == 0
    assert "content/bomb.md: front matter not read" in out and "aliases" in out
    assert (tmp_path / "new" / "content" / "en" / "bomb.md").read_text() == bomb


# --- the real Docsy example ---------------------------------------------------------

@pytest.fixture(scope="module")
def docsy_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not (DOCSY / "content").is_dir():
        pytest.skip("../shared/corpus/real/docsy-example is not beside the repo")
    target = tmp_path_factory.mktemp("docsy") / "site"
    lines: list[str] = []
    assert hugo.run(str(DOCSY), str(target), out=lines.append) == 0
    return target, "\n".join(lines)


@needs_docsy
def test_docsy_site_toml(docsy_import: tuple[Path, str]) -> None:
    data = site_toml(docsy_import[0])
    languages = data["languages"]
    assert list(languages) == ["en", "fa", "no"]
    assert [languages[code]["name"] for code in languages] == ["English", "فارسی", "Norsk"]
    assert not any("folder" in options for options in languages.values())
    assert (data["title"], data["default_language"]) == ("Goldydocs", "en")
    assert data["default_language_at_root"] is True
    assert languages["fa"]["title"] == "اسناد گلدی"
    assert [item["page"] for item in languages["en"]["menu"]] == ["about", "docs", "blog",
                                                                   "community"]
    assert [item["page"] for item in languages["fa"]["menu"]] == ["about", "docs", "blog",
                                                                   "community"]
    assert languages["no"]["menu"] == [{"name": "Dokumentasjon", "page": "docs"}]
    assert data["taxonomy"]["sections"]["docs"]["en"] == "Documentation"
    # the corpus's config.yaml has no params; those {{% param %}} uses need are left empty
    assert data["params"] == {"github_repo": "", "version": ""}
    text = (docsy_import[0] / "site.toml").read_text(encoding="utf-8")
    assert 'github_repo = ""  # content/en/_index.md:30' in text


@needs_docsy
def test_docsy_content_is_copied_as_it_is(docsy_import: tuple[Path, str]) -> None:
    search_pages = {f"{code}/search.md" for code in ("en", "fa", "no")}
    original = tree(DOCSY / "content")
    assert search_pages <= set(original)
    assert tree(docsy_import[0] / "content") == {
        name: data for name, data in original.items() if name not in search_pages}
    assert not (docsy_import[0] / "config.yaml").exists()
    for code in ("en", "fa", "no"):  # fa's says `layout: جستجو`: a translation of it
        assert f"content/{code}/search.md (layout: search): not copied" in docsy_import[1]


@needs_docsy
def test_docsy_builds_with_its_search_pages_made_by_newshub(
        docsy_import: tuple[Path, str], tmp_path: Path) -> None:
    site = tmp_path / "docsy"
    shutil.copytree(docsy_import[0], site)
    assert main(["build", "--site", str(site), "--no-cards", "--quiet"]) == 0
    assert (site / "output/index.html").is_file()
    if (site / "output/search/index.html").is_file():  # Pagefind installed
        for code in ("fa", "no"):
            assert (site / "output" / code / "search/index.html").is_file()


@needs_docsy
def test_docsy_shortcodes_report_and_templates(docsy_import: tuple[Path, str]) -> None:
    target, output = docsy_import
    folder = target / "themes" / "default" / "shortcodes"
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))
    assert written == ["_param.html", "alert.html", "blocks/cover.html", "blocks/feature.html",
                       "blocks/lead.html", "blocks/link-down.html", "blocks/section.html",
                       "imgproc.html", "pageinfo.html", "td/site-build-info/netlify.html"]
    for name in ("blocks/cover (Docsy's, paired, 5 uses", "pageinfo (Docsy's, paired, 13 uses",
                 "imgproc (Docsy's, paired, 2 uses"):
        assert name in output, name
    assert "1 shortcode newshub has built in: param" in output
    cover = lxml.html.fragment_fromstring(render(
        folder / "blocks/cover.html", params={"title": "About Goldydocs"}, inner="x",
        inner_html="<p>Intro</p>"))
    assert (cover.tag, cover.findtext("h2"), cover.findtext("p")) == \
        ("header", "About Goldydocs", "Intro")
    feature = lxml.html.fragment_fromstring(render(
        folder / "blocks/feature.html", params={"title": "New!", "url": "https://x.example/"},
        inner="x", inner_html="<p>Chairs</p>"))
    assert feature.find("h3/a").get("href") == "https://x.example/"
    info = lxml.html.fragment_fromstring(render(
        folder / "pageinfo.html", params={"color": "warning td-max-width"}, inner="x",
        inner_html="<p>Placeholder</p>"))
    assert info.get("class") == "pageinfo pageinfo-warning"
    described = render(folder / "_param.html", args=["description"],
                       page=Page("en", "", {"description": "Porridge &mdash; *hot*"}))
    assert described.strip() == "Porridge &mdash; <em>hot</em>"
    assert render(folder / "_param.html", args=["btn-lg", "primary"], page=Page("en", "")) \
        .strip() == ""
    imgproc = (folder / "imgproc.html").read_text(encoding="utf-8")
    assert '"en:blog/news/first-post:sunset": "featured-pexels-peter-xie-sunset-' in imgproc
    for expected in ("param github_repo at content/en/_index.md:30",
                     "imgproc sunset at content/fa/blog/news/first-post/index.md:20",
                     "content/no/docs/cloud-computing/in-depth-go-detailed-spec.md: no front "
                     "matter", "module: Hugo modules"):
        assert expected in output, expected


@needs_docsy
def test_docsy_twice_is_identical(docsy_import: tuple[Path, str], tmp_path: Path) -> None:
    lines: list[str] = []
    assert hugo.run(str(DOCSY), str(tmp_path / "again"), out=lines.append) == 0
    assert tree(tmp_path / "again") == tree(docsy_import[0])
