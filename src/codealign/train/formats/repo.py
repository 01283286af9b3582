"""Repository-level packing: the files of one repository joined into one sequence, in more than one order.

The layout is StarCoder2's. With metadata (probability `repo.metadata_rate`, 0.5 there):

    <repo_name>name<file_sep>path/a.py\n<code of a><file_sep>path/b.py\n<code of b>...<eos>

and without it `<file_sep><code of a><file_sep><code of b>...<eos>`. Each repository gives `repo.orders` examples
(2 by default, as Stable Code trains on more than one ordering), each a different random order of its files, so the
model cannot learn that files come in one order. The separator tokens are configurable, taken from the tokenizer
when it has them and added otherwise. Long repositories are split into windows of `max_length` tokens by default
(`overflow: drop` drops them instead). Rows are files: their text, path and repository name (curated rows carry
the last two in `provenance`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from codealign.train.formats.base import Format, as_text
from codealign.train.formats.completion import TEXT_FIELDS


def file_orders(n: int, wanted: int, rng: random.Random) -> list[list[int]]:
    """`wanted` distinct random permutations of range(n) (all of them when there are fewer)."""
    target = min(wanted, math.factorial(min(n, 12)))
    seen: list[list[int]] = []
    while len(seen) < target:
        order = rng.sample(range(n), n)
        if order not in seen:
            seen.append(order)
    return seen


class RepoFormat(Format):
    name = "repo"
    fields = {
        "text": TEXT_FIELDS,
        "path": ("path", "provenance.path", "filename", "name"),
        "repo": ("repo", "provenance.repo", "repo_name", "repository"),
    }
    optional = frozenset({"path"})
    splittable = True
    loss = "every token (separators and EOS included)"

    def __init__(self, config: Any, tokenizer: Any) -> None:
        super().__init__(config, tokenizer)
        self.opts, self.seed = config.repo, config.seed

    def needed_tokens(self) -> list[str]:
        return [self.opts.repo_token, self.opts.file_token]

    def sequence(self, repo: str, files: list[tuple[str, str]], order: list[int], metadata: bool) -> list[int]:
        enc = self.tokens.text
        repo_id, file_id = self.tokens.id(self.opts.repo_token), self.tokens.id(self.opts.file_token)
        assert repo_id is not None and file_id is not None, "separator tokens are added before encoding"
        ids = [*self.tokens.prefix]
        if metadata:
            ids += [repo_id, *enc(repo)]
        for i in order:
            path, text = files[i]
            ids += [file_id, *(enc(f"{path}\n") if metadata else []), *enc(text)]
        return [*ids, self.tokens.eos_id]

    def encode_rows(self, items: list[dict[str, Any]], key: str) -> Iterator[tuple[int, list[dict[str, Any]] | str]]:
        groups: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            text, repo = as_text(item.get("text")), item.get("repo")
            if text is None or not text.strip():
                yield i, "empty text"
            elif not isinstance(repo, str) or not repo:
                yield i, "no repository name"
            else:
                groups.setdefault(repo, []).append(i)
        for repo, rows in groups.items():
            files = [(str(items[i].get("path") or f"file{n}"), items[i]["text"]) for n, i in enumerate(rows)]
            rng = random.Random(f"{self.seed}:repo:{key}:{repo}")
            examples: list[dict[str, Any]] = []
            reason = ""
            for n, order in enumerate(file_orders(len(files), self.opts.orders, rng)):
                made = self.language_model(self.sequence(repo, files, order, rng.random() < self.opts.metadata_rate))
                if isinstance(made, str):
                    reason = made
                    continue
                for ex in made:
                    ex.update(group=f"{key}:repo:{repo}", order=n)
                examples += made
            # The repository's examples are reported on its first file; its other files went into them.
            yield rows[0], examples if examples else reason
            for i in rows[1:]:
                yield i, []
