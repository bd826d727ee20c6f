"""``newshub import wordpress EXPORT.xml``: a WordPress export as a newshub site.

Two streamed passes over the export (``wxr``): the first reads every item without its
body and plans the site (``wpplan``: languages, sections, paths, translation keys, old
addresses); the second converts each body (``body``), copies the media it uses from
``--media`` into its page bundle and writes the page. Then ``site.toml`` (languages with
their names, sections and tags with their names per language) and ``redirects.txt`` (every
old address and its new one). Memory holds the plan, never all bodies. The same export
gives the same files, byte for byte.
"""

from __future__ import annotations

import gc
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from generator.importers import body, wxr
from generator.importers.languages import WPML_KEYS, Languages, PostLanguage, endonym, resolve
from generator.importers.media import Attachment, Uploads
from generator.importers.output import (
    Raw,
    Target,
    UnsafePath,
    file_name,
    front_matter,
    toml_key,
    toml_string,
)
from generator.importers.wpplan import Entry, Plan, make_plan, plain_text, url_key
from generator.importers.wpreport import Report

IMPORTED = ("post", "page")
SKIPPED_STATUSES = {"trash", "auto-draft", "inherit"}
IMAGE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)$", re.IGNORECASE)
META_KEYS = frozenset({"_thumbnail_id", "_yoast_wpseo_primary_category", "_wp_attached_file",
                       "_wp_attachment_image_alt", *WPML_KEYS})


class ImportFailure(Exception):
    """The import cannot start; ``code`` is the exit status (1: the file, 2: usage)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class _Index:
    """The first pass: everything but the bodies."""

    channel: dict[str, str] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)
    terms: list[wxr.Term] = field(default_factory=list)
    items: list[wxr.Item] = field(default_factory=list)
    attachments: dict[int, wxr.Item] = field(default_factory=dict)


def import_wordpress(export: Path, target: Path, media: Path | None = None, *,
                     force: bool = False) -> Report:
    """Import ``export`` into ``target``. Raises ``ImportFailure`` before writing
    anything when the file is not a WordPress export or the folder is not empty."""
    if not export.is_file():
        raise ImportFailure(f"{export}: no such file", 2)
    if media is not None and not media.is_dir():
        raise ImportFailure(f"--media {media}: no such folder (give a copy of the site's "
                            "wp-content/uploads)", 2)
    if target.exists() and not target.is_dir():
        raise ImportFailure(f"--to {target}: not a folder", 2)
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ImportFailure(f"--to {target}: the folder is not empty; choose a new folder or "
                            "add --force to write into it", 2)
    report = Report()
    try:
        index = _first_pass(export, report)
    except wxr.NotAnExport as exc:
        raise ImportFailure(f"{export}: {exc}", 1) from None
    if "wxr_version" not in index.channel:
        raise ImportFailure(f"{export}: XML with WordPress's namespace but no "
                            "<wp:wxr_version>: not a WordPress export (Tools → Export)", 1)
    site_hosts = _site_hosts(index)
    languages = resolve([PostLanguage.of(i) for i in index.items], index.terms,
                        index.channel.get("language", ""))
    base_path = urlsplit(index.channel.get("base_blog_url") or index.channel.get("link", "")
                         ).path.rstrip("/")
    plan = make_plan(index.items, index.terms, languages, site_hosts, base_path)
    attachments = {post_id: Attachment(post_id, item.attachment_url,
                                       plain_text(item.meta_value("_wp_attachment_image_alt")),
                                       plain_text(item.excerpt), item.parent,
                                       _relative(item))
                   for post_id, item in index.attachments.items()}
    uploads = Uploads(media, site_hosts, attachments)
    pages = {url_key(item.link, site_hosts, base_path): post_id
             for post_id, item in index.attachments.items() if item.link}
    pages.pop("", None)
    target.mkdir(parents=True, exist_ok=True)
    out = Target(target)
    used: set[int] = set()
    collecting = gc.isenabled()
    gc.enable()  # one-shot commands run without the cycle collector; parsed bodies need it
    try:
        for item in _second_pass(export, plan):
            _write_entry(item, plan.entries[item.post_id], plan, uploads, index, out, report,
                         used, (site_hosts, base_path), pages)
    finally:
        if not collecting:
            gc.disable()
    try:
        _write_site(out, index, languages, plan)
        _write_redirects(out, plan)
    except (UnsafePath, OSError) as exc:
        report.notes.append(f"site.toml or redirects.txt not written: {exc}")
    report.attachments = len(attachments)
    report.attachments_used = len(used)
    report.redirects = len(plan.redirects)
    report.languages = languages.codes
    report.notes = _notes(index, languages, plan) + report.notes
    report.files = len(out.written)
    return report


def _first_pass(export: Path, report: Report) -> _Index:
    index = _Index()
    for record in wxr.read(export, bodies=False, meta_keys=META_KEYS):
        if isinstance(record, wxr.ChannelField):
            index.channel.setdefault(record.name, record.value)
        elif isinstance(record, wxr.Author):
            index.authors[record.login] = record.display_name or record.login
        elif isinstance(record, wxr.Term):
            index.terms.append(record)
        elif record.post_type == "attachment":
            index.attachments[record.post_id] = record
        elif record.post_type not in IMPORTED:
            report.skipped[_skip_reason(record.post_type)] += 1
        elif record.status in SKIPPED_STATUSES:
            report.skipped[f"{record.post_type}s with status {record.status}"] += 1
        elif record.post_id <= 0:
            report.skipped["items without a post ID"] += 1
        else:
            index.items.append(record)
            report.comments += record.comments
    ids = Counter(i.post_id for i in index.items)
    if any(n > 1 for n in ids.values()):
        seen: set[int] = set()
        kept = []
        for item in index.items:
            if item.post_id in seen:
                report.skipped["items repeating another item's post ID"] += 1
            else:
                seen.add(item.post_id)
                kept.append(item)
        index.items = kept
    return index


def _skip_reason(post_type: str) -> str:
    return {"nav_menu_item": "menu items (nav_menu_item; set menus in site.toml)",
            "revision": "revisions"}.get(post_type, f"items of type {post_type}")


def _second_pass(export: Path, plan: Plan) -> Iterator[wxr.Item]:
    done: set[int] = set()
    for record in wxr.read(export, bodies=True, meta_keys=META_KEYS):
        if isinstance(record, wxr.Item) and record.post_id in plan.entries and \
                record.post_id not in done and record.post_type in IMPORTED and \
                record.status not in SKIPPED_STATUSES:
            done.add(record.post_id)
            yield record


def _site_hosts(index: _Index) -> set[str]:
    hosts = {(urlsplit(index.channel.get(k, "")).hostname or "").lower()
             for k in ("link", "base_blog_url")}
    hosts |= {(urlsplit(i.link).hostname or "").lower() for i in index.items}
    return {h for h in hosts if h} | {f"www.{h}" for h in hosts if h and "." in h}


def _relative(item: wxr.Item) -> str:
    attached = item.meta_value("_wp_attached_file").strip()
    if attached and not attached.startswith(("/", "http")):
        return attached
    path = unquote(urlsplit(item.attachment_url).path, errors="replace")
    if "/uploads/" in path:
        return path.split("/uploads/", 1)[1]
    return path.lstrip("/")


class _Bundle:
    """The files one page takes from the media folder."""

    def __init__(self, post_id: int, uploads: Uploads, report: Report,
                 reserved: set[str]) -> None:
        self.post_id = post_id
        self.uploads = uploads
        self.report = report
        self.files: dict[str, Path] = {}  # name in the bundle → source file
        self.names: dict[str, str] = {}  # source file → name
        self.reserved = reserved
        self.used: set[int] = set()

    def add(self, relative: str, shown: str) -> str | None:
        found = self.uploads.find(relative)
        if found.path is None:
            entry = (self.post_id, shown, found.problem)
            if entry not in self.report.missing:
                self.report.missing.append(entry)
            return None
        source = str(found.path)
        if source in self.names:
            return self.names[source]
        name = file_name(relative, "file")
        if name.lower().endswith(".md"):
            name += ".txt"
        stem, dot, extension = name.rpartition(".")
        if not dot:
            stem, extension = name, ""
        candidate, number = name, 2
        while candidate in self.files or candidate in self.reserved:
            candidate = f"{stem}-{number}{'.' + extension if extension else ''}"
            number += 1
        self.files[candidate] = found.path
        self.names[source] = candidate
        return candidate


def _write_entry(item: wxr.Item, entry: Entry, plan: Plan, uploads: Uploads, index: _Index,
                 out: Target, report: Report, used: set[int], site: tuple[set[str], str],
                 attachment_pages: dict[str, int]) -> None:
    reserved = {"index.md", "_index.md"}
    if entry.branch:
        reserved |= {e.slug for e in plan.entries.values()
                     if e.lang == entry.lang and e.folder == (*entry.folder, entry.slug)}
        reserved |= {name + ".md" for name in list(reserved)}
    bundle = _Bundle(item.post_id, uploads, report, reserved)
    base = index.channel.get("base_blog_url") or index.channel.get("link") or ""

    def absolute(url: str) -> str:
        if url.startswith("/") and not url.startswith("//") and base:
            return base.rstrip("/") + url
        return url

    def image(url: str, attachment_id: int | None) -> body.Image:
        attachment = uploads.attachment_for(url, attachment_id)
        relative = attachment.relative if attachment and attachment.relative else \
            uploads.relative(url)
        alt = attachment.alt if attachment else ""
        if attachment is not None:
            used.add(attachment.post_id)
        if not relative:
            if url.startswith(("http://", "https://", "//")):
                host = urlsplit(url).hostname or "?"
                report.problem(item.post_id, f"image from another site kept as a link to "
                                             f"{host} (copy it into the bundle)")
            return body.Image(absolute(url), False, alt)
        name = bundle.add(relative, relative)
        if name is None:
            original = attachment.url if attachment and attachment.url else url
            return body.Image(absolute(original), False, alt)
        return body.Image(name, True, alt)

    def upload(url: str) -> str | None:
        attachment = uploads.attachment_for(url, None)
        relative = uploads.relative(url)
        if not relative:
            return None
        if attachment is not None:
            used.add(attachment.post_id)
            if IMAGE.search(relative):
                relative = attachment.relative or relative
        return bundle.add(relative, relative)

    def link(url: str) -> str:
        key = url_key(url, *site)
        if key in attachment_pages:  # an attachment's page: its file instead
            found = uploads.attachments[attachment_pages[key]]
            return upload(found.url) or absolute(found.url)
        if key and key in plan.links:
            fragment = urlsplit(url).fragment
            return plan.links[key] + (f"#{fragment}" if fragment else "")
        if key and not key.startswith(("/wp-", "/feed", "/?")):
            report.problem(item.post_id, f"link to the old site's {key.partition('?')[0]}: "
                                         "no imported page has that address (left as it was)")
        return url

    def attachment(attachment_id: int) -> tuple[str, str, str] | None:
        found = uploads.attachments.get(attachment_id)
        return (found.url, found.alt, found.caption) if found else None

    def attached() -> list[int]:
        return [i for i in uploads.by_parent.get(item.post_id, [])
                if IMAGE.search(uploads.attachments[i].url)]

    links = body.Links(image, upload, link, attachment, attached)
    converted = body.to_markdown(item.content, links)
    for problem in converted.problems:
        report.problem(item.post_id, problem)
    for note in entry.notes:
        report.problem(item.post_id, note)
    image_name, image_alt = "", ""
    thumbnail = item.meta_value("_thumbnail_id").strip()
    if thumbnail.isdigit():
        featured = uploads.attachments.get(int(thumbnail))
        if featured is None:
            report.problem(item.post_id, f"featured image {thumbnail} is not in the export")
        else:
            used.add(featured.post_id)
            relative = featured.relative or uploads.relative(featured.url)
            image_name = bundle.add(relative, relative) or ""
            image_alt = featured.alt or featured.caption
    title = plain_text(item.title)
    if title != re.sub(r"\s+", " ", item.title).strip() and "<" in item.title:
        report.problem(item.post_id, "title had HTML markup: kept as plain text")
    if not title:
        title = f"Untitled {item.post_id}"
        report.problem(item.post_id, f"no title: written as {title!r}")
    author = index.authors.get(item.creator, item.creator)
    fields: list[tuple[str, object]] = [
        ("title", title),
        ("date", Raw(entry.date) if entry.date else None),
        ("updated", Raw(entry.updated) if entry.updated else None),
        ("summary", plain_text(item.excerpt)),
        ("author", author),
        ("categories", list(entry.categories)),
        ("tags", list(entry.tags)),
        ("image", image_name),
        ("image_alt", image_alt if image_name else ""),
        ("weight", item.menu_order if entry.kind == "page" and item.menu_order else None),
        ("draft", True if entry.draft else None),
        ("translation_key", entry.key),
        ("aliases", entry.aliases),
    ]
    text = front_matter(fields) + ("\n" + converted.markdown if converted.markdown else "")
    folder = ("content", entry.lang, *entry.folder)
    try:
        if entry.branch:
            out.write((*folder, entry.slug, "_index.md"), text.encode("utf-8"))
            where = (*folder, entry.slug)
        elif bundle.files:
            out.write((*folder, entry.slug, "index.md"), text.encode("utf-8"))
            where = (*folder, entry.slug)
        else:
            out.write((*folder, entry.slug + ".md"), text.encode("utf-8"))
            where = ()
        for name, source in sorted(bundle.files.items()):
            out.write((*where, name), source.read_bytes())
            report.copied += 1
    except (UnsafePath, OSError) as exc:
        report.problem(item.post_id, f"not written: {exc}")
        return
    report.counts[(entry.kind, entry.lang)] += 1
    shown = f"{item.post_id} ({entry.lang}{entry.url.removeprefix('/' + entry.lang)})"
    if entry.draft:
        report.drafts.append(shown)
    elif item.status == "future":
        report.scheduled.append(shown)


def _write_site(out: Target, index: _Index, languages: Languages, plan: Plan) -> None:
    title = plain_text(index.channel.get("title", "")) or "News"
    description = plain_text(index.channel.get("description", ""))
    base = index.channel.get("base_blog_url") or index.channel.get("link") or ""
    base = base.rstrip("/") + "/" if base.startswith(("http://", "https://")) else \
        "https://example.org/"
    lines = ["# Imported from a WordPress export by `newshub import wordpress`.",
             "# base_url is the old site's address, so its old links keep working once the",
             "# new site is served there; change it if the site moves.",
             f"base_url = {toml_string(base)}",
             f"default_language = {toml_string(languages.default)}",
             f"title = {toml_string(title)}"]
    if description:
        lines.append(f"description = {toml_string(description)}")
    if _used_keys(plan, "categories"):
        lines.append('taxonomies = ["tags", "categories"]  # a list page per category too')
    lines += ["", "[organisation]", f"name = {toml_string(title)}"]
    for code in languages.codes:
        lines += ["", f"[languages.{toml_key(code)}]", f"name = {toml_string(endonym(code))}",
                  f"title = {toml_string(title)}"]
        if description:
            lines.append(f"description = {toml_string(description)}")
    for table, taxonomy in (("sections", plan.sections), ("tags", plan.tags),
                            ("categories", plan.categories)):
        used = _used_keys(plan, table)
        for key in sorted(used):
            names = {lang: name for lang, name in taxonomy.names.get(key, {}).items()
                     if lang in languages.codes}
            if not names:
                continue
            lines += ["", f"[taxonomy.{table}.{toml_key(key)}]"]
            lines += [f"{toml_key(lang)} = {toml_string(name)}"
                      for lang, name in sorted(names.items(), key=lambda kv: _order(kv[0],
                                                                               languages))]
    out.write(("site.toml",), ("\n".join(lines) + "\n").encode("utf-8"))


def _order(lang: str, languages: Languages) -> tuple[int, str]:
    return (languages.codes.index(lang) if lang in languages.codes else 99, lang)


def _used_keys(plan: Plan, table: str) -> set[str]:
    if table == "sections":
        return {e.section for e in plan.entries.values() if e.section}
    if table == "tags":
        return {t for e in plan.entries.values() for t in e.tags}
    return {c for e in plan.entries.values() for c in e.categories}


def _write_redirects(out: Target, plan: Plan) -> None:
    lines = ["# Old WordPress addresses and the new pages they lead to: \"old new\" per line.",
             "# The same addresses are each page's `aliases`; the query forms (/?p=123) need",
             "# a redirect rule on the web server or host, since a static file cannot match a",
             "# query string."]
    lines += [f"{old} {new}" for old, new in sorted(plan.redirects)]
    out.write(("redirects.txt",), ("\n".join(lines) + "\n").encode("utf-8"))


def _notes(index: _Index, languages: Languages, plan: Plan) -> list[str]:
    notes = list(languages.notes)
    if plan.offset_minutes is None:
        notes.append("dates: the export has no UTC dates (wp:post_date_gmt): dates are "
                     "taken as UTC")
    else:
        sign = "+" if plan.offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(plan.offset_minutes), 60)
        notes.append("dates: in the site's time zone, each post's offset from wp:post_date "
                     f"minus wp:post_date_gmt (mostly UTC{sign}{hours:02d}:{minutes:02d}, "
                     "also used for drafts WordPress left without a UTC date)")
    if not languages.plugin:
        notes.append(f"one language: {languages.default} (from the export's <language>)")
    return notes + plan.notes


def run(export: Path, target: Path, media: Path | None, force: bool) -> tuple[int, str]:
    """The command: the exit status and what to print (the report or the error)."""
    try:
        report = import_wordpress(export, target, media, force=force)
    except ImportFailure as exc:
        return exc.code, f"newshub import wordpress: {exc}"
    text = report.to_text(target)
    text += ("\nNext: cd " + os.fspath(target) + " && newshub build")
    return 0, text
