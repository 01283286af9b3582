"""Language runners: one file per language, each registered in `codealign.registry.LANGUAGES`.

A runner file holds two halves. The host half is a class (`name`, `available()`, `runtime_version()`, `binds()`,
`child_file`) that the engine uses to set up a pool and key the cache. The child half is two module-level functions
that the worker loads from `child_file` inside the sandbox, so the file may import only the standard library at
module level: `preload()` runs once in the worker before any fork, and `execute(request, token_fd, nonce)` runs in
the forked child after isolation and limits are in place. `execute` never returns; it writes a JSON line holding
`nonce` to `token_fd` only when the tests ran to the end (or to report a typed failure), then exits. An optional
`refine(result) -> result` lets a runner reclassify what only it can read, such as its runtime's out-of-memory abort.
"""
