"""``/_headers``: response headers for hosts that read this file (Netlify, Cloudflare
Pages). Other hosts get the same rules from the README (nginx, Apache).

- The theme's fingerprinted assets (``/assets/*``: their names change with their
  bytes) may be cached for a year without asking again. Image renditions are
  fingerprinted too (``photo-960w-1a2b3c4d.webp``), but beside unfingerprinted files in
  their page's folder, and these hosts allow one ``*`` per rule: no rule can tell them
  apart, so they keep the host's default (revalidated with an ETag, cheap).
- Security headers on every response: no MIME sniffing, no full address sent to
  other sites, no camera, microphone or location, never inside another site's frame
  (``X-Frame-Options`` for old browsers, ``frame-ancestors`` for the others: a
  ``<meta>`` policy cannot say it), and the Content-Security-Policy as a header.

Every page carries its own policy in a ``<meta>`` naming the hashes of its inline
scripts (``generator/csp.py``). A browser enforces every policy it is given, so the
header's must allow what each page's allows, and it must be the same whichever
languages a build writes (``--languages`` builds on separate machines merge into one
site, and pages of other languages carry other hashes: the offline script names its
language). So the header is the union of the pages' policies with each script hash
replaced by ``'unsafe-inline'``, plus ``frame-ancestors 'none'``: on a page, the
page's own policy still decides which inline scripts run (the two together allow only
what both allow); every other response (feeds, SVG files, files of ``static/``) gets
the site's rules: nothing loaded from or sent to another host, no plugins, no frames.
The policies are known only once pages are rendered, so this file is made after the
render phase from each page's policy as rendered (kept between builds: a rebuild
renders only some pages). A site that publishes its own ``static/_headers`` keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from generator.config import SiteConfig
from generator.csp import META, NONE
from generator.views import url

PATH = "_headers"
HEAD_BYTES = 8192  # a page's policy is near the top of its <head>
FIRST_BYTES = 1024  # where it is in the default theme: looked at first (``policy_of``)
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "accelerometer=(), browsing-topics=(), camera=(), geolocation=(), "
                           "gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"),
    ("X-Frame-Options", "DENY"),
)
FRAME_ANCESTORS = "frame-ancestors 'none'"
PER_PAGE = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")  # sources naming one page's scripts
UNSAFE_INLINE = "'unsafe-inline'"


def policy_of(data: bytes) -> str:
    """A page's Content-Security-Policy, as its ``<meta>`` states it ("" without one).

    The first ``FIRST_BYTES`` are decoded and searched first: decoding a head of 8 KB
    (most of the cost: ~15 us of an Arabic page's) is needed only when the answer found
    there might differ from the whole head's (``_settled``). A page starting with the
    settled head of a page read before has its policy (``_HEADS``): most pages start as
    one of a few others do, up to past their policy."""
    for length, heads in _HEADS.items():
        known = heads.get(data[:length])
        if known is not None:
            return known
    if len(data) > FIRST_BYTES:
        first = data[:FIRST_BYTES].decode("utf-8", "replace")
        found = META.search(first)
        settled = _settled(first, found.end()) if found is not None else -1
        if found is not None and settled >= 0:
            policy = found.group(2).strip()
            _remember(data, first[:settled].encode("utf-8"), policy)
            return policy
    found = META.search(data[:HEAD_BYTES].decode("utf-8", "replace"))
    return found.group(2).strip() if found else ""


def _settled(text: str, end: int) -> int:
    """Where the settled part of ``text`` ends (-1: nowhere): ``META``'s first match in
    ``text``, ending at ``end``, is its first match in any text that starts with
    ``text`` up to there: no attempt at it or before it read past a ``>`` after it and
    then a quote (the pattern's only open-ended parts are ``[^>]*?`` before the
    content, and ``[^"]*`` in it)."""
    after = text.find(">", end)
    quote = text.find('"', after) if after >= 0 else -1
    return quote + 1 if quote >= 0 else -1


HEADS_KEPT = 64  # settled heads remembered (a theme's pages start as one of a few)
_HEADS: dict[int, dict[bytes, str]] = {}  # a settled head's length → its bytes → the policy


def _remember(data: bytes, head: bytes, policy: str) -> None:
    """Keep ``head``'s policy for the pages that start with it, unless ``HEADS_KEPT``
    are kept (``head`` is a prefix of ``data`` unless a byte in it was not UTF-8)."""
    if data.startswith(head) and sum(map(len, _HEADS.values())) < HEADS_KEPT:
        _HEADS.setdefault(len(head), {})[head] = policy


def policies(pages: Iterable[str], rendered: Mapping[str, str], recorded: Mapping[str, str],
             output: Path) -> dict[str, str]:
    """Each page's policy ("" for none): as rendered by this build, else as recorded by
    the last one, else read from its file (a cache that lost the record)."""
    found = {}
    for path in pages:
        policy = rendered.get(path)
        if policy is None:
            policy = recorded.get(path)
        if policy is None:
            policy = _read_policy(output / path)
        found[path] = policy
    return found


def _read_policy(file: Path) -> str:
    try:
        with file.open("rb") as handle:
            return policy_of(handle.read(HEAD_BYTES))
    except OSError:
        return ""


def union(policies: Iterable[str]) -> str:
    """One policy allowing what each of ``policies`` allows, whatever its page's inline
    scripts: every directive any of them has, with the sources of all of them, script
    hashes and nonces as ``'unsafe-inline'`` (``'none'`` only where nothing else is)."""
    directives: dict[str, dict[str, None]] = {}
    for policy in sorted(set(policies)):
        for directive in policy.split(";"):
            words = directive.split()
            if words:
                sources = directives.setdefault(words[0].lower(), {})
                sources.update(dict.fromkeys(UNSAFE_INLINE if word.startswith(PER_PAGE) else word
                                             for word in words[1:]))
    parts = []
    for name, sources in directives.items():
        if name == "frame-ancestors":
            continue
        kept = [s for s in sources if s != NONE] or ([NONE] if sources else [])
        parts.append(" ".join([name, *kept]))
    return "; ".join([*parts, FRAME_ANCESTORS])


def headers_file(config: SiteConfig, policies: Iterable[str]) -> bytes:
    """The file's text: the security headers for every path (with the pages' policies
    as one header), and long caching for the fingerprinted assets."""
    everything = url(config, "/") + "*"
    lines = ["# Response headers for Netlify and Cloudflare Pages, made by newshub.",
             "# Other hosts: see the README (Deploy: compression, caching and headers).",
             everything]
    lines += [f"  {name}: {value}" for name, value in SECURITY]
    found = [policy for policy in policies if policy]
    lines.append(f"  Content-Security-Policy: {union(found) if found else FRAME_ANCESTORS}")
    lines += [url(config, "/assets/") + "*", f"  Cache-Control: {IMMUTABLE}"]
    return ("\n".join(lines) + "\n").encode("utf-8")
