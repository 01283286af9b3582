"""Java (javac + java -ea): the program and its tests are one source file, compiled, then run with assertions on.

A small launcher class, compiled with the program, calls the `main` of the last class that declares one (the tests
come after the code), writes the pass report when it returns, and reports an uncaught exception as `failed` with its
class and message (`OutOfMemoryError` as `memory`). So `System.exit(0)` before the tests end is not a pass. The JVM
is sized to fit the address-space limit: the heap gets half of `memory_mb`, and the JVM maps about 450 MiB besides,
so Java programs need `memory_mb` of 512 or more.
Standard library only at module level: the worker loads this file by path inside the sandbox.
"""

from __future__ import annotations

import os
import re

if __name__.startswith("codealign_lang_"):  # loaded by path inside the sandbox: only the child half is used
    Toolchain = object
else:
    from codealign.sandbox.languages._toolchain import Toolchain, command_output, find, outside_usr

_LAUNCHER = "CodealignLauncher"
# Libraries on the class path when installed: MultiPL-E's Java prompts import org.javatuples (Debian package
# libjavatuples-java), under /usr and so visible in the jail.
_LIBRARIES = ("/usr/share/java/javatuples.jar",)
_LAUNCHER_SOURCE = r"""
import java.io.FileOutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;

public final class CodealignLauncher {
    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : String.valueOf(text).toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    private static void report(String fields) {
        String line = "\n{\"nonce\": " + quote(System.getenv("CODEALIGN_NONCE")) + ", " + fields + "}\n";
        try (FileOutputStream token = new FileOutputStream("/proc/self/fd/3")) {
            token.write(line.getBytes("UTF-8"));
        } catch (Exception e) {
            // nothing to report to
        }
    }

    public static void main(String[] args) {
        Method main = null;
        for (String name : args) {
            try {
                Method m = Class.forName(name, false, CodealignLauncher.class.getClassLoader())
                    .getDeclaredMethod("main", String[].class);
                if (Modifier.isStatic(m.getModifiers())) { main = m; break; }
            } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
                // not this class
            }
        }
        if (main == null) {
            report("\"status\": \"failed\", \"error_type\": \"NoMain\", "
                + "\"error\": \"no class declares static void main(String[] args)\"");
            Runtime.getRuntime().halt(1);
        }
        try {
            main.setAccessible(true);
            main.invoke(null, (Object) new String[0]);
        } catch (Throwable thrown) {
            Throwable t = thrown instanceof InvocationTargetException && thrown.getCause() != null
                ? thrown.getCause() : thrown;
            String status = t instanceof OutOfMemoryError ? "memory" : "failed";
            String message = t.getMessage() == null ? "" : t.getMessage();
            for (StackTraceElement frame : t.getStackTrace()) {
                String owner = frame.getClassName();
                if (frame.getFileName() != null && !owner.startsWith("java.") && !owner.startsWith("jdk.")
                        && !owner.startsWith("sun.") && !owner.equals("CodealignLauncher")) {
                    String where = frame.getFileName() + " line " + frame.getLineNumber();
                    message = message.isEmpty() ? where : message + " (" + where + ")";
                    break;
                }
            }
            report("\"status\": \"" + status + "\", \"error_type\": " + quote(t.getClass().getSimpleName())
                + ", \"error\": " + quote(message));
            System.err.println(t);
            for (StackTraceElement frame : t.getStackTrace()) {
                String owner = frame.getClassName();
                if (!owner.startsWith("jdk.internal.reflect.") && !owner.startsWith("java.lang.reflect.")
                        && !owner.equals("CodealignLauncher")) {
                    System.err.println("\tat " + frame);
                }
            }
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
        System.out.flush();
        System.err.flush();
        report("\"status\": \"passed\"");
        Runtime.getRuntime().halt(0);
    }
}
"""

_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_PUBLIC = re.compile(r"^public\s+(?:(?:final|abstract|sealed|strictfp)\s+)*(?:class|interface|enum|record)\s+(\w+)",
                     re.MULTILINE)  # fmt: skip
_CLASS = re.compile(r"\b(?:class|enum|record)\s+(\w+)")


class JavaRunner(Toolchain):
    """Host half: javac and java (Debian package default-jdk-headless); the JDK's /etc config is bound too."""

    name = "java"
    child_file = __file__
    tools = ("javac", "java")
    package = "default-jdk-headless"

    def runtime_version(self) -> str:
        javac = find("javac")
        jars = [os.path.basename(jar) for jar in _LIBRARIES if os.path.isfile(jar)]
        return (command_output(javac, "-version") if javac else "javac (missing)") + "".join(f"; {j}" for j in jars)

    def _java_home(self) -> str | None:
        javac = find("javac")
        return os.path.dirname(os.path.dirname(javac)) if javac else None

    def binds(self) -> list[str]:
        home = self._java_home()
        return _jdk_binds(home) if home else []

    def child_config(self) -> dict:
        jars = [jar for jar in _LIBRARIES if os.path.isfile(jar)]
        return {"javac": find("javac"), "java": find("java"), "classpath": jars}


def _jdk_binds(home: str) -> list[str]:
    out = [home] if outside_usr(home + "/") else []
    if home not in _ETC:
        # Debian's JDK keeps its configuration in /etc/java-N-openjdk, linked from $JAVA_HOME/conf and lib.
        found = set()
        for folder in ("conf", "lib"):
            for root, _, names in os.walk(os.path.join(home, folder)):
                for name in names:
                    target = os.path.realpath(os.path.join(root, name))
                    if target.startswith("/etc/"):
                        found.add("/etc/" + target.split("/")[2])
        _ETC[home] = sorted(found)
    return out + _ETC[home]


_ETC: dict[str, list[str]] = {}

# ---------------------------------------------------------------------------------------------------------------
# Child half

_CONFIG: dict = {}


def configure(config: dict) -> None:
    _CONFIG.update(config)


def preload() -> None:
    pass


def _jvm_flags(memory_mb: int, prefix: str = "") -> list[str]:
    """A JVM that fits its address-space limit: it reserves heap, metaspace and code cache up front."""
    # Besides the heap, a JVM maps about 450 MiB: its module image, code cache, class space and malloc arenas.
    heap = max(32, min(memory_mb // 2, memory_mb - 512))
    return [f"{prefix}{flag}" for flag in (
        f"-Xmx{heap}m", "-XX:+UseSerialGC", "-XX:ReservedCodeCacheSize=32m", "-XX:CompressedClassSpaceSize=32m",
        "-XX:MaxMetaspaceSize=128m", "-XX:-UsePerfData",
    )]  # fmt: skip


_IMPORT = re.compile(r"^\s*import\s+(?:static\s+)?[\w.]+(?:\.\*)?\s*;[ \t]*$", re.MULTILINE)


def _source(code: str, tests: str) -> str:
    """Code, then tests; the tests' own `import` lines move to the top, where Java wants them."""
    imports = _IMPORT.findall(tests)
    if not imports:
        return code + "\n" + tests + "\n"
    tests = _IMPORT.sub("", tests)
    package = _PACKAGE.search(code)
    head, body = (code[: package.end()] + "\n", code[package.end() :]) if package else ("", code)
    return head + "\n".join(i.strip() for i in imports) + "\n" + body + "\n" + tests + "\n"


def compile(request: dict) -> None:
    source = _source(request["code"], request.get("tests") or "")
    public = _PUBLIC.search(source)
    name = public.group(1) if public else "Main"
    with open(f"{name}.java", "w", encoding="utf-8") as fh:
        fh.write(source)
    with open(f"{_LAUNCHER}.java", "w", encoding="utf-8") as fh:
        fh.write(_LAUNCHER_SOURCE)
    # The classes that may hold `main`, last declared first; the launcher runs the first one that does.
    package = _PACKAGE.search(source)
    prefix = package.group(1) + "." if package else ""
    with open(os.path.join(_mkdir("build"), "classes.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(prefix + c for c in reversed(_CLASS.findall(source))))
    javac = _CONFIG.get("javac") or "/usr/bin/javac"
    # C1 only: javac runs for a second, too short for the optimising compiler to pay back.
    flags = [*_jvm_flags(request["limits"]["memory_mb"], "-J"), "-J-XX:TieredStopAtLevel=1"]
    libraries = ["-cp", ":".join(_CONFIG["classpath"])] if _CONFIG.get("classpath") else []
    argv = [javac, *flags, "-encoding", "UTF-8", "-proc:none", "-nowarn", *libraries, "-d", "build",
            f"{name}.java", f"{_LAUNCHER}.java"]  # fmt: skip
    os.execve(javac, argv, dict(os.environ, MALLOC_ARENA_MAX="1"))


def _mkdir(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path


def execute(request: dict, token_fd: int, nonce: str) -> None:
    with open(os.path.join("build", "classes.txt"), encoding="utf-8") as fh:
        classes = [c for c in fh.read().split("\n") if c]
    os.set_inheritable(token_fd, True)
    java = _CONFIG.get("java") or "/usr/bin/java"
    classpath = ":".join(["build", *_CONFIG.get("classpath", [])])
    argv = [java, "-ea", *_jvm_flags(request["limits"]["memory_mb"]), "-cp", classpath, _LAUNCHER, *classes]
    os.execve(java, argv, dict(os.environ, CODEALIGN_NONCE=nonce, MALLOC_ARENA_MAX="1"))


def refine(result: dict) -> dict:
    """The JVM's own start-up failures under the address-space limit are memory, not the program's fault."""
    text = result.get("stderr", "") + result.get("stdout", "")
    if result.get("status") in ("failed", "crashed") and (
        "Could not reserve enough space" in text or "insufficient memory for the Java Runtime" in text
        or "Could not allocate compressed class space" in text or "Native memory allocation" in text
    ):  # fmt: skip
        return {**result, "status": "memory", "error_type": "OutOfMemoryError", "error": "out of memory"}
    return result
