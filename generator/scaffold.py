"""``newshub new``: start a post, or a draft translation of one, with valid front matter.

A translation is created at the same path under the other language's folder, so it
joins the source's translation group by default (a ``translation_key`` in the
source's front matter is copied with it); ``slug:`` gives it a translated URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from generator.config import CONFIG_FILE, SiteConfig
from generator.frontmatter import FrontMatterError, parse_front_matter
from generator.link import link_site
from generator.load import BAD_SLUG, load_site


class ScaffoldError(Exception):
    """The post cannot be created; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Created:
    """What ``new`` wrote: the Markdown file and any bundle files copied beside it."""

    file: Path
    copied: tuple[Path, ...] = ()


def new_post(config: SiteConfig, path: str, lang: str, *, source_lang: str | None = None,
             title: str | None = None, now: datetime | None = None) -> Created:
    """Write ``content/<lang>/<path>.md``; with ``source_lang``, a draft copy of that
    language's version. Never overwrites a file."""
    parts = _parts(path)
    require_language(config, lang)
    target = _free_target(config, lang, parts)
    if source_lang is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as handle:
            handle.write(_template(title or _title_from(parts[-1]), now or datetime.now()))
        return Created(target)
    require_language(config, source_lang)
    if source_lang == lang:
        raise ScaffoldError(f"--from {source_lang} is the language being written; "
                            "translate from another language")
    return _translate(config, parts, lang, source_lang, title)


def _parts(path: str) -> tuple[str, ...]:
    """``news/water-points`` (``.md`` and ``/index.md`` tolerated) as path segments."""
    text = path.strip().removesuffix(".md").removesuffix("/index")
    pure = PurePosixPath(text)
    if not text or pure.is_absolute() or "\\" in text:
        raise ScaffoldError(f"'{path}' is not a path like news/water-points (section/slug) "
                            "or about (a page)")
    for part in pure.parts:
        if BAD_SLUG.search(part) or ".." in part:
            raise ScaffoldError(f"'{part}' cannot be part of a URL: use letters, digits and "
                                "hyphens, without spaces, '..' or '?#%'")
    return pure.parts


def require_language(config: SiteConfig, code: str) -> None:
    """Stop with the fix when ``code`` is not one of the site's languages."""
    if code not in config.language_codes:
        raise ScaffoldError(f"unknown language '{code}': add [languages.{code}] to "
                            f"{CONFIG_FILE} (configured: {', '.join(config.language_codes)})")


def _candidates(config: SiteConfig, lang: str, parts: tuple[str, ...]) -> tuple[Path, Path]:
    folder = config.content_dir / lang
    return folder.joinpath(*parts[:-1], f"{parts[-1]}.md"), folder.joinpath(*parts, "index.md")


def _free_target(config: SiteConfig, lang: str, parts: tuple[str, ...]) -> Path:
    for existing in _candidates(config, lang, parts):
        if existing.exists():
            raise ScaffoldError(f"{_shown(config, existing)} already exists; edit it, or "
                                "choose another path (nothing was written)")
    return _candidates(config, lang, parts)[0]


def _translate(config: SiteConfig, parts: tuple[str, ...], lang: str, source_lang: str,
               title: str | None) -> Created:
    source = next((p for p in _candidates(config, source_lang, parts) if p.is_file()), None)
    if source is None:
        wanted = _shown(config, _candidates(config, source_lang, parts)[0])
        raise ScaffoldError(f"nothing to translate: {wanted} does not exist")
    _refuse_second_version(config, source, lang)
    text = _as_translation(source, title)
    if source.name != "index.md":
        target = _candidates(config, lang, parts)[0]
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as handle:
            handle.write(text)
        return Created(target)
    bundle = _candidates(config, lang, parts)[1].parent
    bundle.mkdir(parents=True, exist_ok=True)
    with (bundle / "index.md").open("x", encoding="utf-8") as handle:
        handle.write(text)
    return Created(bundle / "index.md")  # its photos are the source's: nothing copied


def _refuse_second_version(config: SiteConfig, source: Path, lang: str) -> None:
    """A story has one version per language: stop if ``lang`` already has this one
    under another path (through ``translation_key``)."""
    loaded = load_site(config)
    site, _ = link_site(config, loaded.pages, loaded.assets)
    shown = _shown(config, source)
    page = next((p for p in site.pages.values() if p.source == shown), None)
    if page is None:  # the source does not load; copying it still helps
        return
    other = next((p for p in site.translations_of(page) if p.lang == lang), None)
    if other is not None:
        raise ScaffoldError(f"'{lang}' already has this story: {other.source} "
                            f"(translation_key '{page.translation_key}')")


TRANSLATED = ("title", "summary", "image_alt")  # what a translator writes in their language


def _as_translation(source: Path, title: str | None) -> str:
    """A draft translation: the texts to translate and the body, nothing else. Date,
    tags, image and the rest are inherited from the source when the site is built, so
    later changes to the source reach the translation too."""
    try:
        front = parse_front_matter(source.read_text(encoding="utf-8"))
    except (FrontMatterError, UnicodeDecodeError) as exc:
        raise ScaffoldError(f"{source} has no front matter to copy: {exc}") from None
    values = dict(front.values)
    if title:
        values["title"] = title
    lines = ["---", "# Translate these, then the text below; delete 'draft: true' to publish.",
             "# Date, tags, image and the rest come from the original."]
    lines += [f"{key}: {json.dumps(str(values[key]), ensure_ascii=False)}"
              for key in TRANSLATED if isinstance(values.get(key), str) and values[key]]
    if isinstance(values.get("translation_key"), str):
        lines.append(f"translation_key: {json.dumps(values['translation_key'])}")
    lines += ["draft: true", "---", ""]
    return "\n".join(lines) + front.body.lstrip("\n")


def _template(title: str, now: datetime) -> str:
    stamp = now.astimezone().replace(microsecond=0).isoformat()
    return (f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\ndate: {stamp}\n"
            "# summary: \"One or two sentences for lists, feeds and share previews.\"\n"
            "tags: []\ndraft: true\n---\n\n"
            "Write the story here. Delete the `draft: true` line to publish it.\n")


def _title_from(slug: str) -> str:
    words = slug.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else slug


def _shown(config: SiteConfig, path: Path) -> Path:
    try:
        return path.relative_to(config.root)
    except ValueError:
        return path
