"""OctoPack's commit format, for `codealign curate commits` rows: the file before, the commit message, the file after.

    <commit_before>old file<commit_msg>subject<commit_after>new file<eos>

The message belongs to the input (as OctoPack's README says), so the loss covers only the file after and EOS. The
three tokens are StarCoder's spellings, configurable; the ones the tokenizer lacks are added.
"""

from __future__ import annotations

from typing import Any

from codealign.train.formats.base import Format, as_text


class CommitsFormat(Format):
    name = "commits"
    fields = {
        "before": ("input", "before", "old_contents"),
        "message": ("instruction", "subject", "message"),
        "after": ("output", "after", "new_contents"),
    }
    loss = "the file after the commit and EOS; the file before and the message are masked"

    def needed_tokens(self) -> list[str]:
        c = self.config.commits
        return [c.before_token, c.message_token, c.after_token]

    def encode(self, item: dict[str, Any], key: str) -> list[dict[str, Any]] | str:
        before, message, after = (as_text(item.get(k)) for k in ("before", "message", "after"))
        if before is None or message is None or after is None:
            return "before, message or after is not text"
        if not after.strip():
            return "empty file after"
        b, m, a = (self.tokens.id(t) for t in self.needed_tokens())
        assert b is not None and m is not None and a is not None, "commit tokens are added before encoding"
        enc = self.tokens.text
        prompt = [*self.tokens.prefix, b, *enc(before), m, *enc(message), a]
        return self.supervised(prompt, [*enc(after), self.tokens.eos_id])
