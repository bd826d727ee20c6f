"""The persistent build cache: ``SITE/.newshub-cache/``, safe to delete at any time.

It holds parsed sources (reused while their files are unchanged) and, per output
folder, the manifest of what each output file was built from. Everything is
versioned: a newshub that changes the shape of these records ignores older ones.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

CACHE_FOLDER = ".newshub-cache"
CACHE_VERSION = 1


class Store:
    """Pickled values by name; a missing or unreadable entry reads as None."""

    def __init__(self, root: Path) -> None:
        self.folder = root / CACHE_FOLDER / f"v{CACHE_VERSION}"

    def read(self, name: str) -> Any:
        try:
            with (self.folder / f"{name}.pickle").open("rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
                IndexError, TypeError, ValueError):
            return None

    def write(self, name: str, value: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{name}.pickle"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)


def manifest_name(output: Path) -> str:
    """One manifest per output folder (a dev server's folder differs from output/)."""
    return "manifest-" + hashlib.blake2b(str(output.resolve()).encode(),
                                         digest_size=8).hexdigest()
