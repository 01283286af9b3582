"""In-process Hugging Face causal LM: any local path or hub id, CPU or GPU, batched, chat template or raw prompt.

Decoding is our own short loop over the model's KV cache rather than `model.generate`, because each sequence in a
batch needs its own random generator: sample i of a request seeded with s draws only from `derive_seed(s, i)`, so its
text does not depend on what else shares the batch, and a resumed run reproduces an uninterrupted one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from codealign.errors import BackendError
from codealign.llm.backend import Backend, Job, JobResult
from codealign.llm.base import Completion, Request


@dataclass
class _Row:
    """One sequence to decode: one sample of one job."""

    job: int
    sample: int
    seed: int
    ids: list[int]
    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[str, ...]
    out: list[int] = field(default_factory=list)
    finish: str | None = None


class TransformersBackend(Backend):
    name = "transformers"

    def load(self) -> None:
        from codealign.llm.hf_loading import model_source

        cfg = self.config
        model_source(cfg.model, cfg.revision)  # a hub id without the hub fails here, before torch is even imported
        import torch

        from codealign.llm.hf_loading import load_causal_lm, load_tokenizer, resolve_device, resolve_dtype

        device = resolve_device(cfg.device)
        dtype = resolve_dtype(cfg.dtype, device)
        self.tokenizer = load_tokenizer(cfg.model, cfg.revision, cfg.trust_remote_code)
        self.model = load_causal_lm(cfg.model, cfg.revision, cfg.trust_remote_code, dtype=dtype, device=device)
        self.model.to(device).eval()
        self.device = device
        self._torch = torch
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            eos_ids.add(self.tokenizer.eos_token_id)
        self.eos_ids = eos_ids
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (min(eos_ids) if eos_ids else 0)

    def close(self) -> None:
        if getattr(self, "model", None) is not None:
            self.model = None
            torch = getattr(self, "_torch", None)
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
        self._loaded = False

    def encode(self, request: Request) -> list[int]:
        """The prompt's token ids: the raw prompt in completion mode, the chat template applied in chat mode."""
        if request.prompt is not None:
            return list(self.tokenizer(request.prompt)["input_ids"])
        if not getattr(self.tokenizer, "chat_template", None):
            raise BackendError(f"model {self.config.model!r} has no chat template: use completion mode (prompt=...)")
        messages = [m.model_dump() for m in request.messages or ()]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _generate(self, jobs: list[Job]) -> Iterator[JobResult]:
        results = [JobResult(job, calls=0) for job in jobs]
        left = [len(job.samples) for job in jobs]
        rows: list[_Row] = []
        for j, job in enumerate(jobs):
            ids = self.encode(job.request)
            results[j].prompt_tokens = len(ids)
            opts = job.request.options
            for sample, seed in zip(job.samples, job.seeds, strict=True):
                # An unseeded sample still gets a seed of its own; it is just not reproducible.
                seed = seed if seed is not None else random.SystemRandom().randrange(2**31 - 1)
                rows.append(_Row(j, sample, seed, ids, opts.temperature, opts.top_p, opts.max_tokens, opts.stop))
        # Similar lengths together waste less padding; the order does not change any text.
        rows.sort(key=lambda r: (len(r.ids), r.max_tokens), reverse=True)
        size = self.config.batch_size
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            began = time.perf_counter()
            self._decode(batch)
            spent = time.perf_counter() - began
            touched: set[int] = set()
            for row in batch:
                res = results[row.job]
                text = self.tokenizer.decode(row.out, skip_special_tokens=True)
                cut = min((i for i in (text.find(s) for s in row.stop if s) if i >= 0), default=-1)
                if cut >= 0:
                    text, row.finish = text[:cut], "stop"
                res.completions[row.sample] = Completion(text=text, finish_reason=row.finish or "length",
                                                         index=row.sample)
                res.completion_tokens[row.sample] = len(row.out)
                left[row.job] -= 1
                if row.job not in touched:
                    res.latency += spent
                    res.calls += 1
                    touched.add(row.job)
            for j in sorted(touched):
                if left[j] == 0:
                    yield results[j]

    def _prefill(self, prompts: list[list[int]]) -> tuple[Any, Any, Any, Any]:
        """Run the left-padded prompts through the model: (output, KV cache, attention mask, last positions)."""
        torch = self._torch
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for b, prompt in enumerate(prompts):
            ids[b, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[b, width - len(prompt) :] = 1
        # Left padding: positions count real tokens only, as `generate` does.
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        ids, mask, pos = ids.to(self.device), mask.to(self.device), pos.to(self.device)
        # logits_to_keep=1: the prompt's other logits would cost length x vocabulary floats for nothing.
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1)
        return out, out.cache, mask, pos[:, -1:]

    def _decode(self, rows: list[_Row]) -> None:
        torch = self._torch
        dev = self.device
        gens = [torch.Generator(device=dev).manual_seed(r.seed) for r in rows]
        windows = [max((len(s.encode()) for s in r.stop), default=0) + 2 for r in rows]
        unique: dict[tuple[int, ...], int] = {}
        which = [unique.setdefault(tuple(r.ids), len(unique)) for r in rows]
        with torch.inference_mode():
            out, past, mask, last = self._prefill([list(p) for p in unique])
            if len(unique) < len(rows):
                if hasattr(past, "batch_select_indices"):
                    # The n samples of a request share one prompt: read it once, then copy its cache n times.
                    idx = torch.tensor(which, dtype=torch.long, device=dev)
                    past.batch_select_indices(idx)
                    out.logits = out.logits[idx]
                    mask, last = mask[idx], last[idx]
                else:
                    out, past, mask, last = self._prefill([r.ids for r in rows])
            active = list(range(len(rows)))  # batch position -> row
            while True:
                logits = out.logits[:, -1, :].float()
                nxt, keep = [], []
                for p, r in enumerate(active):
                    row = rows[r]
                    if row.finish is not None:  # only when the cache cannot drop finished rows
                        nxt.append(self.pad_id)
                        continue
                    tok = self._pick(logits[p], row, gens[r])
                    nxt.append(tok)
                    if tok in self.eos_ids:
                        row.finish = "stop"
                        continue
                    row.out.append(tok)
                    if row.stop and any(s in self.tokenizer.decode(row.out[-windows[r] :]) for s in row.stop):
                        row.finish = "stop"
                    elif len(row.out) >= row.max_tokens:
                        row.finish = "length"
                    else:
                        keep.append(p)
                if not keep:
                    return
                if len(keep) < len(active) and hasattr(past, "batch_select_indices"):
                    # Finished rows leave the batch, so a long sample does not make short ones cost more.
                    idx = torch.tensor(keep, dtype=torch.long, device=dev)
                    past.batch_select_indices(idx)
                    mask, last = mask[idx], last[idx]
                    nxt = [nxt[p] for p in keep]
                    active = [active[p] for p in keep]
                mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
                last = last + 1
                step = torch.tensor(nxt, dtype=torch.long, device=dev)[:, None]
                out = self.model(input_ids=step, attention_mask=mask, position_ids=last, cache=past,
                                 use_cache=True, logits_to_keep=1)
                past = out.cache

    def _pick(self, logits: Any, row: _Row, gen: Any) -> int:
        torch = self._torch
        if row.temperature == 0:
            return int(logits.argmax())
        probs = torch.softmax(logits / row.temperature, dim=-1)
        if row.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            # Keep the smallest prefix whose mass reaches top_p (always at least the top token).
            drop = sorted_probs.cumsum(-1) - sorted_probs > row.top_p
            sorted_probs[drop] = 0.0
            probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
        return int(torch.multinomial(probs, 1, generator=gen))
