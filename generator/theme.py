"""The theme and interface catalogs a site builds with, found through one lookup.

A site's own ``themes/<name>/`` comes first, then the theme installed with newshub,
then the installed default theme: the first layer holding a file wins, so a site
replaces ``templates/article.html`` or ``static/style.css`` and inherits the rest.
Catalogs layer the same way, string by string: a site's ``locales/`` translates what
it wants to change and the bundled catalogs give everything else.

The bundled folders ship inside the package (``generator/themes``, ``generator/locales``,
mapped from the repository's top-level ``themes/`` and ``locales/`` by pyproject.toml);
in a source checkout they are the repository's own folders.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from generator.config import SiteConfig
from generator.files import is_noise

DEFAULT_THEME = "default"
THEME_FOLDERS = ("templates", "static", "fonts", "shortcodes")


def _bundled_root() -> Path:
    package = Path(__file__).resolve().parent
    return package if (package / "themes").is_dir() else package.parent


BUNDLED_ROOT = _bundled_root()
BUNDLED_THEMES = BUNDLED_ROOT / "themes"
BUNDLED_LOCALES = BUNDLED_ROOT / "locales"


def theme_candidates(config: SiteConfig) -> tuple[Path, ...]:
    """Where the theme's layers are or would be, most specific first: the site's, the
    installed theme of that name, the installed default theme."""
    return (config.root / "themes" / config.theme, BUNDLED_THEMES / config.theme,
            BUNDLED_THEMES / DEFAULT_THEME)


def theme_layers(config: SiteConfig) -> tuple[Path, ...]:
    """The theme's folders that exist, most specific first (each once)."""
    return _distinct(theme_candidates(config))


def theme_folders(config: SiteConfig, kind: str) -> tuple[Path, ...]:
    """One kind of theme folder (``templates``, ``static``, ``fonts``) in every layer."""
    return tuple(folder for layer in theme_layers(config)
                 if (folder := layer / kind).is_dir())


def theme_files(config: SiteConfig, kind: str) -> Mapping[str, Path]:
    """Each file of a theme folder kind, by its name inside the folder ('/'-separated),
    from the first layer that has it; sorted by name. Dotfiles are skipped."""
    found: dict[str, Path] = {}
    for folder in theme_folders(config, kind):
        for path in folder.rglob("*"):
            name = path.relative_to(folder).as_posix()
            if name not in found and path.is_file() and not _hidden(name):
                found[name] = path
    return dict(sorted(found.items()))


def site_locales(config: SiteConfig) -> Path:
    """The site's own catalogs folder: the one ``newshub i18n`` writes."""
    return config.root / "locales"


def locale_layers(config: SiteConfig) -> tuple[Path, ...]:
    """Catalog folders, the site's first (its strings win), then the bundled ones."""
    return _distinct((site_locales(config), BUNDLED_LOCALES))


def is_bundled(path: Path) -> bool:
    """Whether a file or folder is part of what newshub ships (not the site's own)."""
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve())
               for root in (BUNDLED_THEMES, BUNDLED_LOCALES) if root.is_dir())


def _distinct(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    seen: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            seen.setdefault(path.resolve(), path)
    return tuple(seen.values())


def _hidden(name: str) -> bool:
    """Dotfiles, editor backups and OS files are never the theme's (``files.is_noise``)."""
    return any(is_noise(part) for part in name.split("/"))
