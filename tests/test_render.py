"""The render phase's Jinja environments give exactly what stock Jinja gives, faster."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest
from jinja2.ext import i18n as I18nExtension

from generator import csp, i18n, render
from generator.build import plan
from generator.config import load_config
from generator.link import link_site
from generator.load import load_site
from generator.render import Renderer
from generator.theme import locale_layers
from tests.conftest import REPO


def stock_environment(renderer: Renderer, lang: str) -> jinja2.Environment:
    """A plain Jinja environment set up like the renderer's, without its fast paths."""
    fast = renderer.environment(lang)
    stock = jinja2.Environment(loader=fast.loader, autoescape=True,
                               undefined=jinja2.StrictUndefined, extensions=[I18nExtension],
                               trim_blocks=True, lstrip_blocks=True)
    stock.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations_for(locale_layers(renderer.config), lang), newstyle=True)
    stock.globals.update(fast.globals)
    stock.filters.update(fast.filters)
    return stock


def test_every_page_of_the_example_matches_stock_jinja() -> None:
    config = load_config(REPO, share_cards=False)
    loaded = load_site(config)
    site, _problems = link_site(config, loaded.pages, loaded.assets)
    jobs, _assets = plan(site)
    renderer = Renderer(config)
    stock = {code: stock_environment(renderer, code) for code in config.language_codes}
    checked = 0
    for job in jobs:
        if not job.template:
            continue
        context = job.context() if callable(job.context) else job.context
        lang = job.lang or config.default_language
        with csp.collecting() as scripts:  # the policy's hashes, filled in as render does
            expected = csp.complete(stock[lang].get_template(job.template).render(context),
                                    scripts)
        assert renderer.render(job).decode() == expected, job.path
        checked += 1
    assert checked > 100


def test_the_fast_paths_are_in_use() -> None:
    """If a Jinja release renamed what they hook into, output would stay right but slow:
    this notices."""
    env = Renderer(load_config(REPO)).environment("fr")
    template = env.from_string('{{ _("Donate") }} {{ x }}')
    assert template.root_render_func.__globals__["escape"] is render._escaped
    code = env.compile('{{ _("Donate") }}', raw=True)
    assert "Faire un don" in code and "context.call" not in code


@pytest.mark.parametrize("value", [
    "a < b & \"c\" 'd'", "plain", 5, 2.5, None, jinja2.utils.markupsafe.Markup("<b>ok</b>"),
])
def test_escaping_matches_markupsafe(value: object) -> None:
    env = Renderer(load_config(REPO)).environment("en")
    assert env.from_string("{{ v }}").render(v=value) == str(jinja2.utils.markupsafe.escape(value))


def test_a_template_defining_its_own_underscore_keeps_it() -> None:
    env = Renderer(load_config(REPO)).environment("fr")
    for source in ('{% macro _(m) %}[{{ m }}]{% endmacro %}{{ _("Donate") }}',
                   '{% set _ = gettext %}{{ _("Donate") }}',
                   '{% for _ in ["x"] %}{{ _ }}{% endfor %}{{ gettext("Donate") }}'):
        assert env.from_string(source).render() == stock_environment(
            Renderer(load_config(REPO)), "fr").from_string(source).render()
    assert env.from_string('{% macro _(m) %}[{{ m }}]{% endmacro %}{{ _("Donate") }}'
                           ).render() == "[Donate]"


def test_translations_with_variables_and_percent_signs_stay_right() -> None:
    env = Renderer(load_config(REPO)).environment("en")
    assert env.from_string('{{ _("100%% <b>sure</b>") }}').render() == "100% <b>sure</b>"
    assert env.from_string('{{ _("Topic: %(name)s", name="<x>") }}').render() == \
        "Topic: &lt;x&gt;"
    assert env.from_string("{% trans %}Donate{% endtrans %}").render() == "Donate"


def test_compiled_templates_are_kept_per_language_and_catalog(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(REPO / "locales", site / "locales")
    shutil.copytree(REPO / "themes", site / "themes")
    (site / "site.toml").write_text((REPO / "site.toml").read_text(encoding="utf-8"),
                                    encoding="utf-8")
    compiled = tmp_path / "compiled"
    source = '{{ _("Donate") }}'
    (site / "themes/default/templates/probe.html").write_text(source, encoding="utf-8")

    def probe(lang: str) -> str:
        renderer = Renderer(load_config(site), compiled=compiled)
        return renderer.environment(lang).get_template("probe.html").render()

    assert (probe("fr"), probe("es")) == ("Faire un don", "Donar")
    assert probe("fr") == "Faire un don"  # read back from the cache
    assert {folder.name for folder in compiled.iterdir()} >= {"fr", "es"}
    catalog = site / "locales/fr/LC_MESSAGES/messages.po"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace(
        'msgstr "Faire un don"', 'msgstr "Donner"'), encoding="utf-8")
    assert probe("fr") == "Donner"
    assert len(list((compiled / "fr").iterdir())) == 1  # the stale copy is gone


def test_attribute_lookups_behave_as_in_jinja() -> None:
    env = Renderer(load_config(REPO)).environment("en")
    stock = stock_environment(Renderer(load_config(REPO)), "en")

    class Thing:
        name = "thing"

        @property
        def broken(self) -> str:
            raise AttributeError("inside")

    cases = ["{{ d.key }}", "{{ t.name }}", "{{ d.missing is defined }}",
             "{{ t.broken is defined }}", "{{ (d.nested or {}).x is defined }}",
             "{{ t.name.upper() }}", "{% for k in d.items() %}{{ k[0] }}{% endfor %}"]
    values = {"d": {"key": "value", "nested": {"x": 1}}, "t": Thing()}
    for source in cases:
        assert env.from_string(source).render(values) == \
            stock.from_string(source).render(values), source
    assert "getattr((" in env.compile("{{ t.name }}", raw=True)
    with pytest.raises(jinja2.UndefinedError, match="has no attribute 'missing'"):
        env.from_string("{{ t.missing }}").render(values)
