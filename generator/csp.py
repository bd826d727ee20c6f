"""Content-Security-Policy: every page says which scripts may run, by their hashes.

The theme writes its policy in a ``<meta http-equiv="Content-Security-Policy">`` with
``{{ script_hashes() }}`` where the allowed scripts go, and each of its inline scripts
as ``{% filter inline_script %}…{% endfilter %}``. While a page renders, the text of
each such script is hashed as rendered (a script with values from the site, such as
the chooser's language table, gets its own hash); once the page is complete, the
placeholder becomes those hashes. So editing a script can never leave a stale hash
behind, and a script that reaches a page any other way (raw HTML let through by
``[markdown] html = "allow"``) is not in the policy and does not run.

The placeholder is a random token drawn once per process (after the site's text was
read): text in a page body cannot know it, so it cannot be widened by content.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from functools import lru_cache

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

NONE = "'none'"
META = re.compile(r"""(<meta\b[^>]*?\bhttp-equiv\s*=\s*["']?content-security-policy["']?"""
                  r"""[^>]*?\bcontent\s*=\s*")([^"]*)(")""", re.IGNORECASE)


@lru_cache(maxsize=1)
def _token() -> str:
    """The placeholder, drawn once (from the system's randomness: drawing it for each of
    100,000 pages was a system call each)."""
    return f"newshub-csp-{secrets.token_hex(12)}"


@dataclass(slots=True)
class Collected:
    """The inline scripts of the page being rendered, and its placeholder."""

    token: str = field(default_factory=_token)
    hashes: list[str] = field(default_factory=list)


_current: ContextVar[Collected | None] = ContextVar("newshub_csp", default=None)


@lru_cache(maxsize=256)
def script_hash(text: str) -> str:
    """The CSP source allowing an inline script with exactly this text (remembered: a
    theme's few scripts are hashed again on each of 100,000 pages otherwise)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@contextmanager
def collecting() -> Iterator[Collected]:
    """Collect the inline scripts of one render."""
    collected, started = start()
    try:
        yield collected
    finally:
        stop(started)


def start() -> tuple[Collected, Token[Collected | None]]:
    """Start collecting the inline scripts of one render, until ``stop``: what
    ``collecting`` does, without a generator made and run for every page."""
    collected = Collected()
    return collected, _current.set(collected)


def stop(started: Token[Collected | None]) -> None:
    _current.reset(started)


@pass_context  # called at every render, never folded into the compiled template
def inline_script(context: Context, body: str) -> Markup:
    """A theme's inline script, allowed by the page's policy through its hash."""
    source, element = _script(str(body))
    collected = _current.get()
    if collected is not None and source not in collected.hashes:
        collected.hashes.append(source)
    return element


@lru_cache(maxsize=256)
def _script(text: str) -> tuple[str, Markup]:
    """A script's CSP source and element (a theme's few scripts, on every page)."""
    return script_hash(text), Markup(f"<script>{text}</script>")


@pass_context
def script_hashes(context: Context) -> Markup:
    """Where the policy's script sources go: filled in once the page is complete."""
    collected = _current.get()
    return Markup(collected.token if collected is not None else NONE)


def complete(page: str, collected: Collected) -> str:
    """The page with its policy naming the inline scripts its theme rendered."""
    return page.replace(collected.token, " ".join(collected.hashes) or NONE)  # one pass


def complete_encoded(page: bytes, collected: Collected) -> bytes:
    """``complete`` for a page in UTF-8 (the placeholder and the hashes are ASCII)."""
    return page.replace(collected.token.encode("ascii"),
                        (" ".join(collected.hashes) or NONE).encode("ascii"))


def permit(page: str, script: str) -> str:
    """``page`` with its policy also allowing the inline ``script`` element (what
    ``newshub serve`` adds to the pages it sends)."""
    body = script.removeprefix("<script>").removesuffix("</script>")
    source = script_hash(body)

    def widen(match: re.Match[str]) -> str:
        directives = [d.strip() for d in match.group(2).split(";") if d.strip()]
        names = [d.split()[0].lower() for d in directives]
        if "script-src" in names:
            index = names.index("script-src")
            kept = [s for s in directives[index].split()[1:] if s != NONE]
            directives[index] = " ".join(["script-src", *kept, source])
        else:
            default = next((d.split()[1:] for d, n in zip(directives, names, strict=True)
                            if n == "default-src"), [])
            directives.append(" ".join(["script-src", *[s for s in default if s != NONE],
                                        source]))
        return match.group(1) + "; ".join(directives) + match.group(3)

    return META.sub(widen, page, count=1)


def script_sources(policy: str) -> tuple[str, ...] | None:
    """The sources a policy allows scripts from (``script-src``, else ``default-src``),
    lower-cased; None when it says nothing about scripts."""
    directives = {}
    for directive in policy.split(";"):
        words = directive.split()
        if words:
            directives.setdefault(words[0].lower(), tuple(words[1:]))
    found = directives.get("script-src", directives.get("default-src"))
    return tuple(s if s.startswith("'sha") else s.lower() for s in found) \
        if found is not None else None


def allows_inline(sources: tuple[str, ...], text: str) -> bool:
    """Whether a browser runs an inline script with this text under these sources."""
    if script_hash(text) in sources:
        return True
    keyed = any(s.startswith(("'sha256-", "'sha384-", "'sha512-", "'nonce-")) for s in sources)
    return "'unsafe-inline'" in sources and not keyed
