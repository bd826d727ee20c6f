"""What rendering a page costs beyond its template's own code, counted rather than timed:
work the same for every page is done once per process, not once per page (#20)."""

from __future__ import annotations

import collections
import dataclasses
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import BuiltinFunctionType, FunctionType
from urllib.parse import quote

import jinja2.runtime
import jinja2.utils
import pytest

from generator import csp, render, views
from generator.build import plan
from generator.config import load_config
from generator.model import Page, Site
from generator.render import Job, Renderer
from tests.conftest import FIXTURES, linked_site


@pytest.fixture(scope="module")
def site() -> Site:
    return linked_site(FIXTURES / "multilingual")


@pytest.fixture(scope="module")
def jobs(site: Site) -> list[Job]:
    planned, _assets = plan(site)
    return [job for job in planned if job.kind in ("page", "listing") and job.template]


def test_a_render_copies_no_chain_of_globals(site: Site, jobs: list[Job],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each render and each ``{% include %}`` copies the template's globals into a new
    context: as Jinja's ``ChainMap`` that copy was walked in Python (a tenth of an
    article's render); the templates' globals are a plain dict."""
    renderer = Renderer(site.config)
    expected = [renderer.render(job) for job in jobs]

    def refused(_self: collections.ChainMap) -> None:
        raise AssertionError("a ChainMap of globals was walked")

    monkeypatch.setattr(collections.ChainMap, "__iter__", refused)
    assert [renderer.render(job) for job in jobs] == expected


def test_an_include_finds_its_template_without_the_locking_cache(
        site: Site, jobs: list[Job], monkeypatch: pytest.MonkeyPatch) -> None:
    """Jinja's default template cache takes a lock and reorders itself on every
    ``{% include %}`` (three an article); the renderer's environments keep a plain dict."""
    renderer = Renderer(site.config)
    expected = [renderer.render(job) for job in jobs]

    def refused(*_args: object) -> None:
        raise AssertionError("the LRU cache was asked for a template")

    monkeypatch.setattr(jinja2.utils.LRUCache, "get", refused)
    monkeypatch.setattr(jinja2.utils.LRUCache, "__getitem__", refused)
    assert [renderer.render(job) for job in jobs] == expected


def test_the_policy_placeholder_is_drawn_once_per_process(
        site: Site, jobs: list[Job], monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing a random placeholder for each page was a system call each; one drawn per
    process is as unknown to the site's text, which was written before it."""
    drawn: list[int] = []
    real = secrets.token_hex

    def counted(size: int) -> str:
        drawn.append(size)
        return real(size)

    monkeypatch.setattr(secrets, "token_hex", counted)
    csp._token.cache_clear()
    renderer = Renderer(site.config)
    pages = [renderer.render(job).decode() for job in jobs]
    assert len(pages) > 10 and len(drawn) == 1
    assert all(csp._token() not in page and "newshub-csp-" not in page for page in pages)


def _archive(root: Path, stories: int) -> Site:
    """Stories in two languages, two sections and up to three tags, hours apart."""
    root.mkdir(parents=True)
    (root / "site.toml").write_text('base_url = "https://hub.example.org/"\ntitle = "Hub"\n'
                                    'default_language = "en"\npaginate = 3\n[languages.en]\n'
                                    '[languages.fr]\n', encoding="utf-8")
    for number in range(stories):
        lang, section = ("en", "fr")[number % 2], ("news", "opinion")[number % 3 == 0]
        tags = ", ".join(("water", "health", "schools")[:1 + number % 3])
        date = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=7 * number)
        story = root / "content" / lang / section / f"story-{number:03d}.md"
        story.parent.mkdir(parents=True, exist_ok=True)
        story.write_text(f"---\ntitle: Story {number}\ndate: {date.isoformat()}\n"
                         f"tags: [{tags}]\n---\n\nText.\n", encoding="utf-8")
    return linked_site(root)


def test_a_story_s_view_is_made_once_for_all_the_lists_that_show_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lists are planned in the order of their newest story, so a story's home, section
    and tag lists are rendered close together: a worker keeping only its newest views
    (``views.VIEWS_KEPT``, small beside 100,000 stories) makes each view once, not once
    per list showing it."""
    site = _archive(tmp_path / "site", 120)
    planned, _assets = plan(site)
    lists = [job for job in planned if job.kind == "listing" and job.template == "list.html"]
    made: collections.Counter[str] = collections.Counter()
    real = views._page_view

    def counted(site: Site, page: Page) -> views.PageView:
        made[page.id] += 1
        return real(site, page)

    monkeypatch.setattr(views, "VIEWS_KEPT", 40)
    monkeypatch.setattr(views, "_page_view", counted)
    shown = [item.id for job in lists for item in job.context()["listing"].items]
    assert len(shown) > 3 * len(set(shown)) > 300  # each story is on several lists
    assert set(made) == set(shown) and max(made.values()) == 1


def test_pages_of_a_language_share_its_navigation_and_menu(site: Site,
                                                           jobs: list[Job]) -> None:
    """The sections bar and the menu are made once per language and current entry (an
    article is in neither), not once per page."""
    contexts = [job.context() for job in jobs if job.kind == "page"]
    for lang in site.config.language_codes:
        mine = [c for c in contexts if c["lang"].code == lang and not any(
            link.current for link in (*c["nav"], *c["menu"]))]
        assert len(mine) > 1
        assert all(c["nav"] is mine[0]["nav"] and c["menu"] is mine[0]["menu"] for c in mine)
    sections = [job.context() for job in jobs if job.kind == "listing"]
    current = [c["nav"] for c in sections if any(link.current for link in c["nav"])]
    assert current, "a section's own list marks it in the sections bar"


def test_share_links_are_percent_encoded_as_urllib_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A title and address are encoded for seven links through one table, not by
    ``urllib.parse.quote`` (a Python call per byte): the same text."""
    samples = ["Plain", "Water & health: 50% more?", "مياه الشرب في غزة", "中文 標題",
               "émigré — “quotes” ~_.-", "a/b?c=d#e", "😀 emoji", "tab\tnew\nline", ""]
    expected = {text: quote(text, safe="") for text in samples}
    views._q.cache_clear()
    monkeypatch.setattr(views, "quote", None)  # no longer needed to share a page
    assert {text: views._q(text) for text in samples} == expected
    link = views.share_links("Eau & santé", "https://hub.example.org/fr/x/")[0]
    assert link.url == "https://wa.me/?text=Eau%20%26%20sant%C3%A9%20https%3A%2F%2Fhub." \
                       "example.org%2Ffr%2Fx%2F"


def test_plain_calls_skip_jinja_s_marker_lookup(site: Site, jobs: list[Job],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``page.date.isoformat()``, ``_()`` with variables, macros and functions taking the
    context (``script_hashes()``) or the evaluation context (``ngettext``) are called
    directly; only what may carry another marker goes through Jinja's ``Context.call``."""
    renderer = Renderer(site.config)
    expected = [renderer.render(job) for job in jobs]
    asked: list[object] = []
    real = jinja2.runtime.Context.call

    def recorded(self: jinja2.runtime.Context, obj: object, *args: object,
                 **kwargs: object) -> object:
        asked.append(obj)
        return real(self, obj, *args, **kwargs)

    monkeypatch.setattr(jinja2.runtime.Context, "call", recorded)
    assert [renderer.render(job) for job in jobs] == expected
    direct = [obj for obj in asked if isinstance(obj, BuiltinFunctionType | jinja2.runtime.Macro)
              or (isinstance(obj, FunctionType) and getattr(obj, "jinja_pass_arg", None) in (
                  None, jinja2.utils._PassArg.context, jinja2.utils._PassArg.eval_context))]
    assert not direct, direct[:3]
    environment = renderer.environment("en")
    source = "{{ script_hashes() }}{% trans count=n %}{{ count }} x{% pluralize %}{{ count }} xs" \
             "{% endtrans %}{{ env() }}"
    values = {"n": 2, "env": jinja2.pass_environment(lambda env: type(env).__name__)}
    assert environment.from_string(source).render(values) == "'none'2 xs_Environment"
    assert [getattr(obj, "__name__", "") for obj in asked] == ["<lambda>"]  # (pass_environment)


def test_direct_calls_behave_as_jinja_s() -> None:
    environment = Renderer(load_config(FIXTURES / "multilingual")).environment("en")

    @jinja2.pass_context
    def who(context: jinja2.runtime.Context) -> str:
        return context["name"]

    def stop() -> None:
        raise StopIteration

    @jinja2.pass_context
    def seen(context: jinja2.runtime.Context, name: str) -> str:
        return str(context.get(name))

    @jinja2.pass_eval_context
    def escaping(eval_context: jinja2.nodes.EvalContext) -> str:
        return str(eval_context.autoescape)

    source = ("{% macro m(x, y=2) %}{{ x }}{{ y }}{% endmacro %}{{ m(1) }} {{ who() }} "
              "{{ plain(3, k=4) }} {{ stop() is undefined }} {{ d.isoformat() }} "
              "{% for i in [1] %}{{ m(i, y=who()) }}{% set w = 3 %}{{ seen('w') }}{% endfor %} "
              "{% set b = 5 %}{{ seen('b') }} {{ escaping() }}"
              "{% autoescape false %}{{ escaping() }}{% endautoescape %}")
    values = {"who": who, "plain": lambda n, k: n * k, "stop": stop, "name": "Ana",
              "d": datetime(2026, 1, 2, tzinfo=UTC), "seen": seen, "escaping": escaping}
    assert environment.from_string(source).render(values) == \
        "12 Ana 12 True 2026-01-02T00:00:00+00:00 1Ana3 5 TrueFalse"  # (as Jinja's)
    block = "{% block main %}{% set v = 7 %}{{ seen('v') }}{% endblock %}"
    assert environment.from_string(block).render(values) == "7"  # (a block's own variables)


def test_translations_and_c_methods_skip_the_context_s_call(
        site: Site, jobs: list[Job], monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's ``_`` (five share labels an article) and C methods such as
    ``page.date.isoformat()`` are called without ``Context.call``; a ``_`` of the page's
    own, or a method written in Python, still goes through it."""
    renderer = Renderer(site.config)
    expected = [renderer.render(job) for job in jobs]
    asked: list[object] = []
    real = render._Context.call

    def recorded(self: jinja2.runtime.Context, obj: object, *args: object,
                 **kwargs: object) -> object:
        asked.append(obj)
        return real(self, obj, *args, **kwargs)

    monkeypatch.setattr(render._Context, "call", recorded)
    assert [renderer.render(job) for job in jobs] == expected
    environment = renderer.environment("en")
    assert asked and not any(obj is environment.globals["_"] or (
        isinstance(obj, BuiltinFunctionType) and obj.__name__ == "isoformat") for obj in asked)

    class Day:
        def isoformat(self) -> str:
            return "own day"

    asked.clear()
    source = "{{ _('On %(d)s', d=day.isoformat()) }}|{{ when.isoformat() }}"
    template = environment.from_string(source)
    own = {"day": Day(), "when": datetime(2026, 1, 2, tzinfo=UTC)}
    assert template.render(own) == "On own day|2026-01-02T00:00:00+00:00"
    assert template.render({**own, "_": lambda text, **values: "mine"}) == \
        "mine|2026-01-02T00:00:00+00:00"
    assert [type(obj).__name__ for obj in asked] == ["method", "method", "function"]


def test_a_list_renders_its_stories_without_a_macro_call_each(
        site: Site, jobs: list[Job], monkeypatch: pytest.MonkeyPatch) -> None:
    """The default theme's list writes each story in its loop: a macro call per story
    (Jinja matches its arguments in Python) was a sixth of a list's template time."""
    renderer = Renderer(site.config)
    lists = [job for job in jobs if job.template == "list.html"]
    expected = [renderer.render(job) for job in lists]
    called: list[object] = []
    real = jinja2.runtime.Macro.__call__

    def counted(self: jinja2.runtime.Macro, *args: object, **kwargs: object) -> object:
        called.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.runtime.Macro, "__call__", counted)
    assert [renderer.render(job) for job in lists] == expected
    assert any(b"<article" in page for page in expected) and not called


THEME = {
    "layout.html": "<html>{% block main %}{% endblock %}{% include 'part.html' %}</html>",
    "part.html": "<p>{{ name }} · {{ _('Share') }}</p>{% set local = 1 %}{{ local }}",
    "page.html": "{% extends 'layout.html' %}{% block main %}<h1>{{ name|upper }}</h1>"
                 "{% for i in items %}<li>{{ i }}{% if loop.last %}!{% endif %}</li>{% endfor %}"
                 "{% trans count=items|length %}{{ count }} item{% pluralize %}{{ count }} items"
                 "{% endtrans %}{% filter upper %}<b>{{ name }}</b>{% endfilter %}"
                 "{% include 'part.html' %}{% endblock %}",
    "maybe.html": "{% if wrap %}{% extends 'layout.html' %}{% endif %}"
                  "<i>{{ name }}</i>{% block main %}[{{ name }}]{% endblock %}",
}


def _theme_environment(kind: type[jinja2.Environment]) -> jinja2.Environment:
    environment = kind(loader=jinja2.DictLoader(THEME), autoescape=True,
                       extensions=["jinja2.ext.i18n"])
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return environment


def test_joined_output_renders_as_jinja_s_piecewise_output() -> None:
    """Runs of text and values are yielded joined (one piece per run), and an include's
    and a block's output is handed up joined: the same page as stock Jinja, in fewer
    pieces."""
    ours, stock = _theme_environment(render._Environment), _theme_environment(jinja2.Environment)
    values = {"name": "<Ana>", "items": [1, 2], "wrap": True}
    for name in ("page.html", "part.html", "maybe.html"):
        for wrap in (True, False):
            context = {**values, "wrap": wrap}
            assert ours.get_template(name).render(context) == \
                stock.get_template(name).render(context)
    pieces = len(list(ours.get_template("page.html").generate(values)))
    assert pieces <= 14 < len(list(stock.get_template("page.html").generate(values)))


def _fragment_memos(renderer: Renderer, lang: str, name: str) -> list[render.Fragments]:
    namespace = renderer.template(lang, name).root_render_func.__globals__
    return [value for key, value in namespace.items() if key.startswith("fragment_")]


def test_a_story_is_written_once_for_the_lists_that_show_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A story's entry in a list reads its view and values every list of its language
    shares: written for its first list, it is found again for the others (a story is on
    its home, section and tag lists), and the lists are the same bytes."""
    site = _archive(tmp_path / "site", 120)
    planned, _assets = plan(site)
    lists = [job for job in planned if job.template == "list.html"]
    renderer = Renderer(site.config)
    remembered = [renderer.render(job) for job in lists]
    memos = _fragment_memos(renderer, "en", "list.html")
    assert memos and sum(memo.found for memo in memos) > 2 * sum(memo.missed for memo in memos)

    def closed(self: render.Fragments) -> None:
        real_init(self)
        self.open = False

    real_init = render.Fragments.__init__
    monkeypatch.setattr(render.Fragments, "__init__", closed)
    site.derived.clear()
    assert [Renderer(site.config).render(job) for job in lists] == remembered


def test_a_page_s_header_and_footer_are_written_once_per_language(site: Site,
                                                                  jobs: list[Job]) -> None:
    """The feeds, the header's brand and sections bar and the footer's links read values
    every page of a language shares (``views._language_context``): found again for each
    page after the first; what a page sets for itself (its alternates) is never kept."""
    renderer = Renderer(site.config)
    pages = [job for job in jobs if job.template == "article.html" and job.lang == "en"]
    for job in pages:
        renderer.render(job)
    memos = _fragment_memos(renderer, "en", "base.html")
    assert sum(memo.found >= len(pages) - 2 for memo in memos) >= 3
    assert not any(name in render.PER_OUTPUT for memo in memos
                   for values, _text in memo.made.values() for name in values
                   if isinstance(name, str))


REMEMBERED = {
    "runs.html": "{% set mark = '*' %}{% for x in xs %}<{{ x.name }}|{{ loop.index }}|"
                 "{% if x.flag %}{% set y = x.name|upper %}{{ y }}{% endif %}{{ mark }}>"
                 "{% endfor %}\n{% for x in xs %}[{{ x.name|e }} {{ x.when.isoformat() }} "
                 "{{ label }} {{ 'yes' if x.flag else 'no' }}]{% endfor %}\n"
                 "{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + 1 %}"
                 "({{ ns.n }} {{ x.name }} {{ x.name|length }}){% endfor %}\n"
                 "{% for x in xs %}{% set last = x.name %}{{ x.name }}{{ x.flag }}{% endfor %}"
                 "{{ last is defined }} {% include 'sets.html' %}{{ inner is defined }}",
    "sets.html": "{% set inner = 1 %}{{ label }}{{ inner }}",
}


def test_a_remembered_run_writes_what_jinja_writes() -> None:
    """Runs written through a memo are those whose text depends on the values they read
    alone: loop counters, namespaces, variables set for later and includes that set
    variables are written as stock Jinja writes them, render after render."""

    @dataclasses.dataclass(frozen=True)
    class Item:
        name: str
        flag: bool
        when: datetime

    def environment(kind: type[jinja2.Environment]) -> jinja2.Environment:
        made = kind(loader=jinja2.DictLoader(REMEMBERED), autoescape=True,
                    trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                    extensions=["jinja2.ext.i18n"])
        made.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
        made.pure_filters = render.PURE_FILTERS  # type: ignore[attr-defined]
        return made

    ours, stock = environment(render._Environment), environment(jinja2.Environment)
    day = datetime(2026, 3, 1, tzinfo=UTC)
    items = [Item("<a>", True, day), Item("b & c", False, day + timedelta(days=1))]
    for label, shown in (("one", items), ("two", items), ("one", items[::-1]),
                         ("one", [*items, Item("<a>", False, day)]), ("one", items)):
        context = {"xs": shown, "label": label}
        assert ours.get_template("runs.html").render(context) == \
            stock.get_template("runs.html").render(context)
    memos = [value for key, value in
             ours.get_template("runs.html").root_render_func.__globals__.items()
             if key.startswith("fragment_")]
    assert memos and any(memo.found for memo in memos)


def test_an_include_that_sets_nothing_runs_in_its_includer_s_context(
        site: Site, jobs: list[Job], monkeypatch: pytest.MonkeyPatch) -> None:
    """An article includes its policy, its share tags and its share links, none of which
    sets a variable: each runs in the page's context, not in a copy of it."""
    renderer = Renderer(site.config)
    articles = [job for job in jobs if job.template == "article.html"]
    expected = [renderer.render(job) for job in articles]
    made: list[str] = []
    real = jinja2.runtime.Context.__init__

    def counted(self: jinja2.runtime.Context, *args: object, **kwargs: object) -> None:
        made.append(str(args[2]) if len(args) > 2 else "")
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.runtime.Context, "__init__", counted)
    assert [renderer.render(job) for job in articles] == expected
    assert made == ["article.html"] * len(articles)


def test_a_list_s_count_is_translated_without_a_copy_of_its_context(
        site: Site, jobs: list[Job], monkeypatch: pytest.MonkeyPatch) -> None:
    """``{% trans count=… %}`` calls ``ngettext`` from a block that sets a variable:
    Jinja's took the template's context, copied with the block's variables for it."""
    renderer = Renderer(site.config)
    lists = [job for job in jobs if job.template == "list.html"]
    expected = [renderer.render(job) for job in lists]
    assert any(b'class="count"' in page for page in expected)

    def refused(*_args: object) -> None:
        raise AssertionError("a derived context was made")

    monkeypatch.setattr(jinja2.runtime.Context, "derived", refused)
    assert [Renderer(site.config).render(job) for job in lists] == expected


NAMES_THEME = {
    "layout.html": "{{ title }}|{{ shown is defined }}|{% block main %}{% endblock %}|"
                   "{{ absent is defined }}|{% include 'part.html' %}",
    "child.html": "{% extends 'layout.html' %}{% set shown = 'yes' %}"
                  "{% block main %}{{ shown }} {{ title }}{% endblock %}",
    "part.html": "{{ title }}{% for i in items %}{{ i }}{{ title }}{% endfor %}",
    "plain.html": "{{ title }}{% if absent is defined %}!{% endif %}{% include 'part.html' %}",
}


def test_names_are_looked_up_in_c_as_jinja_finds_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render's names are found with its dict's ``__getitem__`` (``_Names``) where the
    context has set none itself: a child's top-level ``set`` still reaches its layout,
    a name nobody gave is still undefined, as in stock Jinja."""
    def environment(kind: type[jinja2.Environment]) -> jinja2.Environment:
        made = kind(loader=jinja2.DictLoader(NAMES_THEME), autoescape=True,
                    extensions=["jinja2.ext.i18n"])
        made.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
        return made

    ours, stock = environment(render._Environment), environment(jinja2.Environment)
    values = {"title": "<T>", "items": [1, 2]}
    for name in ("child.html", "plain.html"):
        assert ours.get_template(name).render(values) == stock.get_template(name).render(values)
    asked: list[str] = []
    real = jinja2.runtime.Context.resolve_or_missing

    def recorded(self: jinja2.runtime.Context, key: str) -> object:
        asked.append(key)
        return real(self, key)

    monkeypatch.setattr(jinja2.runtime.Context, "resolve_or_missing", recorded)
    title = "&lt;T&gt;"
    assert ours.get_template("plain.html").render(values) == f"{title}{title}1{title}2{title}"
    assert asked == []
    ours.get_template("child.html").render(values)
    assert asked  # the layout runs after the child set a name: looked up as Jinja does


def test_blocks_and_includes_hand_their_output_up_joined() -> None:
    """A block's and an include's output goes up as one piece: each piece went up
    through every function around it (an article's body through three)."""
    ours = _theme_environment(render._Environment)
    values = {"name": "<Ana>", "items": [1, 2], "wrap": True}
    pieces = list(ours.get_template("page.html").generate(values))
    part = "<p>&lt;Ana&gt; · Share</p>1"
    assert pieces == ["<html>", f"<h1>&lt;ANA&gt;</h1><li>1</li><li>2!</li>2 items"
                      f"<B>&LT;ANA&GT;</B>{part}", part, "</html>"]


def test_a_template_is_found_again_without_jinja_s_loader(site: Site, jobs: list[Job],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Each include and layout is looked up at every render: by name in a plain dict,
    not through Jinja's ``_load_template`` (a weak reference and a key each time)."""
    renderer = Renderer(site.config)
    expected = [renderer.render(job) for job in jobs]

    def refused(*_args: object) -> None:
        raise AssertionError("Jinja's loader was asked again")

    monkeypatch.setattr(jinja2.Environment, "_load_template", refused)
    assert [renderer.render(job) for job in jobs] == expected


def test_the_views_are_whole_named_tuples(site: Site, jobs: list[Job]) -> None:
    """Views are made from tuples of their values (``views.made``): each has every field."""
    contexts = [job.context() for job in jobs]
    made = [c["page"] for c in contexts if "page" in c] + [c["share"] for c in contexts] + \
        [alternate for c in contexts for alternate in c["alternates"]] + \
        [link for c in contexts for link in c["share"].links] + \
        [c["listing"].pager for c in contexts if "listing" in c] + \
        [link for c in contexts if "listing" in c for link in c["listing"].pager.pages]
    assert {type(view) for view in made} == {views.PageView, views.Share, views.Alternate,
                                              views.ShareLink, views.Pager, views.Link}
    assert all(len(view) == len(type(view)._fields) for view in made)


def test_an_inline_script_is_hashed_and_written_once_per_process() -> None:
    """A theme's inline script is the same on every page: its hash and element are made
    once, and each page's policy still names it."""
    with csp.collecting() as first:
        element = csp.inline_script(None, jinja2.utils.markupsafe.Markup("go()"))
    with csp.collecting() as second:
        again = csp.inline_script(None, "go()")
    assert element is again and element == "<script>go()</script>"
    assert first.hashes == second.hashes == [csp.script_hash("go()")]
