"""A Hugo site's configuration and front matter, read the way Hugo reads them.

The configuration is the first of ``hugo.toml``, ``hugo.yaml``, ``hugo.yml``,
``hugo.json``, ``config.toml`` … at the site's root, with ``config/_default/`` and then
``config/production/`` (what a plain ``hugo`` build uses) merged over it, file by file:
``hugo.*`` and ``config.*`` are the root, ``params.toml`` is ``[params]``, and
``menus.en.toml`` is ``[languages.en.menus]``. Hugo compares keys without regard to case
(``baseURL`` is ``baseurl``), so lookups here do too, while the names written back keep
their letter case.

The files come from another site: YAML is read without aliases (a ``*name`` can expand
a few lines into gigabytes) and with YAML 1.2's booleans, so a language key ``no:``
stays Norwegian instead of becoming ``False``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

CONFIG_NAMES = ("hugo", "config")
CONFIG_EXTENSIONS = ("toml", "yaml", "yml", "json")
ENVIRONMENT = "production"  # the environment `hugo` builds with
MAX_CONFIG_BYTES = 5_000_000
YAML_12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class HugoConfigError(ValueError):
    """A configuration file that cannot be read; the message names it and says why."""


class _Loader(yaml.SafeLoader):
    """Safe YAML without aliases, with YAML 1.2 booleans (``no`` is a string)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not read: write the value out in full",
                event.start_mark)
        return super().compose_node(parent, index)


for _first in "tTfF":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).insert(
        0, ("tag:yaml.org,2002:bool", YAML_12_BOOL))


@dataclass(slots=True)
class HugoConfig:
    """The merged configuration and the files it came from (relative to the site)."""

    data: dict[str, Any]
    files: tuple[str, ...]
    ignored: tuple[str, ...] = ()  # config folders of other environments
    notes: list[str] = field(default_factory=list)


def get(mapping: Any, key: str, default: Any = None) -> Any:
    """``mapping[key]`` compared without letter case, as Hugo does."""
    if not isinstance(mapping, Mapping):
        return default
    if key in mapping:
        return mapping[key]
    lower = key.lower()
    for name, value in mapping.items():
        if isinstance(name, str) and name.lower() == lower:
            return value
    return default


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base`` (tables merged key by key, other values replaced)."""
    merged = dict(base)
    for key, value in over.items():
        existing = next((name for name in merged if str(name).lower() == str(key).lower()),
                        None)
        if existing is not None:
            old = merged.pop(existing)
            if isinstance(old, Mapping) and isinstance(value, Mapping):
                value = merge(old, value)
        elif isinstance(value, Mapping):  # keys that differ only in case become one
            value = merge({}, value)
        merged[key] = value
    return merged


def parse(text: str, kind: str, shown: str) -> Any:
    """A TOML, YAML or JSON document (``kind`` is the extension)."""
    try:
        if kind == "toml":
            return tomllib.loads(text)
        if kind in ("yaml", "yml"):
            return yaml.load(text, Loader=_Loader)  # a SafeLoader without aliases
        return json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HugoConfigError(f"{shown}: invalid TOML: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise HugoConfigError(f"{shown}{where}: invalid YAML: {reason}") from None
    except json.JSONDecodeError as exc:
        raise HugoConfigError(f"{shown}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise HugoConfigError(f"{shown}: nested too deeply") from None


def load_file(path: Path, root: Path) -> dict[str, Any]:
    shown = path.relative_to(root).as_posix()
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise HugoConfigError(f"{shown}: larger than {MAX_CONFIG_BYTES // 1_000_000} MB; "
                              "not a site configuration")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HugoConfigError(f"{shown}: not UTF-8 text ({exc.reason})") from None
    data = parse(text, path.suffix.lstrip(".").lower(), shown)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HugoConfigError(f"{shown}: a configuration file must hold a table of settings")
    return data


def root_config_file(root: Path) -> Path | None:
    """The configuration file Hugo reads at the site's root (the first that exists)."""
    for name in CONFIG_NAMES:
        for extension in CONFIG_EXTENSIONS:
            path = root / f"{name}.{extension}"
            if path.is_file():
                return path
    return None


def config_folders(root: Path) -> list[Path]:
    folder = root / "config"
    return [path for path in (folder / "_default", folder / ENVIRONMENT) if path.is_dir()]


def is_hugo_site(root: Path) -> bool:
    return root_config_file(root) is not None or bool(config_folders(root))


def read_config(root: Path) -> HugoConfig:
    """The merged configuration of the Hugo site at ``root`` (raises ``HugoConfigError``)."""
    data: dict[str, Any] = {}
    files: list[str] = []
    main = root_config_file(root)
    if main is not None:
        data = merge({}, load_file(main, root))
        files.append(main.name)
    for folder in config_folders(root):
        data = merge(data, _config_folder(folder, root, files))
    others = root / "config"
    ignored = tuple(sorted(f"config/{path.name}/" for path in others.iterdir()
                           if path.is_dir() and path.name not in ("_default", ENVIRONMENT))
                    ) if others.is_dir() else ()
    return HugoConfig(data, tuple(files), ignored)


def _config_folder(folder: Path, root: Path, files: list[str]) -> dict[str, Any]:
    """One ``config/<environment>/`` folder: root files first, then the others by name."""
    paths = sorted(path for path in folder.iterdir() if path.is_file()
                   and path.suffix.lstrip(".").lower() in CONFIG_EXTENSIONS)
    paths.sort(key=lambda path: path.stem.lower() not in CONFIG_NAMES)
    data: dict[str, Any] = {}
    for path in paths:
        content = load_file(path, root)
        files.append(path.relative_to(root).as_posix())
        key, _, lang = path.stem.partition(".")
        if key.lower() in CONFIG_NAMES and not lang:
            data = merge(data, content)
        elif lang:
            data = merge(data, {"languages": {lang: {key: content}}})
        else:
            data = merge(data, {key: content})
    return data


FRONT_MATTER = re.compile(r"\A\s*(---|\+\+\+)[ \t]*\r?\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)


def front_matter(text: str, shown: str) -> tuple[dict[str, Any], str]:
    """A content file's front matter (YAML ``---``, TOML ``+++`` or a JSON object) and
    its body; raises ``HugoConfigError`` when the front matter cannot be read."""
    match = FRONT_MATTER.match(text)
    if match:
        kind = "yaml" if match.group(1) == "---" else "toml"
        data = parse(match.group(2), kind, shown)
        body = text[match.end():]
    elif text.lstrip().startswith("{"):
        data, end = _json_object(text.lstrip(), shown)
        body = text.lstrip()[end:]
    else:
        return {}, text
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise HugoConfigError(f"{shown}: front matter must be a table of fields")
    return data, body


def _json_object(text: str, shown: str) -> tuple[Any, int]:
    try:
        return json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise HugoConfigError(f"{shown}:{exc.lineno}: invalid JSON front matter: "
                              f"{exc.msg}") from None
