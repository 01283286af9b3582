"""OctoPack-style instruction data from git history: one row per single-file commit whose subject passes the filters.

instruction = cleaned commit subject, input = the file before, output = the file after. The message filters follow
CommitPackFT: an imperative verb first, 10-1000 characters and at least 4 words, no merges, version bumps, WIP,
issue references, URLs, hashes or first-person text, and not just the file's name.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codealign.curate.report import Funnel, progress_bar, side_path
from codealign.errors import ConfigError, InputError
from codealign.records import AtomicWriter, Record

# verbs a commit subject may start with (CommitPackFT keeps ~250; these are the common ones)
_VERBS_TEXT = """
add adjust allow apply avoid bump change check clarify clean cleanup close combine comment complete convert correct
create decrease define delete deprecate disable document drop enable enhance ensure exclude expand expose extend extract
fix format generalize handle hide ignore implement import improve include increase initialize inline introduce use
make merge migrate modify move normalize optimize output patch prepare prevent print raise read rearrange refactor
reformat register reimplement release remove rename reorder reorganize replace report require reset resolve restore
restructure return reuse revert rewrite run save separate set show simplify skip sort speed split standardize stop
store streamline support swap switch test tidy tweak undo unify update upgrade validate verify work wrap write
"""
VERBS = frozenset(_VERBS_TEXT.split())
_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]\s*|[\w./-]+:\s+)+")
_SUFFIX = re.compile(r"\s*(?:\[[^\]]*\]|\((?:skip ci|ci skip)\))\s*$", re.IGNORECASE)
_BAD_EXACT = {"readme", "update", "dummy", "test", "tests", "fix", "wip", "update readme", "initial commit", "first commit"}
_BAD_SUBSTR = ("auto commit", "merge branch", "merge pull request", "signed-off-by", "<?xml", "update contributing",
               "cherry picked from commit", "work in progress", "code review", "thanks to", "| leetcode")  # fmt: skip
_BAD_PATTERNS = [
    (re.compile(r"#\d*"), "issue reference"),
    (re.compile(r"\b(?:issue|bug|feature|ticket|pr)\s*#?\d+", re.IGNORECASE), "issue reference"),
    (re.compile(r"https?://|www\.", re.IGNORECASE), "url"),
    (re.compile(r"\b[0-9a-f]{40}\b"), "commit hash"),
    (re.compile(r"\bwip\b", re.IGNORECASE), "wip"),
    (re.compile(r"^(?:bump|set version|update version|release|version)\b", re.IGNORECASE), "version bump"),
    (re.compile(r"^v?\d+(?:\.\d+)+\S*$"), "version number"),
    (re.compile(r"\b(?:i|i've|i'm|my)\b", re.IGNORECASE), "first person"),
]


def clean_subject(subject: str) -> str:
    s = _PREFIX.sub("", subject.strip())
    s = _SUFFIX.sub("", s)
    return s.strip()


def message_reason(subject: str, path: str) -> str | None:
    """Why a commit subject is not a usable instruction, or None."""
    raw = subject.strip()
    low = raw.lower()
    if low in _BAD_EXACT:
        return "bad message: too generic"
    if any(b in low for b in _BAD_SUBSTR):
        return "bad message: " + next(b for b in _BAD_SUBSTR if b in low)
    for pattern, why in _BAD_PATTERNS:
        if pattern.search(raw):
            return f"bad message: {why}"
    s = clean_subject(raw)
    if not 10 <= len(s) <= 1000:
        return "message length: not 10-1000 characters"
    words = s.split()
    if len(words) < 4:
        return "message length: fewer than 4 words"
    if not s[0].isupper():
        return "message form: does not start with a capital letter"
    if words[0].lower().rstrip(".,:") not in VERBS:
        return f"message form: does not start with an imperative verb ({words[0]!r})"
    stem = Path(path).stem.lower()
    if len(stem) > 2 and stem in low and len(words) < 5:
        return "message form: only names the file"
    return None


@dataclass
class Commit:
    sha: str
    parents: list[str]
    subject: str
    authors: frozenset[str]
    changes: list[tuple[str, str]]  # (status, path)


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    res = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, check=False)
    if res.returncode != 0:
        raise InputError(f"git {args[0]} failed in {repo}: {res.stderr.decode(errors='replace').strip()}")
    return res.stdout


def iter_commits(repo: Path, rev: str = "HEAD") -> Iterator[Commit]:
    out = _git(repo, "log", "--format=\x01%H\x02%P\x02%an\x02%ae\x02%s", "--name-status", "--no-renames", rev)
    for block in out.decode("utf-8", "replace").split("\x01")[1:]:
        head, _, rest = block.partition("\n")
        sha, parents, name, email, subject = head.split("\x02", 4)
        changes = [tuple(line.split("\t", 1)) for line in rest.splitlines() if "\t" in line]
        yield Commit(sha, parents.split(), subject, frozenset({name, email}), changes)  # type: ignore[arg-type]


def _blob(repo: Path, rev: str, path: str) -> str | None:
    res = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True, check=False)
    if res.returncode != 0 or b"\0" in res.stdout[:8192]:
        return None
    try:
        return res.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


def run_commits(
    repo: str | Path,
    output: str | Path,
    rev: str = "HEAD",
    suffixes: tuple[str, ...] = (".py",),
    max_chars: int = 50_000,
    pii: bool = True,
    optout: str | None = None,
    show: bool = True,
) -> dict[str, Any]:
    """Write OctoPack-style rows for the commits of `repo`; returns the funnel (also written next to the output)."""
    from codealign.curate.licenses import LicenseMap, OptOut, classify
    from codealign.curate.pii import redact
    from codealign.curate.readers import is_git_repo, repo_name

    root = Path(repo)
    if not root.is_dir() or not is_git_repo(root):
        raise InputError(f"not a git repository: {root}")
    out = Path(output)
    if out.suffix != ".jsonl":
        raise ConfigError(f"output must be a .jsonl file, got {out}")
    t0 = time.perf_counter()
    opt = OptOut.load(optout)
    name = repo_name(root)
    licenses = LicenseMap.scan(root)
    funnel = Funnel(side_path(out, "rejects.jsonl"))
    written, ok = 0, False
    try:
        with progress_bar() as bar, AtomicWriter(out) as fh:
            commits = list(iter_commits(root, rev))
            task = bar.add_task("commits", total=len(commits), note="")
            for c in commits:
                bar.update(task, advance=1, note=f"{written:,} kept")
                row: dict[str, Any] = {"commit": c.sha, "subject": c.subject}
                reason = _commit_reason(c, suffixes)
                path = c.changes[0][1] if len(c.changes) == 1 else ""
                if reason is None:
                    reason = opt.reason(name, path, c.authors) if opt else None
                if reason is None:
                    reason = message_reason(c.subject, path)
                if reason is not None:
                    funnel.reject("commits", reason, row)
                    continue
                before, after = _blob(root, c.parents[0], path), _blob(root, c.sha, path)
                if before is None or after is None:
                    funnel.reject("commits", "content: binary or not UTF-8", row)
                    continue
                if before == after or not after.strip():
                    funnel.reject("commits", "content: unchanged or emptied", row)
                    continue
                if len(before) >= max_chars:
                    funnel.reject("commits", f"content: file over {max_chars} characters", row)
                    continue
                audit: list[dict[str, Any]] = []
                if pii:
                    before, a1 = redact(before)
                    after, a2 = redact(after)
                    audit = [r.to_dict() | {"field": "input"} for r in a1] + [r.to_dict() | {"field": "output"} for r in a2]
                lic = licenses.license_for(path)
                prov = {"repo": name, "commit": c.sha, "parent": c.parents[0], "path": path, "license": lic,
                        "license_class": classify(lic)}  # fmt: skip
                data = {"instruction": clean_subject(c.subject), "input": before, "output": after}
                rec = Record("commit", data, provenance=prov)
                line = {"id": rec.id, **data, "provenance": prov} | ({"pii": audit} if audit else {})
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
                funnel.keep("commits")
                written += 1
        ok = True
    finally:
        funnel.close(ok)
    funnel.extra.update({"repo": str(root), "rev": rev, "output": str(out), "written": written,
                         "seconds": round(time.perf_counter() - t0, 2)})  # fmt: skip
    funnel.write_json(side_path(out, "funnel.json"))
    if show:
        funnel.print_summary(f"curate commits: {written:,} rows -> {out}", time.perf_counter() - t0)
    return funnel.to_dict()


def _commit_reason(c: Commit, suffixes: tuple[str, ...]) -> str | None:
    if len(c.parents) != 1:
        return "merge commit" if c.parents else "root commit"
    if len(c.changes) != 1:
        return f"not single-file: {len(c.changes)} files"
    status, path = c.changes[0]
    if status != "M":
        return f"not a modification: status {status}"
    if suffixes and not path.endswith(suffixes):
        return f"language: {Path(path).suffix or 'no extension'}"
    return None
