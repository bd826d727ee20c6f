"""A link checker over whole builds: every internal link, image, stylesheet and
hreflang alternate resolves to a file, and alternates are reciprocal."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

from tests.conftest import Built


def internal_targets(built: Built, page: str) -> list[str]:
    doc = built.html(page)
    refs = doc.xpath("//a/@href | //link/@href | //img/@src | //script/@src")
    for srcset in doc.xpath("//img/@srcset | //source/@srcset"):
        refs.extend(candidate.split()[0] for candidate in srcset.split(",") if candidate.strip())
    host = None
    canonical = doc.xpath('//link[@rel="canonical"]/@href')
    if canonical:
        host = urlsplit(canonical[0]).netloc
    found = []
    for ref in refs:
        parts = urlsplit(ref)
        if parts.scheme in ("mailto", "tel") or (parts.netloc and parts.netloc != host):
            continue
        if not parts.path:
            continue
        found.append(parts.path if parts.path.startswith("/") else
                     "/" + page.rsplit("/", 1)[0] + "/" + parts.path)
    return found


def resolves(built: Built, path: str) -> bool:
    target = built.output / unquote(path).lstrip("/")
    return (target / "index.html").is_file() if path.endswith("/") else target.is_file()


@pytest.mark.parametrize("name", ["multilingual", "example"])
def test_every_internal_reference_resolves(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    assert built.code == 0
    broken = [(page, target) for page in built.files() if page.endswith(".html")
              for target in internal_targets(built, page) if not resolves(built, target)]
    assert broken == []


@pytest.mark.parametrize("name", ["multilingual", "example"])
def test_hreflang_groups_are_reciprocal(name: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(name)
    groups = {}
    for page in built.files():
        if not page.endswith("index.html"):
            continue
        doc = built.html(page)
        links = {(a.get("hreflang"), a.get("href"))
                 for a in doc.xpath('//head/link[@rel="alternate"][@hreflang]')}
        canonical = doc.xpath('//link[@rel="canonical"]/@href')[0]
        groups[canonical] = links
    for canonical, links in groups.items():
        if ("x-default", canonical) not in links:  # the root chooser is only x-default
            assert any(href == canonical for lang, href in links if lang != "x-default"), \
                canonical
        for lang, href in links:
            if lang != "x-default":
                assert groups.get(href) == links, f"{canonical} → {href} ({lang})"
