"""Readers: turn a source (folder, git repository at a revision, JSONL/Parquet, Hugging Face dataset) into files.

Every file carries its provenance: path, repository, commit, license (SPDX id and class) and, for git sources, the
authors who touched it (for opt-out lists).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codealign.curate.licenses import LicenseMap, classify, is_license_file
from codealign.errors import InputError, MissingDependency
from codealign.records import BadLine, iter_rows

SKIP_DIRS = {".git", "__pycache__", ".hg", ".svn", ".tox", ".mypy_cache", ".pytest_cache", "node_modules"}
MAX_FILE_BYTES = 1 << 20  # The Stack drops files over 1 MB
CONTENT_FIELDS = ("content", "code", "text", "seed", "source")


@dataclass
class SourceFile:
    path: str
    text: str
    repo: str | None = None
    commit: str | None = None
    license: str | None = None
    authors: frozenset[str] = field(default_factory=frozenset)
    license_source: str | None = None  # what decided the license: "file header", "package X", "license file Y"
    extra: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # a dataset row's own language column; files go by their suffix

    @property
    def license_class(self) -> str:
        return classify(self.license)

    def provenance(self) -> dict[str, Any]:
        out = {"path": self.path, "repo": self.repo, "commit": self.commit, "license": self.license,
               "license_class": self.license_class}  # fmt: skip
        if self.license_source is not None:
            out["license_source"] = self.license_source
        out.update(self.extra)
        return out


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    try:
        res = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise MissingDependency("git", purpose="reading git repositories") from exc
    if res.returncode != 0:
        raise InputError(f"git {' '.join(args[:2])} failed in {repo}: {res.stderr.decode(errors='replace').strip()}")
    return res.stdout


def is_git_repo(path: Path) -> bool:
    return (path / ".git").exists() or (path / "HEAD").is_file() and (path / "objects").is_dir()


def repo_name(path: Path) -> str:
    try:
        url = _git(path, "config", "--get", "remote.origin.url").decode().strip()
    except InputError:
        url = ""
    name = url.rstrip("/").removesuffix(".git") if url else str(path.resolve())
    return "/".join(name.replace(":", "/").split("/")[-2:]) if url else path.resolve().name


def _decode(raw: bytes) -> str | None:
    if b"\0" in raw[:8192]:
        return None  # binary
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_folder(root: Path, suffixes: tuple[str, ...], skipped: list[BadLine]) -> Iterator[SourceFile]:
    licenses = LicenseMap.scan(root)
    repo = commit = None
    if is_git_repo(root):
        repo = repo_name(root)
        commit = _git(root, "rev-parse", "HEAD").decode().strip() if (root / ".git").exists() else None
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if suffixes and not name.endswith(suffixes):
                continue
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            try:
                if p.stat().st_size > MAX_FILE_BYTES:
                    skipped.append(BadLine(rel, 0, "file over 1 MB"))
                    continue
                text = _decode(p.read_bytes())
            except OSError as exc:
                skipped.append(BadLine(rel, 0, f"unreadable: {exc.strerror}"))
                continue
            if text is None:
                skipped.append(BadLine(rel, 0, "binary or not UTF-8"))
                continue
            lic, source = licenses.decide(rel, text)
            yield SourceFile(rel, text, repo, commit, lic, license_source=source)


def _authors_by_path(repo: Path, rev: str) -> dict[str, set[str]]:
    """Everyone who committed to each path up to `rev`, in one `git log` pass."""
    out: dict[str, set[str]] = {}
    log = _git(repo, "log", "--format=\x01%an\x02%ae", "--name-only", rev).decode("utf-8", "replace")
    for block in log.split("\x01")[1:]:
        head, _, names = block.partition("\n")
        name, _, email = head.partition("\x02")
        for path in names.split("\n"):
            if path.strip():
                out.setdefault(path.strip(), set()).update({name.strip(), email.strip()})
    return out


def read_git(repo: Path, rev: str, suffixes: tuple[str, ...], skipped: list[BadLine]) -> Iterator[SourceFile]:
    """Files of `repo` as of `rev`, read from git objects (the working tree is never touched)."""
    commit = _git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()
    name = repo_name(repo)
    entries = []
    for line in _git(repo, "ls-tree", "-r", "-z", "--long", commit).split(b"\0"):
        if not line:
            continue
        meta, path = line.split(b"\t", 1)
        _, kind, sha, size = meta.split()
        if kind == b"blob":
            entries.append((path.decode("utf-8", "replace"), sha.decode(), int(size) if size != b"-" else 0))
    license_texts = {p: _git(repo, "cat-file", "blob", sha).decode("utf-8", "replace")
                     for p, sha, _ in entries if is_license_file(p.rsplit("/", 1)[-1])}  # fmt: skip
    licenses = LicenseMap.from_files(license_texts)
    authors = _authors_by_path(repo, commit)
    wanted = [(p, sha, size) for p, sha, size in entries if not suffixes or p.endswith(suffixes)]
    for p, _, size in wanted:
        if size > MAX_FILE_BYTES:
            skipped.append(BadLine(p, 0, "file over 1 MB"))
    wanted = [(p, sha) for p, sha, size in wanted if size <= MAX_FILE_BYTES]
    for chunk in range(0, len(wanted), 256):  # a chunk of blobs at a time: memory stays bounded on big repositories
        part = wanted[chunk : chunk + 256]
        blobs = _git(repo, "cat-file", "--batch", input="".join(f"{sha}\n" for _, sha in part).encode())
        pos = 0
        for p, _ in part:
            header_end = blobs.index(b"\n", pos)
            size = int(blobs[pos:header_end].split()[2])
            raw = blobs[header_end + 1 : header_end + 1 + size]
            pos = header_end + 1 + size + 1
            text = _decode(raw)
            if text is None:
                skipped.append(BadLine(p, 0, "binary or not UTF-8"))
                continue
            lic, source = licenses.decide(p, text)
            yield SourceFile(p, text, name, commit, lic, frozenset(authors.get(p, ())), license_source=source)


def _field(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    for n in names:
        if row.get(n) not in (None, ""):
            return row[n]
    return None


def read_rows(path: Path, content_field: str | None, skipped: list[BadLine]) -> Iterator[SourceFile]:
    """Rows of JSONL/Parquet files with a content column; path/repo/license columns are used when present."""
    fields = (content_field,) if content_field else CONTENT_FIELDS
    for n, row in enumerate(iter_rows(path, skipped), 1):
        text = _field(row, fields)
        if not isinstance(text, str):
            skipped.append(BadLine(str(path), n, f"row has no text in {'/'.join(fields)}"))
            continue
        yield _row_file(row, text, f"{path.name}#{n}")


def _row_file(row: dict[str, Any], text: str, default_path: str) -> SourceFile:
    lic = _field(row, ("license", "max_stars_repo_licenses", "licenses"))
    if isinstance(lic, list):
        lic = " OR ".join(map(str, lic)) if lic else None
    authors = _field(row, ("author", "authors"))
    return SourceFile(
        path=str(_field(row, ("path", "max_stars_repo_path", "file_path")) or default_path),
        text=text,
        repo=_field(row, ("repo", "repo_name", "max_stars_repo_name", "repository")),
        commit=_field(row, ("commit", "revision", "max_stars_repo_head_hexsha")),
        license=lic,
        authors=frozenset([authors] if isinstance(authors, str) else authors or ()),
        language=_field(row, ("language", "lang")) or None,
    )


def read_hf(name: str, split: str, content_field: str | None) -> Iterator[SourceFile]:
    """A Hugging Face dataset, streamed; needs `datasets` and a reachable hub (or a local cache)."""
    from codealign.hub import go_offline_if_unreachable

    offline = go_offline_if_unreachable()  # the hub libraries then fail at once instead of retrying for a minute
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependency("datasets", "hf", purpose=f"reading the Hugging Face dataset {name}") from exc
    try:
        ds = datasets.load_dataset(name, split=split, streaming=True)
        rows = iter(ds)
        first = next(rows, None)
    except Exception as exc:  # the hub raises many types; all mean "cannot get this dataset"
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if offline is not None:
            reason = f"the hub cannot be reached: {offline}"
        raise InputError(
            f"cannot load Hugging Face dataset {name!r} ({reason}); check the name and that the hub is reachable, "
            "or download it and pass the JSONL/Parquet files"
        ) from None
    fields = (content_field,) if content_field else CONTENT_FIELDS
    for n, row in enumerate([first] if first else [], 1):
        yield _row_file(row, _field(row, fields) or "", f"{name}#{n}")
    for n, row in enumerate(rows, 2):
        text = _field(row, fields)
        if isinstance(text, str):
            yield _row_file(row, text, f"{name}#{n}")


def open_source(
    source: str,
    *,
    rev: str | None = None,
    suffixes: tuple[str, ...] = (".py",),
    content_field: str | None = None,
    split: str = "train",
    skipped: list[BadLine] | None = None,
) -> Iterator[SourceFile]:
    """Files of any supported source; unreadable files and rows are appended to `skipped`, never fatal."""
    bad = skipped if skipped is not None else []
    p = Path(source)
    if p.is_dir():
        if rev is not None:
            if not is_git_repo(p):
                raise InputError(f"--rev needs a git repository, and {p} is not one")
            return read_git(p, rev, suffixes, bad)
        return read_folder(p, suffixes, bad)
    if p.is_file():
        if p.suffix not in (".jsonl", ".json", ".parquet"):
            raise InputError(f"unsupported input file {p}: use a folder, a git repository, .jsonl or .parquet")
        return read_rows(p, content_field, bad)
    if not looks_like_path(source):
        return read_hf(source, split, content_field)
    raise InputError(f"source not found: {source} (a folder, a git repository, a .jsonl/.parquet file, or owner/dataset)")


def looks_like_path(source: str) -> bool:
    """Whether a source that does not exist was meant as a local path rather than a hub id `owner/name`.

    A path is anything with a file suffix, more or fewer than one slash, a leading `.`, `/` or `~`, or whose first
    part is an existing folder (`in/nope.jsonl` when `in/` exists).
    """
    if source.startswith((".", "/", "~")) or source.count("/") != 1 or "\\" in source:
        return True
    owner, name = source.split("/")
    if not owner or not name or Path(owner).is_dir():
        return True
    return Path(name).suffix.lower() in (".jsonl", ".json", ".parquet", ".py", ".gz", ".zip", ".txt", ".csv")
