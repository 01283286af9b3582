"""DPO on the preference pairs of a real `codealign run`: the prompt is masked, and the chosen-minus-rejected
log-probability margin grows."""

import json

from codealign.train import train
from codealign.train.job import make_trainer, prepare_data
from tests.train.conftest import config

PROMPT = ("You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
          "responses to user instructions.\n\n### Instruction\n{}\n\n### Response\n")


def margins(model_dir, pairs):
    """log p(chosen | prompt) - log p(rejected | prompt) per pair, computed here with plain transformers."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()

    def logp(prompt, answer):
        p = tok(prompt)["input_ids"]
        a = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        with torch.no_grad():
            logits = model(torch.tensor([p + a])).logits[0, len(p) - 1 : -1]
        return torch.log_softmax(logits, -1)[torch.arange(len(a)), torch.tensor(a)].sum().item()

    out = []
    for pair in pairs:
        prompt = PROMPT.format(pair["prompt"])
        out.append(logp(prompt, pair["chosen"]) - logp(prompt, pair["rejected"]))
    return out


def test_dpo_masks_the_prompt(tiny_model_path, demo_run, tmp_path):
    pairs = [json.loads(line) for line in (demo_run / "final" / "dpo.jsonl").read_text().splitlines()]
    setup = prepare_data(config(tiny_model_path, tmp_path / "out", str(demo_run), stage="dpo", per_device_batch_size=2,
                                batch_size=2))  # fmt: skip
    trainer = make_trainer(setup, [])
    tok = setup.tokenizer
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    # TRL stacks the chosen sequences, then the rejected ones; completion_mask is 1 exactly on the answer tokens.
    for row in range(4):
        ids = batch["input_ids"][row].tolist()
        mask = batch["completion_mask"][row].tolist()
        length = int(batch["attention_mask"][row].sum())
        pair = next(p for p in pairs if tok.decode(ids[:length]).startswith(PROMPT.format(p["prompt"])))
        n = len(tok(PROMPT.format(pair["prompt"]))["input_ids"])
        answer = pair["chosen"] if row < 2 else pair["rejected"]
        assert mask[:n] == [0] * n
        assert mask[n:length] == [1] * (length - n)
        assert tok.decode(ids[n:length]) == answer + tok.eos_token  # EOS ends each answer and is scored
        assert mask[length:] == [0] * (len(ids) - length)


def test_dpo_raises_the_chosen_minus_rejected_margin(tiny_model_path, demo_run, tmp_path):
    pairs = [json.loads(line) for line in (demo_run / "final" / "dpo.jsonl").read_text().splitlines()]
    assert len(pairs) == 2
    before = margins(tiny_model_path, pairs)
    out = tmp_path / "dpo"
    summary = train(config(tiny_model_path, out, str(demo_run), stage="dpo", learning_rate=2e-3, beta=0.1,
                           batch_size=2, per_device_batch_size=2, epochs=6))  # fmt: skip
    after = margins(out, pairs)
    assert all(a - b > 2.0 for a, b in zip(after, before, strict=True)), (before, after)
    res = summary["results"]
    assert res["steps"] == 6 and res["rewards/margins"] > 0
    card = (out / "README.md").read_text()
    assert "direct preference optimisation" in card and "| beta | 0.1 |" in card
    assert "licenses of the seeds behind the examples" in card  # the run's seeds, through its lineage
