"""Seeds from C++, Java, Go, Rust, JavaScript, TypeScript and shell files: the SelfCodeAlign seed rules' equivalents
per language, with every rejection explained."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("tree_sitter", reason="the langs extra (tree-sitter grammars) is not installed")

from codealign.curate.extract import extract_functions  # noqa: E402
from codealign.curate.filters import SEED_RULES, build_filters, verdict_reason  # noqa: E402
from codealign.curate.pipeline import CurateConfig, run_curate  # noqa: E402
from codealign.curate.readers import SourceFile  # noqa: E402

# One file per language: the first function of each is a good seed; each other one breaks one rule (named after it).
FILES = {
    "geometry.cpp": '''#include <cmath>
#include <cstdlib>
#include <vector>

/// Returns the Euclidean length of a vector of coordinates.
double norm(const std::vector<double>& xs) {
    double s = 0;
    for (double x : xs) s += x * x;
    return std::sqrt(s);
}

double no_doc(double x) { return x * 2; }

// Prints a point.
void returns_nothing(double x) { (void)x; }

// The answer.
int no_arguments(void) { return 42; }

// Runs a shell command.
int uses_system(const char* command) { return std::system(command); }

namespace shapes {
/** Area of a w x h rectangle. */
template <typename T>
T area(T w, T h) { return w * h; }
}

int main() { return 0; }
''',
    "Strings.java": '''import java.io.File;

public class Strings {
    /** Reverses a string. */
    public static String reverse(String s) {
        return new StringBuilder(s).reverse().toString();
    }

    // A line comment is not Javadoc.
    public static int noDoc(int x) { return x + 1; }

    /** Prints a greeting. */
    public static void returnsNothing(String name) { System.out.println(name); }

    /** The answer. */
    public static int noArguments() { return 42; }

    /** Deletes a file. */
    public static boolean usesSystem(String path) { return new File(path).delete(); }

    public static void main(String[] args) {}
}
''',
    "words.go": '''package words

import (
	"os"
	"strings"
)

// Capitalize upper-cases the first letter of every word.
func Capitalize(s string) string {
	return strings.Title(s)
}

func NoDoc(s string) string { return s }

// ReturnsNothing prints.
func ReturnsNothing(s string) { _ = s }

// NoArguments answers.
func NoArguments() int { return 42 }

// UsesSystem reads an environment variable.
func UsesSystem(key string) string { return os.Getenv(key) }
''',
    "stats.rs": '''use std::fs;

/// Arithmetic mean of a slice (0 for an empty one).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() { 0.0 } else { xs.iter().sum::<f64>() / xs.len() as f64 }
}

// A plain comment is not a doc comment.
fn no_doc(x: i32) -> i32 { x }

/// Prints.
fn returns_nothing(x: i32) { println!("{}", x); }

/// The answer.
fn no_arguments() -> i32 { 42 }

/// Reads a file.
fn uses_system(path: &str) -> String { fs::read_to_string(path).unwrap_or_default() }

#[cfg(test)]
mod tests {
    /// A helper of the tests, not a seed.
    fn helper(x: i32) -> i32 { x }
}
''',
    "text.js": '''const fs = require('fs');

/** Counts the vowels of a string. */
function countVowels(s) {
  return (s.match(/[aeiou]/gi) || []).length;
}

function noDoc(x) { return x; }

/** Logs. */
function returnsNothing(x) { console.log(x); }

/** The answer. */
function noArguments() { return 42; }

/** Reads a file. */
function usesSystem(path) { return fs.readFileSync(path, 'utf8'); }
''',
    "clamp.ts": '''/** Clamps a number to [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

export function noDoc(x: number): number { return x; }

/** Logs. */
export function returnsNothing(x: string): void { console.log(x); }

/** The answer. */
export const noArguments = (): number => 42;

/** The environment. */
export function usesSystem(key: string): string { return process.env[key] ?? ""; }
''',
    "tools.sh": '''#!/bin/bash

# Prints its arguments joined by commas.
join_by_comma() {
  local IFS=,
  echo "$*"
}

no_doc() { echo "$1"; }

# Checks a number, printing nothing.
returns_nothing() {
  [ "$1" -gt 0 ]
}

# Prints a greeting.
no_arguments() { echo hello; }

# Empties a folder.
uses_system() {
  rm -rf "$1"
  echo done
}
''',
}
GOOD = {"cpp": {"norm", "area"}, "java": {"reverse"}, "go": {"Capitalize"}, "rust": {"mean"},
        "javascript": {"countVowels"}, "typescript": {"clamp"}, "shell": {"join_by_comma"}}  # fmt: skip
RULE_OF = {"no_doc": "docstring_first", "nodoc": "docstring_first", "returns_nothing": "returns_value",
           "returnsnothing": "returns_value", "no_arguments": "has_arguments", "noarguments": "has_arguments",
           "uses_system": "no_system_modules", "usessystem": "no_system_modules"}  # fmt: skip
LANGUAGE_OF = {"cpp": "cpp", "java": "java", "go": "go", "rs": "rust", "js": "javascript", "ts": "typescript",
               "sh": "shell"}  # fmt: skip


def _first_rejection(record) -> str | None:
    for flt in build_filters(SEED_RULES):
        reason = verdict_reason(flt, flt.keep(record))
        if reason:
            return reason
    return None


@pytest.mark.parametrize("path", sorted(FILES))
def test_each_seed_rule_in_each_language(path):
    language = LANGUAGE_OF[path.rsplit(".", 1)[1]]
    records = list(extract_functions(SourceFile(path, FILES[path]), language))
    names = [r.data["name"] for r in records]
    assert "main" not in names and "helper" not in names  # entry points and test helpers are not seeds
    verdicts = {r.data["name"]: _first_rejection(r) for r in records}
    for name, reason in verdicts.items():
        if name in GOOD[language]:
            assert reason is None, (name, reason)
        else:
            rule = RULE_OF[name.lower()]
            assert reason is not None and reason.startswith(rule), (name, reason)
    assert {n for n, r in verdicts.items() if r is None} == GOOD[language]
    first = records[0]
    assert first.data["language"] == language and first.provenance["path"] == path
    assert first.data["seed"].lstrip().startswith(("///", "/**", "//", "#")), first.data["seed"]  # with its doc


def test_system_apis_reached_through_imports_and_aliases():
    go = '''package p

import osx "os"

// Home reads HOME.
func Home(key string) string { return osx.Getenv(key) }
'''
    rust = '''use std::process::Command as Run;

/// Runs true.
fn ok(name: &str) -> bool { Run::new(name).status().is_ok() }
'''
    js = '''import { execSync as run } from 'node:child_process';

/** Runs a command. */
export function shell(cmd) { return run(cmd).toString(); }
'''
    for path, language, text in (("a.go", "go", go), ("a.rs", "rust", rust), ("a.js", "javascript", js)):
        (record,) = extract_functions(SourceFile(path, text), language)
        assert _first_rejection(record).startswith("no_system_modules: uses"), (language, _first_rejection(record))


def test_curate_a_folder_of_seven_languages(tmp_path):
    src = tmp_path / "project"
    src.mkdir()
    (src / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining "
                                 "a copy of this software ...\n\nThe above copyright notice and this permission "
                                 "notice shall be included in all copies or substantial portions of the Software.\n")  # fmt: skip
    for name, text in FILES.items():
        (src / name).write_text(text)
    (src / "broken.go").write_text("package words\n\nfunc Broken( {\n")
    (src / "notes.py").write_text("def f(x):\n    '''Twice.'''\n    return 2 * x\n")  # not asked for
    out = tmp_path / "seeds.jsonl"
    cfg = CurateConfig(languages=["cpp", "java", "go", "rust", "js", "ts", "bash"], decontaminate=[], near_dedup=False)
    funnel = run_curate(str(src), out, cfg, show=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    got: dict[str, set[str]] = {}
    for row in rows:
        got.setdefault(row["language"], set()).add(row["name"])
    assert got == GOOD
    assert all(row["provenance"]["license_class"] == "permissive" for row in rows)
    rejects = [json.loads(line) for line in (tmp_path / "seeds.rejects.jsonl").read_text().splitlines()]
    assert any(r["provenance"]["path"] == "broken.go" and r["reason"].startswith("parses: syntax error line 3")
               for r in rejects), rejects  # fmt: skip
    rules = next(step for step in funnel["steps"] if step["step"] == "seed rules")
    assert rules["out"] == len(rows) == sum(map(len, GOOD.values()))
    assert {reason.split(":")[0] for reason in rules["rejected"]} == {
        "docstring_first", "returns_value", "has_arguments", "no_system_modules"}  # fmt: skip


def test_curate_cli_reads_the_stacks_language_column(tmp_path):
    rows = [
        {"content": FILES["stats.rs"], "lang": "Rust", "path": "src/stats.rs", "license": "MIT"},
        {"content": FILES["tools.sh"], "lang": "Shell", "path": "bin/tools", "license": "Apache-2.0"},
        {"content": FILES["Strings.java"], "lang": "Java", "path": "Strings.java", "license": "MIT"},
    ]
    data = tmp_path / "stack.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "seeds.jsonl"
    done = subprocess.run([sys.executable, "-m", "codealign", "curate", data, "-o", out, "--languages",
                           "rust,shell", "--decontaminate", "", "--no-near-dedup"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    seeds = [json.loads(line) for line in out.read_text().splitlines()]
    assert {(s["language"], s["name"]) for s in seeds} == {("rust", "mean"), ("shell", "join_by_comma")}
    rejects = (tmp_path / "seeds.rejects.jsonl").read_text()
    assert "language: java (not in rust, shell)" in rejects
