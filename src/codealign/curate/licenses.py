"""License detection for folders and repositories, classification, and opt-out lists.

A file's license is decided by the nearest statement about it, in this order: the file itself (an
`SPDX-License-Identifier`, or a license notice in its leading comments or docstring); the package it belongs to
(`*.dist-info` / `*.egg-info` metadata: License-Expression, license classifiers, License, and the license files in
it, for the folders and modules the package installed); the nearest LICENSE/COPYING/LICENCE/UNLICENSE file above
it (a vendored folder with its own license file is classified on its own). `LicenseMap.decide` returns the license
with the source that decided it. Texts are recognised by phrases each license's text must contain.
"""

from __future__ import annotations

import contextlib
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


# Short notices that name a license without its text; only looked for in a file's own leading comments.
_NOTICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MIT", ("mit license",)),
    ("Apache-2.0", ("apache license", "2.0")),
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("BSD-3-Clause", ("bsd-3-clause",)),
    ("BSD-2-Clause", ("bsd-2-clause",)),
)
_HEADER_LINES = 40
_COMMENT = re.compile(r"^\s*(#|//|/\*|\*|--|;)")
_COMMENT_MARK = re.compile(r"^\s*(#+|//+|/\*+|\*+/?|--|;+)")


def leading_comments(text: str) -> str:
    """The comment lines and module docstring a file opens with (its license header, if it has one)."""
    lines = text.splitlines()[:_HEADER_LINES]
    out: list[str] = []
    quote: str | None = None
    for line in lines:
        stripped = line.strip()
        if quote is not None:
            out.append(line)
            if quote in stripped:
                quote = None
            continue
        if not stripped or _COMMENT.match(line):
            out.append(line)
            continue
        opener = next((q for q in ('"""', "'''") if stripped.lstrip("rRbBuU").startswith(q)), None)
        if opener is not None:
            out.append(line)
            body = stripped.lstrip("rRbBuU")[3:]
            if opener not in body:
                quote = opener
            continue
        break
    return "\n".join(out)


def header_license(text: str) -> str | None:
    """The license a file states about itself: its SPDX identifier, else a license notice in its leading comments."""
    spdx = spdx_header(text)
    if spdx:
        return spdx
    head = "\n".join(_COMMENT_MARK.sub("", line) for line in leading_comments(text).splitlines())
    if not head.strip():
        return None
    found = identify_text(head)
    if found:
        return found
    norm = _WS.sub(" ", head.lower())
    for spdx_id, phrases in _NOTICES:
        if all(p in norm for p in phrases):
            return spdx_id
    return None


def spdx_header(text: str) -> str | None:
    """The `SPDX-License-Identifier` in the first 30 lines of a file, if any."""
    head = "\n".join(text.splitlines()[:30])
    m = _SPDX.search(head)
    return m.group(1).strip() if m else None


@dataclass
class LicenseMap:
    """License per folder (and per module file, for packages) of a tree, with the source that decided each.

    `decide(relpath, text)` gives (license, source) for a file: its own header first, then the nearest entry above it.
    """

    by_dir: dict[str, str | None] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # folder or module path -> "license file X" / "package Y"
    by_file: dict[str, str | None] = field(default_factory=dict)  # single-module packages (six.py)

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
                out.sources[folder] = f"license file {rel}"
        return out

    @classmethod
    def scan(cls, root: Path) -> LicenseMap:
        """License files under `root`, plus the nearest one above it (a subfolder inherits its project's license),
        plus the metadata of installed packages under it."""
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
        metadata: list[Path] = []
        for p in root.rglob("*"):
            if ".git" in p.parts:
                continue
            if p.is_dir() and p.name.endswith((".dist-info", ".egg-info")):
                metadata.append(p)
            elif p.is_file() and _LICENSE_FILE.match(p.name) and not _inside_metadata(p):
                try:
                    files[p.relative_to(root).as_posix()] = p.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
        out = cls.from_files(files)
        for meta in sorted(metadata):
            out.add_package(root, meta)
        return out

    def add_package(self, root: Path, meta: Path) -> None:
        """What an installed package's metadata says, for every top-level folder or module it installed; a
        license file inside the package's own folder still wins (it is as near and says more)."""
        spdx = package_license(meta)
        where = f"package {meta.name}"
        for top in installed_tops(meta):
            target = meta.parent / top
            try:
                rel = target.relative_to(root).as_posix()
            except ValueError:
                continue
            if target.is_dir():
                if self.by_dir.get(rel) is None:
                    self.by_dir[rel] = spdx
                    self.sources[rel] = where
            elif target.with_suffix(".py").is_file() or target.is_file():
                module = rel if rel.endswith(".py") else rel + ".py"
                self.by_file[module] = spdx
                self.sources[module] = where

    def license_for(self, relpath: str) -> str | None:
        return self.decide(relpath)[0]

    def decide(self, relpath: str, text: str | None = None) -> tuple[str | None, str | None]:
        """(license, source) for a file: `header` when the file states it, else the nearest package or license
        file above it; (None, None) when nothing is known."""
        if text is not None:
            own = header_license(text)
            if own:
                return own, "file header"
        if relpath in self.by_file:
            return self.by_file[relpath], self.sources.get(relpath)
        folder = PurePosixPath(relpath).parent
        while True:
            key = str(folder)
            if key in self.by_dir:
                return self.by_dir[key], self.sources.get(key)
            if key in (".", "", "/"):
                return None, None
            folder = folder.parent


def _inside_metadata(path: Path) -> bool:
    return any(part.endswith((".dist-info", ".egg-info")) for part in path.parts[:-1])


_CLASSIFIERS = {
    "mit license": "MIT", "apache software license": "Apache-2.0", "bsd license": "BSD-3-Clause",
    "isc license (iscl)": "ISC", "python software foundation license": "PSF-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "gnu general public license v3 (gplv3)": "GPL-3.0",
    "gnu general public license v2 (gplv2)": "GPL-2.0", "gnu general public license v3 or later (gplv3+)": "GPL-3.0",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0", "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0",
    "gnu library or lesser general public license (lgpl)": "LGPL-2.1", "gnu affero general public license v3": "AGPL-3.0",
    "the unlicense (unlicense)": "Unlicense", "zlib/libpng license": "Zlib", "boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "eclipse public license 2.0 (epl-2.0)": "EPL-2.0", "cc0 1.0 universal (cc0 1.0) public domain dedication": "CC0-1.0",
}  # fmt: skip


def package_license(meta: Path) -> str | None:
    """The license an installed package declares: License-Expression, else its license classifiers, else a
    License field that is an id or a recognisable text, else the license files in its metadata folder."""
    text = ""
    for name in ("METADATA", "PKG-INFO"):
        try:
            text = (meta / name).read_text(encoding="utf-8", errors="replace")
            break
        except OSError:
            continue
    headers = text.split("\n\n", 1)[0]
    fields: dict[str, list[str]] = {}
    for line in headers.splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith((" ", "\t")):
            fields.setdefault(key.strip().lower(), []).append(value.strip())
    for expression in fields.get("license-expression", []):
        if expression:
            return expression
    from_classifiers = [_CLASSIFIERS[c.split("::")[-1].strip().lower()] for c in fields.get("classifier", [])
                        if c.lower().startswith("license ::") and c.split("::")[-1].strip().lower() in _CLASSIFIERS]
    if from_classifiers:
        return " OR ".join(dict.fromkeys(from_classifiers))
    for value in fields.get("license", []):
        if value and value.upper() not in ("UNKNOWN", "NONE"):
            if classify(value) != UNKNOWN:
                return value
            found = identify_text(value)
            if found:
                return found
    for p in sorted(meta.rglob("*")):
        if p.is_file() and _LICENSE_FILE.match(p.name):
            found = identify_text(p.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found
    return None


def installed_tops(meta: Path) -> list[str]:
    """The top-level folders and modules an installed package put next to its metadata folder."""
    tops: list[str] = []
    with contextlib.suppress(OSError):
        tops = [t.strip() for t in (meta / "top_level.txt").read_text(encoding="utf-8").splitlines() if t.strip()]
    if not tops:
        try:
            record = (meta / "RECORD").read_text(encoding="utf-8", errors="replace")
        except OSError:
            record = ""
        for line in record.splitlines():
            first = line.split(",", 1)[0].split("/", 1)[0]
            if first and not first.endswith((".dist-info", ".egg-info", ".pth", ".data")) and first not in ("..", "__pycache__"):
                tops.append(first.removesuffix(".py"))
    if not tops:  # an egg-info or dist-info without either: the package named like the folder
        tops = [re.split(r"[-.]", meta.name, maxsplit=1)[0]]
    return list(dict.fromkeys(tops))


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
