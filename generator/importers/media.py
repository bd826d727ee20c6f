"""Attachments and the uploads folder: which file a URL in a post stands for.

``--media`` is a copy of ``wp-content/uploads``; a URL is matched by its path after
``/uploads/`` (or, on hosts that serve only uploads, such as WordPress.com's file host,
its whole path). WordPress's resized copies (``photo-300x200.jpg``) are traced back to the
attachment's original, which the build resizes itself. A path that would climb out of
the folder, or a file whose real path (symlinks followed) lies outside it, is refused.
Nothing is fetched from the network.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

_RESIZED = re.compile(r"^(?P<stem>.+?)-(?:\d{1,5}x\d{1,5}|scaled|rotated|e\d{10,13})"
                      r"(?P<ext>\.[A-Za-z0-9]{1,8})$")


@dataclass(frozen=True, slots=True)
class Attachment:
    post_id: int
    url: str
    alt: str
    caption: str
    parent: int
    relative: str  # the path under uploads ("2024/05/photo.jpg"), "" if unknown


@dataclass(frozen=True, slots=True)
class Found:
    """A file of the media folder, or why there is none."""

    path: Path | None
    relative: str
    problem: str = ""  # "missing" or a refusal


class Uploads:
    """The export's attachments and the (optional) media folder."""

    def __init__(self, folder: Path | None, site_hosts: set[str],
                 attachments: dict[int, Attachment]) -> None:
        self.folder = Path(os.path.realpath(folder)) if folder is not None else None
        self.site_hosts = site_hosts
        self.attachments = attachments
        self.upload_hosts = {urlsplit(a.url).hostname or "" for a in attachments.values()} - \
            {""} - site_hosts
        self.by_relative: dict[str, int] = {}
        for attachment in sorted(attachments.values(), key=lambda a: a.post_id):
            if attachment.relative:
                self.by_relative.setdefault(attachment.relative.lower(), attachment.post_id)
        self.by_parent: dict[int, list[int]] = {}
        for attachment in sorted(attachments.values(), key=lambda a: a.post_id):
            self.by_parent.setdefault(attachment.parent, []).append(attachment.post_id)

    def relative(self, url: str) -> str:
        """The path under uploads a URL names, or "" when it is not one of the site's
        uploads."""
        return upload_path(url, self.site_hosts, self.upload_hosts)

    def attachment_for(self, url: str, attachment_id: int | None) -> Attachment | None:
        """The attachment an image stands for: by ID, by its file, or by the file a
        resized copy was made from."""
        if attachment_id is not None and attachment_id in self.attachments:
            return self.attachments[attachment_id]
        relative = self.relative(url).lower()
        if not relative:
            return None
        found = self.by_relative.get(relative)
        if found is None:
            folder, _, name = relative.rpartition("/")
            resized = _RESIZED.match(name)
            if resized:
                original = (folder + "/" if folder else "") + resized["stem"] + resized["ext"]
                found = self.by_relative.get(original)
        return self.attachments.get(found) if found is not None else None

    def find(self, relative: str) -> Found:
        """The file at ``relative`` in the media folder, checked to stay inside it."""
        if not relative:
            return Found(None, relative, "missing")
        parts = relative.split("/")
        if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            return Found(None, relative, "refused: the path climbs out of the media folder")
        if self.folder is None:
            return Found(None, relative, "missing")
        candidate = self.folder.joinpath(*parts)
        real = os.path.realpath(candidate)
        if real != str(self.folder) and not real.startswith(str(self.folder) + os.sep):
            return Found(None, relative, "refused: a symlink leading outside the media folder")
        if not os.path.isfile(real):
            return Found(None, relative, "missing")
        return Found(Path(real), relative)


def upload_path(url: str, site_hosts: set[str], upload_hosts: set[str]) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https", ""):
        return ""
    host = (parts.hostname or "").lower()
    path = unquote(parts.path, errors="replace")
    if host and host not in site_hosts and host not in upload_hosts:
        return ""
    if "/uploads/" in path:
        return path.split("/uploads/", 1)[1]
    if host and host in upload_hosts:
        return path.lstrip("/")
    return ""
