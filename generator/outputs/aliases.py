"""Old addresses that still lead somewhere: a page's front-matter ``aliases``.

Each alias becomes a small page at that address (a refresh to the page, its canonical
link, a visible link, ``noindex``, never in the sitemap), so any static host keeps old
links working; ``/_redirects`` lists them too, for hosts that read it (Netlify,
Cloudflare Pages) and answer with a real 301. An address with a query (WordPress's
``/?p=123``) cannot be a file, nor should one naming another kind of file
(``/feed.xml``): they are only in ``_redirects``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import partial

from generator.deps import digest
from generator.model import Page, Site, url_to_output_path
from generator.render import Job
from generator.views import absolute, url

REDIRECTS = "_redirects"


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    lines = []
    seen: set[str] = set()  # versions of a story may share one: the first language's wins
    for page in site.pages.values():  # in the site's language order
        if not page.aliases or not page.render:
            continue
        target = url(site.config, page.path)
        fresh = [alias for alias in dict.fromkeys(page.aliases) if alias not in seen]
        seen.update(fresh)
        for alias in fresh:
            path, _, query = alias.partition("?")
            lines.append(f"{url(site.config, path)}{' ' + query if query else ''} {target} 301")
        yield from _redirect_pages(site, page, fresh)
    if lines:
        yield Job(REDIRECTS, "alias", data=("\n".join(lines) + "\n").encode("utf-8"),
                  key=digest("redirects", tuple(lines)))


def showing(site: Site, assets: Mapping[str, str], pages: tuple[Page, ...]) -> Iterator[Job]:
    """The redirect pages of the edited pages' aliases (each shows its page's title);
    ``_redirects`` names addresses only. An alias its story's version in an earlier
    language also has is that version's."""
    order = {code: index for index, code in enumerate(site.config.language_codes)}
    for page in pages:
        if not page.aliases or not page.render:
            continue
        earlier = (site.pages[pid] for pid in site.translations.get(page.translation_key, ())
                   if pid != page.id)
        taken = {alias for version in earlier if version.render and
                 order[version.lang] < order[page.lang] for alias in version.aliases}
        yield from _redirect_pages(site, page, [alias for alias in dict.fromkeys(page.aliases)
                                                if alias not in taken])


def _redirect_pages(site: Site, page: Page, aliases: Iterable[str]) -> Iterator[Job]:
    """The redirect pages standing at ``aliases`` of ``page`` (an address with a query,
    or of another kind of file, is only in ``_redirects``)."""
    for alias in aliases:
        path = alias.partition("?")[0]
        if "?" in alias or not _page_address(path):
            continue
        yield Job(url_to_output_path(_as_page_path(path)), "alias", page.lang, "alias.html",
                  partial(_context, site, page), key=digest("alias", page.path, page.title,
                                                            page.lang))


def output_paths(page: Page) -> set[str]:
    """The redirect pages a page's aliases make (an address with a query makes none)."""
    return {url_to_output_path(_as_page_path(alias)) for alias in page.aliases
            if "?" not in alias and _page_address(alias)}


def _page_address(path: str) -> bool:
    """Whether a redirect page can stand at ``path``: a folder or an .html file. An old
    address of another kind (/feed.xml, /index.php) is only in ``_redirects``: HTML in
    a file of that name would be served as what its name says."""
    last = path.rsplit("/", 1)[-1]
    return "." not in last or last.lower().endswith((".html", ".htm"))


def _as_page_path(path: str) -> str:
    """``/old`` → ``/old/`` (a folder with its index.html); ``/old.html`` stays."""
    last = path.rsplit("/", 1)[-1]
    return path if path.endswith("/") or "." in last else path + "/"


def _context(site: Site, page: Page) -> dict:
    language = site.config.language(page.lang)
    return {"lang": page.lang, "direction": language.direction, "title": page.title,
            "target": url(site.config, page.path), "canonical": absolute(site.config, page.path)}
