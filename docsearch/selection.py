"""Which indexed documents a user means by a path, a folder or a glob (for `list` and `remove`).

Paths are stored absolute and shown relative to the working directory; a user may type either.
A pattern selects, in this order of preference: the document stored under that exact path
(as given or made absolute), else every document under that folder, else every document whose
path matches it as a glob (`*` also crosses `/`, as in `--path`).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence

_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """True when `pattern` holds a glob wildcard."""
    return any(ch in _GLOB_CHARS for ch in pattern)


def glob_forms(glob: str) -> list[str]:
    """The stored-path globs for a user's glob: as given, and resolved like a shown path.

    `docs/home/*` (as shown) also matches `<cwd>/docs/home/*`; an absolute glob or one
    starting with `*` is used as it is.
    """
    if glob.startswith("*") or os.path.isabs(glob):
        return [glob]
    relative = glob[2:] if glob.startswith("./") else glob
    return [glob, os.path.join(os.getcwd(), relative)]


def matches_glob(path: str, glob: str) -> bool:
    """True when a stored path matches a user's glob (case-sensitive, like SQLite's GLOB)."""
    return any(fnmatch.fnmatchcase(path, form) for form in glob_forms(glob))


def select(paths: Sequence[str], pattern: str) -> list[str]:
    """The stored `paths` that `pattern` names (see the module docstring), in their order."""
    stored = set(paths)
    for candidate in dict.fromkeys((pattern, os.path.abspath(pattern))):
        if candidate in stored:
            return [candidate]
    folder = os.path.join(os.path.abspath(pattern), "")
    under = [p for p in paths if p.startswith(folder)]
    if under:
        return under
    if is_glob(pattern):
        return [p for p in paths if matches_glob(p, pattern)]
    return []


def select_all(paths: Sequence[str], patterns: Iterable[str]) -> dict[str, list[str]]:
    """`select` for each pattern: pattern -> the paths it names (empty when none)."""
    return {pattern: select(paths, pattern) for pattern in patterns}
