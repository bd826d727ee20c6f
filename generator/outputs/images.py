"""Responsive images: each bundle image, and each front-matter image from ``static/``,
resized to a few widths in WebP and in its own format (see ``generator.imaging``).

The pages name these files through ``imaging.picture`` while they render; this
module lists the same files as jobs, each made lazily and cached.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial

from generator import imaging
from generator.model import Site
from generator.render import Job


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    folder = imaging.cache_dir(site.config, "images")
    for found in pictures_of(site).values():
        for rendition in found.renditions:
            yield Job(rendition.path.lstrip("/"), "image",
                      produce=partial(imaging.rendition_bytes, rendition.source,
                                      rendition.width, rendition.format, folder),
                      key=imaging.rendition_key(rendition))


def pictures_of(site: Site) -> dict[str, imaging.Picture]:
    """Every image that gets renditions, once each, by its site path."""
    found: dict[str, imaging.Picture] = {}
    for page in site.pages.values():
        found.update((p.path, p) for p in imaging.bundle_pictures(page).values())
        source = imaging.image_source(site.config, page)
        if source is not None and page.image not in found:
            shown = imaging.picture(source, page.image)
            if shown is not None:
                found[page.image] = shown
    return found
