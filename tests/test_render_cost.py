"""What rendering a page costs beyond its template's own code, counted rather than timed:
work the same for every page is done once per process, not once per page (#20)."""

from __future__ import annotations

import collections
import secrets

import jinja2.utils
import pytest

from generator import csp
from generator.build import plan
from generator.model import Site
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
