"""Language runners: one file per language, each registered in `codealign.registry.LANGUAGES`.

A runner file holds two halves. The host half is a class (`name`, `available()`, `runtime_version()`, `binds()`,
`child_file`; optionally `missing()`, the one line that names the package to install, `child_config()`, what the child
half must know such as resolved tool paths, `requires`, other languages it runs on, and `compile_limits`, the
compiler's default limits, which make it a compiled language) that the engine uses to set up a pool and key the
cache. The child half is module-level functions that the worker loads from `child_file` inside the sandbox, so the
file may import only the standard library at module level (a file's host half imports `_toolchain` only when
`__name__` is not `codealign_lang_<name>`, the name it is loaded under in the sandbox): `configure(config)` and
`preload()` run once in the worker before any fork; `execute(request, token_fd, nonce)` runs in the forked child after
isolation and limits are in place. `execute` never returns; it writes a JSON line holding `nonce` to `token_fd` only
when the tests ran to the end (or to report a typed failure), then exits. An optional `refine(result) -> result` lets
a runner reclassify what only it can read, such as its runtime's out-of-memory abort.

A compiled language adds `compile(request)`, run first in a child of its own under the compiler's limits: it writes
the sources into the working directory and becomes the compiler, whose output goes to `build/`. Exit status 0 is a
build; anything else is `syntax` with the compiler's message (`compiled(raw, verdict)` may reclassify, e.g. a compiler
out of memory). The engine keeps each build by the hash of the source, toolchain and runner, and sends it back with
a later program of the same source, which then runs without compiling.
"""
