"""Files published as they are: theme assets (fingerprinted), site ``static/``,
images beside the Markdown and page-bundle resources.

Raster images are the exception: they are published re-encoded without metadata
(see ``generator.imaging``), since a photo's EXIF can tell where it was taken."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path

from generator import imaging
from generator.config import SiteConfig
from generator.deps import digest, file_stamp
from generator.files import PUBLISHED_DOTFOLDERS, walk
from generator.model import Site
from generator.render import Job
from generator.theme import theme_files

FINGERPRINTED = {".css", ".js"}
ASSET_PREFIX = "/assets/"


def theme_assets(config: SiteConfig) -> Mapping[str, str]:
    """Theme static file name → URL; CSS and JS names carry a content hash so
    browsers may cache them for a year without ever serving a stale copy."""
    return {name: config.path_prefix + site_path for name, site_path, _ in _theme_files(config)}


def theme_jobs(config: SiteConfig) -> dict[str, Job]:
    """The theme's static files as jobs, by output path (``newshub serve`` answers
    them before its first build has linked the site)."""
    publish = partial(_publish, imaging.cache_dir(config, "images"))
    return {site_path.lstrip("/"): publish(site_path.lstrip("/"), source)
            for _name, site_path, source in _theme_files(config)}


def plan(site: Site, assets: Mapping[str, str]) -> Iterator[Job]:
    config = site.config
    publish = partial(_publish, imaging.cache_dir(config, "images"))
    yield from theme_jobs(config).values()
    site_static = config.root / "static"
    for source in _files(site_static, config.root):
        yield publish(source.relative_to(site_static).as_posix(), source)
    for asset in site.assets:
        yield publish(asset.path.lstrip("/"), asset.source)
    for page in site.pages.values():
        for resource in page.resources:
            yield publish(page.path.lstrip("/") + resource.name, resource)


def _publish(folder: Path, path: str, source: Path) -> Job:
    """Copy a file, or re-encode a raster image without its EXIF and XMP."""
    if not imaging.is_raster(source):
        return copy(path, source)
    return Job(path, "static", produce=partial(imaging.published_bytes, source, folder),
               key=imaging.published_key(source))


def copy(path: str, source: Path) -> Job:
    """A file published as it is; up to date while its size and mtime are unchanged."""
    return Job(path, "static", source=source, key=digest("copy", file_stamp(source)))


def _theme_files(config: SiteConfig) -> Iterator[tuple[str, str, Path]]:
    """The theme's static files (each from the first layer that has it), with the site
    path each is published at."""
    for name, source in theme_files(config, "static").items():
        target = name
        if source.suffix in FINGERPRINTED:
            content = hashlib.sha256(source.read_bytes()).hexdigest()[:10]
            target = f"{name[: -len(source.suffix)]}.{content}{source.suffix}"
        yield name, ASSET_PREFIX + target, source


def _files(folder: Path, site: Path | None) -> list[Path]:
    """The folder's files without noise, or links out of the ``site`` (the load phase
    reported those as errors)."""
    return [Path(directory, name)
            for directory, _folders, files in walk(folder, site, [], keep=PUBLISHED_DOTFOLDERS)
            for name in files]
