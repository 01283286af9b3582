"""The same situations written in every compiled or scripted language the sandbox runs (data for the tests).

`OUTCOMES[language][case]` is (code, tests, limits) for: a correct program (`passed`), a wrong one that prints
"All tests passed" (`failed`), one that does not compile (`syntax`), one that exits 0 before its tests end
(`early_exit`), an uncaught runtime error (`exception`), an endless loop (`timeout`), a memory bomb (`memory`).
`hostile(port)[language][case]` adds a fork bomb, network access (the host's `port` on 127.0.0.1, the internet, DNS),
writes outside the working directory (to `TARGETS`) and a daemon that outlives its program.
"""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
TARGETS = ["/ESCAPED", "/usr/ESCAPED", "/etc/ESCAPED", "/root/ESCAPED", str(PROJECT / "ESCAPED"), "/dev/ESCAPED"]
LANGUAGES = ("cpp", "rust", "go", "java", "typescript", "shell")


def _cxx_list(items: list[str]) -> str:
    return ", ".join(f'"{t}"' for t in items)


OUTCOMES: dict[str, dict[str, tuple[str, str, dict]]] = {
    "cpp": {
        "passed": (
            "#include <cassert>\n#include <vector>\n\nint total(const std::vector<int>& xs) {\n"
            "    int s = 0;\n    for (int x : xs) s += x;\n    return s;\n}\n",
            "int main() {\n    auto candidate = total;\n    assert(candidate({1, 2, 3}) == 6);\n"
            "    assert(candidate({}) == 0);\n}\n",
            {},
        ),
        "failed": (
            "#include <cassert>\n#include <cstdio>\n#include <vector>\n\nint total(const std::vector<int>& xs) {\n"
            '    std::printf("All tests passed\\n");\n    return 1;\n}\n',
            "int main() {\n    assert(total({1, 2, 3}) == 6);\n}\n",
            {},
        ),
        "syntax": ("int total(int a, int b) {\n    return a + b\n}\n", "int main() { return total(1, 2) - 3; }\n", {}),
        "early_exit": (
            "#include <cassert>\n#include <cstdlib>\n\nint total(int a, int b) {\n    std::exit(0);\n}\n",
            "int main() {\n    assert(total(1, 2) == 4);\n    return 1;\n}\n",
            {},
        ),
        "exception": (
            "#include <vector>\n\nint pick(const std::vector<int>& xs) {\n    return xs.at(10);\n}\n",
            "int main() {\n    return pick({1, 2, 3});\n}\n",
            {},
        ),
        "timeout": ("", "int main() {\n    volatile long n = 0;\n    while (true) n++;\n}\n", {"timeout": 1}),
        "memory": (
            "#include <vector>\n",
            "int main() {\n    std::vector<char> big(64ULL << 30, 1);\n    return big[12345];\n}\n",
            {},
        ),
    },
    "rust": {
        "passed": (
            "fn total(xs: &[i64]) -> i64 {\n    xs.iter().sum()\n}\n",
            "fn main() {\n    let candidate = total;\n    assert_eq!(candidate(&[1, 2, 3]), 6);\n"
            "    assert_eq!(candidate(&[]), 0);\n}\n",
            {},
        ),
        "failed": (
            'fn total(xs: &[i64]) -> i64 {\n    println!("All tests passed");\n    xs.len() as i64\n}\n',
            "fn main() {\n    assert_eq!(total(&[1, 2, 3]), 6);\n}\n",
            {},
        ),
        "syntax": ("fn total(a: i64, b: i64) -> i64 {\n    a +\n}\n", "fn main() {}\n", {}),
        "early_exit": (
            "fn total(_a: i64, _b: i64) -> i64 {\n    std::process::exit(0)\n}\n",
            "fn main() {\n    assert_eq!(total(1, 2), 4);\n}\n",
            {},
        ),
        "exception": (
            "fn pick(xs: &[i64]) -> i64 {\n    xs[10]\n}\n",
            "fn main() {\n    println!(\"{}\", pick(&[1, 2, 3]));\n}\n",
            {},
        ),
        "timeout": ("", "fn main() {\n    let mut n: u64 = 0;\n    loop {\n        n = n.wrapping_add(1);\n"
                    "        std::hint::black_box(n);\n    }\n}\n", {"timeout": 1}),  # fmt: skip
        "memory": ("", "fn main() {\n    let big = vec![1u8; 64 << 30];\n    println!(\"{}\", big[12345]);\n}\n", {}),
    },
    "go": {
        "passed": (
            'package total_test\n\nimport (\n\t"fmt"\n\t"testing"\n)\n\nfunc total(xs []int) int {\n\ts := 0\n'
            "\tfor _, x := range xs {\n\t\ts += x\n\t}\n\treturn s\n}\n",
            "func TestTotal(t *testing.T) {\n\tcandidate := total\n\ttype test struct {\n\t\tactual   interface{}\n"
            "\t\texpected interface{}\n\t}\n\ttests := []test{\n\t\t{actual: candidate([]int{1, 2, 3}), expected: 6},\n"
            "\t\t{actual: candidate([]int{}), expected: 0},\n\t}\n\tfor i, tc := range tests {\n"
            '\t\tt.Run(fmt.Sprintf("test num % d", i), func(t *testing.T) {\n'
            '\t\t\tif fmt.Sprintf("%v", tc.actual) != fmt.Sprintf("%v", tc.expected) {\n'
            "\t\t\t\tt.Errorf(\"expected '%s', got '%s'\", tc.expected, tc.actual)\n\t\t\t}\n\t\t})\n\t}\n}\n",
            {},
        ),
        "failed": (
            'package main\n\nimport "fmt"\n\nfunc total(xs []int) int {\n\tfmt.Println("All tests passed")\n'
            "\treturn len(xs)\n}\n",
            'func main() {\n\tif total([]int{1, 2, 3}) != 6 {\n\t\tpanic("total([1 2 3]) != 6")\n\t}\n}\n',
            {},
        ),
        "syntax": ("package main\n\nfunc total(a, b int) int {\n\treturn a +\n}\n", "func main() {}\n", {}),
        "early_exit": (
            'package main\n\nimport "os"\n\nfunc total(a, b int) int {\n\tos.Exit(0)\n\treturn a + b\n}\n',
            'func main() {\n\tif total(1, 2) != 4 {\n\t\tpanic("wrong")\n\t}\n}\n',
            {},
        ),
        "exception": (
            "package main\n\nfunc pick(xs []int) int {\n\treturn xs[10]\n}\n",
            "func main() {\n\tprintln(pick([]int{1, 2, 3}))\n}\n",
            {},
        ),
        "timeout": ("package main\n", "func main() {\n\tn := 0\n\tfor {\n\t\tn++\n\t}\n}\n", {"timeout": 1}),
        "memory": ("package main\n", "func main() {\n\tbig := make([]byte, 64<<30)\n\tbig[1] = 1\n\tprintln(big[12345])\n}\n",
                   {}),  # fmt: skip
    },
    "java": {
        "passed": (
            "import java.util.*;\n\nclass Problem {\n    public static long total(ArrayList<Long> xs) {\n"
            "        long s = 0;\n        for (long x : xs) s += x;\n        return s;\n    }\n",
            "    public static void main(String[] args) {\n"
            "    assert(total((new ArrayList<Long>(Arrays.asList((long)1l, (long)2l, (long)3l)))) == (6l));\n"
            "    assert(total((new ArrayList<Long>())) == (0l));\n    }\n\n}\n",
            {},
        ),
        "failed": (
            "import java.util.*;\n\nclass Problem {\n    public static long total(ArrayList<Long> xs) {\n"
            '        System.out.println("All tests passed");\n        return xs.size();\n    }\n',
            "    public static void main(String[] args) {\n"
            "    assert(total((new ArrayList<Long>(Arrays.asList((long)1l, (long)2l, (long)3l)))) == (6l));\n    }\n}\n",
            {},
        ),
        "syntax": (
            "class Problem {\n    public static long total(long a, long b) {\n        return a +;\n    }\n",
            "    public static void main(String[] args) {}\n}\n",
            {},
        ),
        "early_exit": (
            "public class Solution {\n    public static int total(int a, int b) {\n        System.exit(0);\n"
            "        return a + b;\n    }\n}\n",
            "class Tests {\n    public static void main(String[] args) {\n"
            '        if (Solution.total(1, 2) != 4) throw new IllegalStateException("wrong");\n    }\n}\n',
            {},
        ),
        "exception": (
            "public class Solution {\n    public static int pick(int[] xs) {\n        return xs[10];\n    }\n}\n",
            "class Tests {\n    public static void main(String[] args) {\n"
            "        System.out.println(Solution.pick(new int[] {1, 2, 3}));\n    }\n}\n",
            {},
        ),
        "timeout": ("", "class Main {\n    public static void main(String[] args) {\n        long n = 0;\n"
                    "        while (true) n++;\n    }\n}\n", {"timeout": 1}),  # fmt: skip
        "memory": ("", "class Main {\n    public static void main(String[] args) {\n"
                   "        long[] big = new long[Integer.MAX_VALUE - 8];\n        System.out.println(big[1]);\n"
                   "    }\n}\n", {}),  # fmt: skip
    },
    "typescript": {
        "passed": (
            "function total(xs: number[]): number {\n    return xs.reduce((a, b) => a + b, 0);\n}\n",
            "declare var require: any;\nconst assert = require('node:assert');\nfunction test() {\n"
            "  let candidate = total;\n  assert.deepEqual(candidate([1, 2, 3]), 6);\n  assert.deepEqual(candidate([]), 0);\n"
            "}\n\ntest();\n",
            {},
        ),
        "failed": (
            "function total(xs: number[]): number {\n    console.log('All tests passed');\n    return xs.length;\n}\n",
            "import assert from 'assert';\nassert.strictEqual(total([1, 2, 3]), 6);\n",
            {},
        ),
        "syntax": ("function total(a: number, b: number): number {\n    return a + b;\n}\n",
                   "const s: string = total(1, 2);\n", {}),  # fmt: skip
        "early_exit": (
            "function total(a: number, b: number): number {\n    process.exit(0);\n    return a + b;\n}\n",
            "if (total(1, 2) !== 4) throw new Error('wrong');\n",
            {},
        ),
        "exception": (
            "function pick(xs: number[][]): number {\n    return xs[10][0];\n}\n",
            "console.log(pick([[1], [2]]));\n",
            {},
        ),
        "timeout": ("let n = 0;\n", "while (true) n++;\n", {"timeout": 1}),
        "memory": ("const keep: number[][] = [];\n", "while (true) keep.push(new Array(1e6).fill(1));\n",
                   {"memory_mb": 1024}),  # fmt: skip
    },
    "shell": {
        "passed": (
            "total() {\n  local s=0\n  for x in \"$@\"; do s=$((s + x)); done\n  echo \"$s\"\n}\n",
            "candidate() {\n    total \"$@\"\n}\n\nset -e\nrun_test() {\n    [[ $(candidate 1 2 3) = \"6\" ]]\n"
            "    [[ $(candidate) = \"0\" ]]\n}\n\nrun_test\n",
            {},
        ),
        "failed": (
            "total() {\n  echo 'All tests passed' >&2\n  echo \"$#\"\n}\n",
            "set -e\n[[ $(total 1 2 3) = \"6\" ]]\n",
            {},
        ),
        "syntax": ("total() {\n  if [ \"$1\" ]; then echo 1\n}\n", "total 1\n", {}),
        "early_exit": ("total() {\n  exit 0\n}\n", "set -e\ntotal 1 2\n[[ $(total 1 2) = \"4\" ]]\n", {}),
        "exception": ("total() {\n  no_such_command_here \"$@\"\n}\n", "set -e\ntotal 1 2\n", {}),
        "timeout": ("", "while :; do :; done\n", {"timeout": 1}),
        "memory": ("grow() {\n  local x=a\n  while :; do x=$x$x; done\n}\n", "grow\n", {"memory_mb": 256}),
    },
}


def hostile(port: int) -> dict[str, dict[str, tuple[str, str, dict]]]:
    """Fork bomb, network, writes outside the working directory and a daemon, in each language."""
    cxx_targets, quoted = _cxx_list(TARGETS), " ".join(f'"{t}"' for t in TARGETS)
    return {
        "cpp": {
            "fork_bomb": ("#include <unistd.h>\n", "int main() {\n    while (true) fork();\n}\n", {"timeout": 2}),
            "network": (
                "#include <arpa/inet.h>\n#include <cassert>\n#include <netdb.h>\n#include <sys/socket.h>\n"
                "#include <unistd.h>\n\nbool reach(const char* ip, int port) {\n"
                "    int s = socket(AF_INET, SOCK_STREAM, 0);\n    sockaddr_in a{};\n    a.sin_family = AF_INET;\n"
                "    a.sin_port = htons(port);\n    inet_pton(AF_INET, ip, &a.sin_addr);\n"
                "    bool ok = connect(s, (sockaddr*)&a, sizeof a) == 0;\n    close(s);\n    return ok;\n}\n\n"
                "bool resolve(const char* host) {\n    addrinfo* found = nullptr;\n"
                '    bool ok = getaddrinfo(host, "443", nullptr, &found) == 0;\n'
                "    if (found) freeaddrinfo(found);\n    return ok;\n}\n",
                f'int main() {{\n    assert(!reach("127.0.0.1", {port}));\n    assert(!reach("1.1.1.1", 80));\n'
                '    assert(!resolve("pypi.org"));\n}\n',
                {},
            ),
            "writes": (
                "#include <cassert>\n#include <cstdio>\n\nint wrote(const char* path) {\n"
                '    std::FILE* f = std::fopen(path, "w");\n    if (!f) return 0;\n    std::fputs("x", f);\n'
                "    std::fclose(f);\n    return 1;\n}\n",
                f"int main() {{\n    const char* targets[] = {{{cxx_targets}}};\n    int n = 0;\n"
                '    for (const char* t : targets) n += wrote(t);\n    assert(n == 0);\n    assert(wrote("inside.txt"));\n}\n',
                {},
            ),
            "daemon": (
                "#include <unistd.h>\n",
                "int main() {\n    if (fork() == 0) {\n        setsid();\n        if (fork() == 0) sleep(3600);\n"
                "        _exit(0);\n    }\n    usleep(200000);\n}\n",
                {},
            ),
        },
        "rust": {
            "fork_bomb": ("extern \"C\" {\n    fn fork() -> i32;\n}\n", "fn main() {\n    loop {\n        unsafe { fork(); }\n"
                          "    }\n}\n", {"timeout": 2}),  # fmt: skip
            "network": (
                "use std::net::{TcpStream, ToSocketAddrs};\nuse std::time::Duration;\n\nfn reach(addr: &str) -> bool {\n"
                "    TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_ok()\n}\n",
                f'fn main() {{\n    assert!(!reach("127.0.0.1:{port}"));\n    assert!(!reach("1.1.1.1:80"));\n'
                '    assert!(("pypi.org", 443).to_socket_addrs().is_err());\n}\n',
                {},
            ),
            "writes": (
                "fn wrote(path: &str) -> bool {\n    std::fs::write(path, \"x\").is_ok()\n}\n",
                f"fn main() {{\n    let targets = [{cxx_targets}];\n"
                "    assert_eq!(targets.iter().filter(|t| wrote(t)).count(), 0);\n    assert!(wrote(\"inside.txt\"));\n}\n",
                {},
            ),
            "daemon": (
                "extern \"C\" {\n    fn fork() -> i32;\n    fn setsid() -> i32;\n    fn sleep(seconds: u32) -> u32;\n"
                "    fn _exit(status: i32) -> !;\n}\n",
                "fn main() {\n    unsafe {\n        if fork() == 0 {\n            setsid();\n            if fork() == 0 {\n"
                "                sleep(3600);\n            }\n            _exit(0);\n        }\n    }\n"
                "    std::thread::sleep(std::time::Duration::from_millis(200));\n}\n",
                {},
            ),
        },
        "go": {
            "fork_bomb": (
                'package main\n\nimport "syscall"\n',
                'func main() {\n\tfor {\n\t\tsyscall.ForkExec("/proc/self/exe", []string{"bomb"}, &syscall.ProcAttr{})\n\t}\n}\n',
                {"timeout": 2},
            ),
            "network": (
                'package main\n\nimport (\n\t"net"\n\t"time"\n)\n\nfunc reach(addr string) bool {\n'
                '\tconn, err := net.DialTimeout("tcp", addr, 2*time.Second)\n\tif err == nil {\n\t\tconn.Close()\n\t}\n'
                "\treturn err == nil\n}\n",
                f'func main() {{\n\tif reach("127.0.0.1:{port}") || reach("1.1.1.1:80") {{\n\t\tpanic("reached")\n\t}}\n'
                '\tif _, err := net.LookupHost("pypi.org"); err == nil {\n\t\tpanic("resolved")\n\t}\n}\n',
                {},
            ),
            "writes": (
                'package main\n\nimport "os"\n\nfunc wrote(path string) bool {\n'
                '\treturn os.WriteFile(path, []byte("x"), 0o644) == nil\n}\n',
                f"func main() {{\n\tfor _, t := range []string{{{cxx_targets}}} {{\n\t\tif wrote(t) {{\n"
                '\t\t\tpanic("wrote " + t)\n\t\t}\n\t}\n\tif !wrote("inside.txt") {\n\t\tpanic("cannot write inside")\n'
                "\t}\n}\n",
                {},
            ),
            "daemon": (
                'package main\n\nimport (\n\t"os/exec"\n\t"time"\n)\n',
                'func main() {\n\tif err := exec.Command("setsid", "sleep", "3600").Start(); err != nil {\n'
                "\t\tpanic(err)\n\t}\n\ttime.Sleep(200 * time.Millisecond)\n}\n",
                {},
            ),
        },
        "java": {
            "fork_bomb": ("", "class Main {\n    public static void main(String[] args) {\n        while (true) {\n"
                          "            try {\n                new ProcessBuilder(\"sleep\", \"1000\").start();\n"
                          "            } catch (Throwable t) {\n            }\n        }\n    }\n}\n",
                          {"timeout": 2}),  # fmt: skip
            "network": (
                "import java.net.*;\n\nclass Net {\n    static boolean reach(String host, int port) {\n"
                "        try (Socket s = new Socket()) {\n            s.connect(new InetSocketAddress(host, port), 2000);\n"
                "            return true;\n        } catch (Exception e) {\n            return false;\n        }\n    }\n\n"
                "    static boolean resolve(String host) {\n        try {\n            InetAddress.getByName(host);\n"
                "            return true;\n        } catch (Exception e) {\n            return false;\n        }\n    }\n",
                f'    public static void main(String[] args) {{\n        assert !reach("127.0.0.1", {port});\n'
                '        assert !reach("1.1.1.1", 80);\n        assert !resolve("pypi.org");\n    }\n}\n',
                {},
            ),
            "writes": (
                "import java.nio.file.*;\n\nclass Writes {\n    static boolean wrote(String path) {\n"
                '        try {\n            Files.writeString(Path.of(path), "x");\n            return true;\n'
                "        } catch (Exception e) {\n            return false;\n        }\n    }\n",
                f"    public static void main(String[] args) {{\n        for (String t : new String[] {{{cxx_targets}}}) {{\n"
                '            assert !wrote(t) : t;\n        }\n        assert wrote("inside.txt");\n    }\n}\n',
                {},
            ),
            "daemon": ("", "class Main {\n    public static void main(String[] args) throws Exception {\n"
                       "        new ProcessBuilder(\"setsid\", \"sleep\", \"3600\").start();\n        Thread.sleep(200);\n"
                       "    }\n}\n", {}),  # fmt: skip
        },
        "typescript": {
            "fork_bomb": (
                "const cp = require('child_process');\n",
                "while (true) {\n    try {\n        cp.spawn('sleep', ['1000'], {detached: true, stdio: 'ignore'});\n"
                "    } catch (e) {\n    }\n}\n",
                {"timeout": 2},
            ),
            "network": (
                "const net = require('net');\nconst dns = require('dns');\n\nfunction reach(host: string, port: number):"
                " Promise<boolean> {\n    return new Promise((done) => {\n        const s = net.connect(port, host);\n"
                "        s.on('connect', () => { s.destroy(); done(true); });\n"
                "        s.on('error', () => done(false));\n    });\n}\n",
                f"Promise.all([reach('127.0.0.1', {port}), reach('1.1.1.1', 80),\n"
                "             dns.promises.lookup('pypi.org').then(() => true, () => false)])\n"
                "    .then((got: boolean[]) => { if (got.some((x) => x)) throw new Error('reached: ' + got); });\n",
                {},
            ),
            "writes": (
                "const fs = require('fs');\n\nfunction wrote(path: string): boolean {\n    try {\n"
                "        fs.writeFileSync(path, 'x');\n        return true;\n    } catch (e) {\n        return false;\n"
                "    }\n}\n",
                f"const targets = [{cxx_targets}];\nif (targets.some(wrote)) throw new Error('wrote outside');\n"
                "if (!wrote('inside.txt')) throw new Error('cannot write inside');\n",
                {},
            ),
            "daemon": ("const cp = require('child_process');\n",
                       "cp.spawn('setsid', ['sleep', '3600'], {detached: true, stdio: 'ignore'}).unref();\n", {}),  # fmt: skip
        },
        "shell": {
            "fork_bomb": ("bomb() {\n  bomb | bomb &\n}\n", "bomb\nsleep 30\n", {"timeout": 2}),
            "network": (
                "reach() {\n  (exec 5<>\"/dev/tcp/$1/$2\") 2>/dev/null\n}\n",
                f"set -e\n! reach 127.0.0.1 {port}\n! reach 1.1.1.1 80\n! getent hosts pypi.org\n",
                {},
            ),
            "writes": (
                "wrote() {\n  (echo x > \"$1\") 2>/dev/null\n}\n",
                f"set -e\nfor t in {quoted}; do\n  if wrote \"$t\"; then exit 1; fi\ndone\nwrote inside.txt\n",
                {},
            ),
            "daemon": ("", "setsid sleep 3600 &\nsleep 0.2\n", {}),
        },
    }
