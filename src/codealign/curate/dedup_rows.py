"""`codealign dedup`: exact then near dedup of one field of JSONL/Parquet rows, keeping the first row of each cluster.

JSONL input is read once. Each row's file, byte span and line number are kept (about 40 bytes a row), its field
goes to the exact-dedup digest table and the MinHash index, and the row is forgotten. Candidate pairs are verified by
reading the two rows back by offset; kept rows are copied to the output as raw bytes (byte for byte, in input
order); the rejects file names each dropped row by path and line (and the row it duplicates) instead of copying it.
Parquet input has no line offsets: its rows are read a second time to write the output.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from codealign.curate.lines import jsonl_files, parse_line, read_span, scan_lines, too_long
from codealign.curate.report import Funnel, progress_bar, side_path
from codealign.errors import InputError
from codealign.records import AtomicWriter, BadLine, get_field, iter_rows, no_usable_lines, write_rows

KEEP, NO_TEXT, EXACT, NEAR = 0, 1, 2, 3
STEP = "dedup"


class RowTable:
    """Per row of the input: where it is (file, byte span, line) and what dedup decided (status, duplicate of)."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.file = array("I")
        self.offset = array("q")
        self.end = array("q")
        self.lineno = array("q")
        self.status = bytearray()
        self.of = array("q")  # the kept row a duplicate stands for; -1 otherwise
        self.note: dict[int, str] = {}  # why a row without usable text was rejected

    def __len__(self) -> int:
        return len(self.status)

    def add(self, file: int, offset: int, end: int, lineno: int, status: int = KEEP, of: int = -1) -> int:
        self.file.append(file)
        self.offset.append(offset)
        self.end.append(end)
        self.lineno.append(lineno)
        self.status.append(status)
        self.of.append(of)
        return len(self.status) - 1

    def where(self, r: int) -> dict[str, Any]:
        return {"path": str(self.files[self.file[r]]), "line": self.lineno[r]}

    def reason(self, r: int) -> str:
        status = self.status[r]
        if status == NO_TEXT:
            return self.note[r]
        k = self.of[r]
        place = f"line {self.lineno[k]}" if self.file[k] == self.file[r] else f"{self.files[self.file[k]]}:{self.lineno[k]}"
        return f"{'exact_duplicate' if status == EXACT else 'near_duplicate'}: of {place}"


class RowReader:
    """Reads a row's field back by its byte span (for checking candidate pairs and writing Parquet)."""

    def __init__(self, table: RowTable, field: str) -> None:
        self.table, self.field = table, field
        self._stack = ExitStack()
        self._fh: dict[int, Any] = {}

    def row(self, r: int) -> dict[str, Any]:
        t = self.table
        f = t.file[r]
        fh = self._fh.get(f)
        if fh is None:
            fh = self._fh[f] = self._stack.enter_context(open(t.files[f], "rb"))  # noqa: SIM115
        obj, _, _ = parse_line(read_span(fh, t.offset[r], t.end[r]))
        return obj

    def text(self, r: int) -> str:
        return get_field(self.row(r), self.field)

    def close(self) -> None:
        self._stack.close()


def text_problem(value: Any, field: str, lineno: int) -> str | None:
    """Why a row's field cannot be deduplicated, or None when it is text."""
    if isinstance(value, str):
        return None
    if value is None:
        return f"bad input: line {lineno} has no field {field!r}"
    return f"bad input: line {lineno}: field {field!r} is {type(value).__name__}, not text"


class Scan:
    """One pass over JSONL files: the row table, exact-dedup decisions, and the texts for the near-dedup index."""

    def __init__(self, files: list[Path], field: str, on_rows: Any = None) -> None:
        self.table = RowTable(files)
        self.field = field
        self.bad: list[BadLine] = []
        self.not_utf8 = 0
        self.near_rows = array("q")  # row of each near-dedup document
        self.seen_field = False
        self.first_row_keys: list[str] | None = None
        self._first: dict[bytes, int] = {}
        self._on_rows = on_rows

    def texts(self) -> Iterator[bytes]:
        """The field (UTF-8) of every row that is not an exact duplicate, in input order; fills the table."""
        from codealign.curate.dedup import exact_key

        t = self.table
        first = self._first
        since = 0
        for f, path in enumerate(t.files):
            for line in scan_lines(path):
                if line.raw is None:
                    self.bad.append(BadLine(str(path), line.lineno, too_long(line.end - line.offset)))
                    continue
                if not line.raw.strip():
                    continue
                obj, error, utf8 = parse_line(line.raw)
                self.not_utf8 += not utf8
                if obj is None:
                    self.bad.append(BadLine(str(path), line.lineno, error or ""))
                    continue
                if self.first_row_keys is None:
                    self.first_row_keys = list(obj)
                text = get_field(obj, self.field)
                problem = text_problem(text, self.field, line.lineno)
                if problem is not None:
                    r = t.add(f, line.offset, line.end, line.lineno, NO_TEXT)
                    t.note[r] = problem
                    continue
                self.seen_field = True
                text = text.encode("utf-8", "surrogatepass")
                k = exact_key(text)
                j = first.get(k)
                if j is not None:
                    t.add(f, line.offset, line.end, line.lineno, EXACT, j)
                    continue
                first[k] = t.add(f, line.offset, line.end, line.lineno)
                self.near_rows.append(len(t) - 1)
                since += 1
                if since >= 2048 and self._on_rows:
                    self._on_rows(since)
                    since = 0
                yield text
        if self._on_rows:
            self._on_rows(since)

    def check_field(self, input: str | Path) -> None:
        """A field that no row has is a mistake in the command, not a property of the data; an input without one
        readable row is a failure, not an empty result."""
        if self.first_row_keys is None and self.bad:
            raise no_usable_lines(input, len(self.bad), self.bad[0])
        if not self.seen_field and self.first_row_keys is not None:
            raise InputError(f"no row of {input} has text in field {self.field!r}; the first row has: "
                             f"{', '.join(self.first_row_keys[:12]) or 'no fields'}")  # fmt: skip


def dedup_rows(
    input: str | Path,
    output: str | Path,
    field: str,
    threshold: float = 0.7,
    num_perm: int = 256,
    ngram: int = 5,
    exact_only: bool = False,
    workers: int = 1,
    show: bool = True,
    executor: Any = None,
) -> dict[str, Any]:
    """See `codealign.curate.tools.run_dedup`."""
    t0 = time.perf_counter()
    p, out = Path(input), Path(output)
    if not p.exists():
        raise InputError(f"input file not found: {p}")
    files = jsonl_files(p)
    if files is not None and not files:
        raise InputError(f"no .jsonl or .parquet files in folder: {p}")
    funnel = Funnel(side_path(out, "rejects.jsonl"))
    ok = False
    try:
        with progress_bar() as bar:
            if files is None:
                written, bad, not_utf8 = _dedup_parquet(p, out, field, threshold, num_perm, ngram, exact_only,
                                                        workers, funnel, bar)  # fmt: skip
            else:
                written, bad, not_utf8 = _dedup_jsonl(p, files, out, field, threshold, num_perm, ngram, exact_only,
                                                      workers, funnel, bar, executor)  # fmt: skip
        ok = True
    finally:
        funnel.close(ok)
    funnel.extra.update({"input": str(input), "output": str(out), "field": field, "threshold": threshold,
                         "written": written, "seconds": round(time.perf_counter() - t0, 2)})  # fmt: skip
    if not_utf8:
        funnel.extra["not_utf8_lines"] = not_utf8
    funnel.write_json(side_path(out, "funnel.json"))
    if show:
        from codealign.curate.tools import _print_bad

        funnel.print_summary(f"dedup: {written:,} rows -> {out}", time.perf_counter() - t0)
        _print_bad(bad)
        if not_utf8:
            from rich.console import Console

            Console(stderr=True).print(f"[yellow]note:[/] {not_utf8:,} line(s) are not valid UTF-8; they were "
                                       "compared with U+FFFD for the bad bytes and copied unchanged")  # fmt: skip
    return funnel.to_dict()


def _dedup_jsonl(input: Path, files: list[Path], out: Path, field: str, threshold: float, num_perm: int, ngram: int,
                 exact_only: bool, workers: int, funnel: Funnel, bar: Any, executor: Any
                 ) -> tuple[int, list[BadLine], int]:  # fmt: skip
    from codealign.curate.dedup import NearDedupIndex

    task = bar.add_task("hashing", total=None, note=f"J>={threshold:g}")
    if executor is not None and executor.type != "local":
        from codealign.scale.dedup import cluster_scan

        scan = cluster_scan(files, field, threshold, num_perm, ngram, exact_only, executor,
                            on_rows=lambda n: bar.update(task, advance=n))  # fmt: skip
        scan.check_field(input)
        if scan.near_stats is not None:
            funnel.extra["near_dedup"] = scan.near_stats
        funnel.extra["executor"] = scan.executor
    else:
        scan = Scan(files, field, on_rows=lambda n: bar.update(task, advance=n))
        table = scan.table
        workdir = out.parent if out.parent.exists() else None
        with NearDedupIndex(threshold, num_perm, ngram, workdir=workdir, keep_texts=False) as index:
            if exact_only:
                for _ in scan.texts():
                    pass
                scan.check_field(input)
            else:
                index.add_stream(scan.texts(), workers=workers)
                scan.check_field(input)
                bar.update(task, description="verifying")
                reader = RowReader(table, field)
                try:
                    near = scan.near_rows
                    mask = index.keep_mask(get_text=lambda i: reader.text(near[i]))
                finally:
                    reader.close()
                for local in (~mask).nonzero()[0].tolist():
                    r = near[local]
                    table.status[r] = NEAR
                    table.of[r] = near[int(index.keeper[local])]
                funnel.extra["near_dedup"] = vars(index.stats)
    bar.update(task, description="writing")
    written = write_kept(scan.table, out, field)
    record_rejects(scan.table, funnel, scan.bad)
    return written, scan.bad, scan.not_utf8


def write_kept(table: RowTable, out: Path, field: str) -> int:
    """Kept rows in input order: raw bytes for JSONL output, parsed once for Parquet output."""
    kept = [r for r in range(len(table)) if table.status[r] == KEEP]
    if out.suffix == ".parquet":
        reader = RowReader(table, field)
        try:
            return write_rows(out, (reader.row(r) for r in kept))
        finally:
            reader.close()
    from itertools import groupby

    from codealign.curate.lines import copy_spans

    with AtomicWriter(out, "wb") as dst:
        for f, rows in groupby(kept, key=table.file.__getitem__):  # the table is in file order
            with open(table.files[f], "rb") as src:
                copy_spans(src, dst, ((table.offset[r], table.end[r]) for r in rows))
    return len(kept)


def record_rejects(table: RowTable, funnel: Funnel, bad: list[BadLine]) -> None:
    kept = table.status.count(KEEP)
    if kept:
        funnel.keep(STEP, kept)
    for r in range(len(table)):
        if table.status[r] != KEEP:
            funnel.reject(STEP, table.reason(r), table.where(r))
    for b in bad:
        funnel.reject(STEP, f"bad input: {b.reason}", {"path": b.path, "line": b.lineno})


def _dedup_parquet(input: Path, out: Path, field: str, threshold: float, num_perm: int, ngram: int,
                   exact_only: bool, workers: int, funnel: Funnel, bar: Any) -> tuple[int, list[BadLine], int]:  # fmt: skip
    """Rows without byte offsets: decide in one pass holding one digest per row, then read again to write."""
    from codealign.curate.dedup import NearDedupIndex, exact_key

    bad: list[BadLine] = []
    decision: list[Any] = []
    first: dict[bytes, int] = {}
    near_rows: list[int] = []
    task = bar.add_task("hashing", total=None, note=f"J>={threshold:g}")

    def texts() -> Iterator[str]:
        for i, row in enumerate(iter_rows(input, bad)):
            bar.update(task, advance=1)
            text = get_field(row, field)
            problem = text_problem(text, field, i + 1)
            if problem is not None:
                decision.append(problem.replace(f"line {i + 1}", f"row {i + 1}"))
                continue
            k = exact_key(text)
            if k in first:
                decision.append(f"exact_duplicate: of row {first[k] + 1}")
                continue
            first[k] = i
            decision.append(True)
            near_rows.append(i)
            yield text

    workdir = out.parent if out.parent.exists() else None
    with NearDedupIndex(threshold, num_perm, ngram, workdir=workdir) as index:
        if exact_only:
            for _ in texts():
                pass
        else:
            index.add_stream(texts(), workers=workers)
            mask = index.keep_mask()
            for local, i in enumerate(near_rows):
                if not mask[local]:
                    decision[i] = f"near_duplicate: of row {near_rows[int(index.keeper[local])] + 1}"
            funnel.extra["near_dedup"] = vars(index.stats)
    if decision and not first:
        raise InputError(f"no row of {input} has text in field {field!r}")

    def kept() -> Iterator[dict[str, Any]]:
        for i, row in enumerate(iter_rows(input, [])):
            if decision[i] is True:
                funnel.keep(STEP)
                yield row
            else:
                funnel.reject(STEP, decision[i], {"path": str(input), "row": i + 1})

    written = write_rows(out, kept())
    for b in bad:
        funnel.reject(STEP, f"bad input: {b.reason}", {"path": b.path, "line": b.lineno})
    return written, bad, 0
