"""PII redaction for code: emails, public IP addresses, known secret formats, and high-entropy assigned secrets.

Each replaced span is recorded (kind, start/end in the original text, and a short digest of the value, never the
value itself) so a redaction can be audited without keeping the secret. Private, loopback and reserved addresses,
well-known public DNS resolvers, version numbers and placeholder addresses (example.com) are left alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass

PLACEHOLDERS = {"email": "<EMAIL>", "ip_address": "<IP_ADDRESS>", "key": "<KEY>", "password": "<PASSWORD>"}

_EMAIL = re.compile(r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w@-])")
_PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net", "localhost", "domain.com", "email.com")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{1,4}:){2,7}(?::|[0-9A-Fa-f]{1,4})(?::[0-9A-Fa-f]{1,4}){0,6}(?![\w:])")
# dotted quads after these words are versions, section numbers or OIDs, not addresses
_NOT_IP_CONTEXT = re.compile(r"(?i)(version|\bver|\bv|section|sect|§|oid|objectidentifier|rfc\d*|release)[\W_]{0,6}$")
_IP_CONTEXT = re.compile(r"(?i)(ip|host|server|dns|addr|address|connect|bind|proxy|url)")
_PUBLIC_DNS = frozenset(
    {"8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9", "149.112.112.112", "208.67.222.222", "208.67.220.220",
     "76.76.2.0", "76.76.10.0", "94.140.14.14", "94.140.15.15", "185.228.168.9", "185.228.169.9",
     "2001:4860:4860::8888", "2001:4860:4860::8844", "2606:4700:4700::1111", "2606:4700:4700::1001"}
)  # fmt: skip

# Each pattern starts with a literal, which lets `re` jump between candidate positions instead of trying every one;
# the word boundary before a match is checked in code for the same reason.
_KNOWN_KEYS = [
    re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36,255}\b"),  # GitHub tokens
    re.compile(r"github_pat_[A-Za-z0-9_]{22,255}\b"),
    re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}\b"),  # Slack
    re.compile(r"sk_live_[0-9a-zA-Z]{20,}\b"),  # Stripe
    re.compile(r"rk_live_[0-9a-zA-Z]{20,}\b"),
    re.compile(r"AIza[0-9A-Za-z_-]{35}\b"),  # Google API
    re.compile(r"sk-(?:proj-)?[A-Za-z0-9_-]{32,}\b"),  # OpenAI-style
    re.compile(r"npm_[A-Za-z0-9]{36}\b"),
    re.compile(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),  # SendGrid
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWT
]
_SECRET_WORD = re.compile(r"(?i)pass|pwd|secret|token|key")
# name = "value" / "name": 'value' where name mentions a key, secret, token or password; the value must be quoted,
# since unquoted right-hand sides in code are expressions (`key = get_key(fd)`), not secrets
_ASSIGNED = re.compile(
    r"""(?ix)
    (?<![\w.\-])(?P<name>[\w.\-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|
      auth[_-]?key|\bkey)[\w.\-]*)
    ["']?\s*(?::=|=>|[:=])\s*
    (?P<q>["'`])(?P<value>[^\s"'`]{6,})(?P=q)
    """
)
_PLACEHOLDER_VALUE = re.compile(
    r"(?i)^(?:x+|\*+|\.+|changeme|password|secret|token|your[_-].*|<.*>|\$\{.*\}|\{.*\}|%s|%\(.*\)s|none|null|true|false|"
    r"example.*|dummy.*|test.*|placeholder.*|redacted|\w+\(.*)$"
)


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SEPARATORS = re.compile(r"[-_.:/\\ ]+")


@dataclass(frozen=True)
class Redaction:
    kind: str  # email, ip_address, key, password
    start: int
    end: int
    digest: str  # first 12 hex chars of the value's sha256: lets an auditor confirm a value without storing it

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def _looks_secret(value: str, password: bool) -> bool:
    if _PLACEHOLDER_VALUE.match(value) or _UUID.fullmatch(value) or "${" in value or value.startswith("arn:"):
        return False
    # identifiers, constants, versions: every dash/dot/underscore-separated part is a word or a short number
    if all(p.isalpha() or (p.isdigit() and len(p) <= 3) for p in _SEPARATORS.split(value) if p):
        return False
    if password:
        return len(value) >= 6 and entropy(value) >= 2.5
    return len(value) >= 16 and entropy(value) >= 3.5


def _assignments(text: str) -> list[re.Match[str]]:
    """`_ASSIGNED` matches, searched only on lines that mention a secret word (most lines do not)."""
    out, done = [], -1
    for w in _SECRET_WORD.finditer(text):
        if w.start() < done:
            continue
        start = text.rfind("\n", 0, w.start()) + 1
        end = text.find("\n", w.end())
        done = end = len(text) if end < 0 else end
        out.extend(_ASSIGNED.finditer(text, start, end))
    return out


def _public_ip(text: str, m: re.Match[str]) -> bool:
    value = m.group(0)
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return False
    if not ip.is_global or value in _PUBLIC_DNS:
        return False
    if ip.version == 6:
        return True
    if _NOT_IP_CONTEXT.search(text[max(0, m.start() - 24) : m.start()]):
        return False
    # x.x.x.x with single digits is almost always a version; count it only next to network words (BigCode's rule)
    return len(value) > 7 or bool(_IP_CONTEXT.search(text[max(0, m.start() - 40) : m.end() + 40]))


def find_pii(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every span to redact, sorted, overlaps resolved in favour of the earlier longer span."""
    spans: list[tuple[str, int, int]] = []
    for pattern in _KNOWN_KEYS:
        for m in pattern.finditer(text):
            if m.start() == 0 or not (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
                spans.append(("key", m.start(), m.end()))
    for m in _assignments(text):
        name = m.group("name").lower()
        is_password = any(w in name for w in ("passw", "pwd"))
        if _looks_secret(m.group("value"), is_password):
            spans.append(("password" if is_password else "key", m.start("value"), m.end("value")))
    for m in _EMAIL.finditer(text):
        domain = m.group(0).rsplit("@", 1)[1].lower()
        if not domain.endswith(_PLACEHOLDER_DOMAINS) and not m.group(0).lower().startswith("git@"):
            spans.append(("email", m.start(), m.end()))
    for pattern in (_IPV4, _IPV6):
        for m in pattern.finditer(text):
            if _public_ip(text, m):
                spans.append(("ip_address", m.start(), m.end()))
    spans.sort(key=lambda s: (s[1], -(s[2] - s[1])))
    out: list[tuple[str, int, int]] = []
    for span in spans:
        if out and span[1] < out[-1][2]:
            continue
        out.append(span)
    return out


def redact(text: str) -> tuple[str, list[Redaction]]:
    """The text with PII replaced by placeholders, and the audit list of what was replaced."""
    spans = find_pii(text)
    if not spans:
        return text, []
    parts, audit, pos = [], [], 0
    for kind, start, end in spans:
        parts.append(text[pos:start])
        parts.append(PLACEHOLDERS[kind])
        digest = hashlib.sha256(text[start:end].encode("utf-8", "surrogatepass")).hexdigest()[:12]
        audit.append(Redaction(kind, start, end, digest))
        pos = end
    parts.append(text[pos:])
    return "".join(parts), audit
