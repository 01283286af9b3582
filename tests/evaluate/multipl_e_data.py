"""One problem ("add two numbers") in MultiPL-E's layout for eight languages, written for the tests, with a right
and a wrong completion each. Right completions run on past their stop token, as a base model does; only the cut at
the stop token makes them pass."""

from __future__ import annotations

DOC = "Add two numbers x and y"

ROWS = {
    "cpp": {
        "prompt": f"#include<assert.h>\n#include<bits/stdc++.h>\n// {DOC}\n// >>> add((2), (3))\n// (5)\n"
                  "long add(long x, long y) {\n",
        "tests": "}\nint main() {\n    auto candidate = add;\n    assert(candidate((0), (1)) == (1));\n"
                 "    assert(candidate((2), (3)) == (5));\n    assert(candidate((7), (5)) == (12));\n}\n",
        "stop_tokens": ["\n}"],
        "right": "    return x + y;\n}\n\nint main() { return 1; }\n",
        "wrong": "    return x - y;\n",
    },
    "java": {
        "prompt": "import java.util.*;\nimport java.lang.reflect.*;\nimport org.javatuples.*;\nimport java.security.*;\n"
                  "import java.math.*;\nimport java.io.*;\nimport java.util.stream.*;\nclass Problem {\n"
                  f"    // {DOC}\n    // >>> add((2l), (3l))\n    // (5l)\n    public static long add(long x, long y) {{\n",
        "tests": "    }\n    public static void main(String[] args) {\n    assert(add((0l), (1l)) == (1l));\n"
                 "    assert(add((2l), (3l)) == (5l));\n    assert(add((7l), (5l)) == (12l));\n    }\n\n}\n",
        "stop_tokens": ["\n    }\n"],
        "right": "        return x + y;\n    }\n    public static void main(String[] args) { System.exit(1); }\n}\n",
        "wrong": "        return x * y;\n",
    },
    "go_test.go": {
        "prompt": f'package add_test\n\nimport (\n    "testing"\n    "fmt"\n)\n\n// {DOC}\n// >>> add(2, 3)\n// 5\n'
                  "func add(x int, y int) int {\n",
        "tests": "\nfunc TestAdd(t *testing.T) {\n  candidate := add\n\ttype test struct {\n\t\tactual   interface{}\n"
                 "\t\texpected interface{}\n\t}\n   tests := []test{\n     { actual: candidate(0, 1), expected: 1 },\n"
                 "     { actual: candidate(2, 3), expected: 5 },\n     { actual: candidate(7, 5), expected: 12 },\n   }\n\n"
                 "\tfor i, tc := range tests {\n\t\tt.Run(fmt.Sprintf(\"test num % d\", i), func(t *testing.T) {\n"
                 "\t\t\tif fmt.Sprintf(\"%v\", tc.actual) != fmt.Sprintf(\"%v\", tc.expected) {\n"
                 "\t\t\t\tt.Errorf(\"expected '%s', got '%s'\", tc.expected, tc.actual)\n\t\t\t}\n\t\t})\n\t}\n}\n",
        "stop_tokens": ["\nfunc", "struct", "\n// "],
        "right": "\treturn x + y\n}\n\nfunc TestNothing(t *testing.T) { t.Fatal(\"ran past\") }\n",
        "wrong": "\treturn x + y + 1\n}\n",
    },
    "rs": {
        "prompt": f"/// {DOC}\n/// >>> add(2, 3)\n/// 5\nfn add(x: isize, y: isize) -> isize {{\n",
        "tests": "}\n\nfn main() {\n    let candidate = add;\n    assert_eq!(candidate(0, 1), 1);\n"
                 "    assert_eq!(candidate(2, 3), 5);\n    assert_eq!(candidate(7, 5), 12);\n}\n",
        "stop_tokens": ["\n}"],
        "right": "    x + y\n}\n\nfn unused() { std::process::exit(1) }\n",
        "wrong": "    x - y +\n",  # does not compile
    },
    "js": {
        "prompt": f"//{DOC}\n// >>> add(2, 3)\n// 5\nfunction add(x, y){{\n",
        "tests": "\nconst assert = require('node:assert');\n\n\nfunction test() {\n  let candidate = add;\n"
                 "  assert.deepEqual(candidate(0, 1),1);\n  assert.deepEqual(candidate(2, 3),5);\n"
                 "  assert.deepEqual(candidate(7, 5),12);\n}\n\ntest();",
        "stop_tokens": ["\nfunction ", "\n/*", "\n//", "\nconsole.log"],
        "right": "  return x + y;\n}\nconsole.log(process.exit(1));\n",
        "wrong": "  return String(x) + String(y);\n}\n",
    },
    "ts": {
        "prompt": f"//{DOC}\n// >>> add(2, 3)\n// 5\nfunction add(x: number, y: number): number {{\n",
        "tests": "\ndeclare var require: any;\nconst assert = require('node:assert');\n\nfunction test() {\n"
                 "  let candidate = add;\n  assert.deepEqual(candidate(0, 1),1);\n  assert.deepEqual(candidate(2, 3),5);\n"
                 "  assert.deepEqual(candidate(7, 5),12);\n}\n\ntest();",
        "stop_tokens": ["\nfunction ", "\n/*", "\n//", "\nconsole.log"],
        "right": "  return x + y;\n}\n// run-on comment\nprocess.exit(1);\n",
        "wrong": "  return `${x}${y}`;\n}\n",  # a type error: string is not number
    },
    "sh": {
        "prompt": f'#!/bin/bash\n# {DOC}\n# >>> $(add "2" "3")\n# "5"\n#\n# $1 is an integer\n# $2 is an integer\n'
                  "add() {\n",
        "tests": '}\n\ncandidate() {\n    add "$@"\n}\n\nset -e\nrun_test() {\n    [[ $(candidate "0" "1") = "1" ]]\n'
                 '    [[ $(candidate "2" "3") = "5" ]]\n    [[ $(candidate "7" "5") = "12" ]]\n}\n\nrun_test',
        "stop_tokens": ["\n}"],
        "right": "    echo $(( $1 + $2 ))\n}\nexit 1\n",
        "wrong": "    echo $(( $1 * $2 ))\n",
    },
    "py": {
        "prompt": f'def add(x: int, y: int) -> int:\n    """{DOC}\n    >>> add(2, 3)\n    5\n    """\n',
        "tests": "def check(candidate):\n    assert candidate(0, 1) == 1\n    assert candidate(2, 3) == 5\n"
                 "    assert candidate(7, 5) == 12\n\ndef test_check():\n    check(add)\n\ntest_check()\n",
        "stop_tokens": ["\ndef", "\n#", "\nif", "\nclass"],
        "right": "    return x + y\n\ndef add(x, y):\n    return 0\n",
        "wrong": "    return x + y + 1\n",
    },
}  # fmt: skip


def rows() -> list[dict]:
    """The rows as the `nuprl/MultiPL-E` dataset has them (plus nothing of ours)."""
    return [{"name": "HumanEval_53_add", "language": code, "prompt": r["prompt"], "doctests": "transform",
             "original": "HumanEval_53_add.py", "prompt_terminology": "reworded", "tests": r["tests"],
             "stop_tokens": r["stop_tokens"]} for code, r in ROWS.items()]  # fmt: skip
