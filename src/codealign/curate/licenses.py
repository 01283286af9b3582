"""License detection for folders and repositories, classification, and opt-out lists.

Detection reads LICENSE/COPYING/LICENCE/UNLICENSE files (a license file applies to its folder and everything under
it, so vendored folders with their own license are classified on their own) and `SPDX-License-Identifier` headers,
which win over the folder's license for their file. Texts are recognised by phrases each license's text must contain.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from codealign.errors import InputError

PERMISSIVE = "permissive"
COPYLEFT = "copyleft"
UNKNOWN = "unknown"
CLASSES = (PERMISSIVE, COPYLEFT, UNKNOWN)
# keeper preference in dedup: permissive first, then no/unknown license, then copyleft (The Stack v2 ranking)
RANK = {PERMISSIVE: 0, UNKNOWN: 1, COPYLEFT: 2}

_PERMISSIVE_IDS = {
    "mit", "mit-0", "apache-2.0", "apache-1.1", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "0bsd", "isc",
    "zlib", "unlicense", "cc0-1.0", "psf-2.0", "python-2.0", "bsl-1.0", "artistic-2.0", "wtfpl", "x11", "upl-1.0",
    "ncsa", "postgresql", "ms-pl", "cc-by-4.0", "cc-by-3.0", "openssl", "mit-cmu", "hpnd", "blueoak-1.0.0",
}  # fmt: skip
_COPYLEFT_PREFIXES = ("gpl", "lgpl", "agpl", "mpl", "epl", "eupl", "cddl", "osl", "cc-by-sa", "cecill", "ms-rl", "sspl")

# (spdx id, phrases that must all appear in the normalised text); at equal positions the earlier entry wins
_SIGNATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("AGPL-3.0", ("gnu affero general public license",)),
    ("LGPL-3.0", ("gnu lesser general public license", "version 3")),
    ("LGPL-2.1", ("gnu lesser general public license", "version 2.1")),
    ("LGPL-2.0", ("gnu library general public license",)),
    ("GPL-3.0", ("gnu general public license", "version 3")),
    ("GPL-2.0", ("gnu general public license", "version 2")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("EPL-2.0", ("eclipse public license", "2.0")),
    ("EPL-1.0", ("eclipse public license",)),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("CC0-1.0", ("cc0 1.0 universal",)),
    ("PSF-2.0", ("python software foundation license",)),
    ("BSL-1.0", ("boost software license",)),
    ("ISC", ("permission to use, copy, modify, and/or distribute this software for any purpose",)),
    ("ISC", ("permission to use, copy, modify, and distribute this software for any purpose",)),
    ("MIT", ("permission is hereby granted, free of charge", "the above copyright notice and this permission notice")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "neither the name")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms", "may be used to endorse or promote")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",)),
    ("Zlib", ("altered source versions must be plainly marked",)),
    ("WTFPL", ("do what the fuck you want to",)),
)
_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|unlicense)([.-].*)?$", re.IGNORECASE)
_SPDX = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+()\- ]+?)\s*(?:\*/|-->|$)", re.MULTILINE)
_WS = re.compile(r"\s+")


def classify(spdx: str | None) -> str:
    """permissive / copyleft / unknown for an SPDX id or expression (OR: the best option; AND/WITH: the worst)."""
    if not spdx:
        return UNKNOWN
    expr = spdx.strip().strip("()")
    if " OR " in expr.upper():
        parts = re.split(r"\s+OR\s+", expr, flags=re.IGNORECASE)
        return min((classify(p) for p in parts), key=RANK.__getitem__)
    if " AND " in expr.upper():
        parts = re.split(r"\s+AND\s+", expr, flags=re.IGNORECASE)
        return max((classify(p) for p in parts), key=RANK.__getitem__)
    ident = re.split(r"\s+WITH\s+", expr, flags=re.IGNORECASE)[0].strip().lower()
    base = re.sub(r"-(only|or-later)$|\+$", "", ident)
    if base in _PERMISSIVE_IDS:
        return PERMISSIVE
    if base.startswith(_COPYLEFT_PREFIXES):
        return COPYLEFT
    return UNKNOWN


def identify_text(text: str) -> str | None:
    """SPDX id of a license text, or None when unrecognised.

    Files that bundle several licenses (the project's, then its vendored parts') name the project's first, so the
    matching license whose text starts earliest wins.
    """
    norm = _WS.sub(" ", text.lower())
    best: tuple[int, int, str] | None = None
    for order, (spdx, phrases) in enumerate(_SIGNATURES):
        found = [norm.find(p) for p in phrases]
        if min(found) >= 0 and (best is None or (found[0], order) < best[:2]):
            best = (found[0], order, spdx)
    return best[2] if best else None


def spdx_header(text: str) -> str | None:
    """The `SPDX-License-Identifier` in the first 30 lines of a file, if any."""
    head = "\n".join(text.splitlines()[:30])
    m = _SPDX.search(head)
    return m.group(1).strip() if m else None


@dataclass
class LicenseMap:
    """License per folder of a tree; `license_for(relpath)` finds the nearest license file above a file."""

    by_dir: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_files(cls, files: dict[str, str]) -> LicenseMap:
        """`files`: relative posix path -> text of every license file found in the tree."""
        out = cls()
        for rel, text in sorted(files.items()):
            folder = str(PurePosixPath(rel).parent)
            found = identify_text(text)
            # several license files in one folder: keep a recognised one over an unrecognised one
            if found or folder not in out.by_dir:
                out.by_dir[folder] = found or out.by_dir.get(folder)
        return out

    @classmethod
    def scan(cls, root: Path) -> LicenseMap:
        """License files under `root`, plus the nearest one above it (a subfolder inherits its project's license)."""
        files = {}
        for parent in list(root.resolve().parents)[:8]:
            try:
                found = sorted(p for p in parent.iterdir() if p.is_file() and _LICENSE_FILE.match(p.name))
            except OSError:
                break
            if found:
                files["./" + found[0].name] = found[0].read_text(encoding="utf-8", errors="replace")
                break
            if (parent / ".git").exists():
                break
        for p in root.rglob("*"):
            if p.is_file() and _LICENSE_FILE.match(p.name) and ".git" not in p.parts:
                try:
                    files[p.relative_to(root).as_posix()] = p.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
        return cls.from_files(files)

    def license_for(self, relpath: str) -> str | None:
        folder = PurePosixPath(relpath).parent
        while True:
            key = str(folder)
            if key in self.by_dir:
                return self.by_dir[key]
            if key in (".", "", "/"):
                return None
            folder = folder.parent


def is_license_file(name: str) -> bool:
    return bool(_LICENSE_FILE.match(name))


@dataclass
class OptOut:
    """Opt-out entries: `repo:NAME`, `path:GLOB`, `author:NAME-OR-EMAIL` (one per line; `#` starts a comment)."""

    repos: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)
    authors: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: str | Path | None) -> OptOut:
        out = cls()
        if path is None:
            return out
        p = Path(path)
        if not p.exists():
            raise InputError(f"opt-out file not found: {p}")
        for lineno, raw in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            kind, _, value = line.partition(":")
            value = value.strip()
            if kind == "repo" and value:
                out.repos.add(value.lower())
            elif kind == "path" and value:
                out.paths.append(value)
            elif kind == "author" and value:
                out.authors.add(value.lower())
            else:
                raise InputError(f"{p}:{lineno}: expected repo:NAME, path:GLOB or author:NAME, got {raw.strip()!r}")
        return out

    def __bool__(self) -> bool:
        return bool(self.repos or self.paths or self.authors)

    def reason(self, repo: str | None, path: str | None, authors: set[str] | frozenset[str] = frozenset()) -> str | None:
        """Why this file is opted out, or None."""
        if repo and repo.lower() in self.repos:
            return f"opt-out: repository {repo}"
        if path:
            for pattern in self.paths:
                if fnmatch.fnmatch(path, pattern):
                    return f"opt-out: path {pattern}"
        hit = {a.lower() for a in authors} & self.authors
        if hit:
            return f"opt-out: author {sorted(hit)[0]}"
        return None
