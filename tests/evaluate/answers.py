"""Known right and wrong model answers to HumanEval prompts, in completion style and in chat style.

A plan says, for each task, how many of its n samples are right (sample i is right when i < right[task]), so a
test knows the exact pass@k before anything runs. Wrong answers cycle through the ways a model gets it wrong.
"""

from __future__ import annotations

import math

from codealign.llm import derive_seed

# Completion-style continuations: the body, then text that runs past the function. Stop sequences cut the first
# kind; the second kind (a top-level assignment then a crash) slips past them and only the cut after the function
# removes it.
RUN_ON = [
    "\n\ndef unrelated_helper(x):\n    return x\n",
    "\n\nif __name__ == '__main__':\n    raise SystemExit(3)\n",
    "\n\nresult_value = 0\nraise SystemExit('ran past the function')\n",
]
WRONG_BODIES = [
    "    return None\n",
    "    return 'wrong'\n",
    "    return (\n",  # a syntax error
    "    raise ValueError('no idea')\n",
]
PROSE = "Here is a solution. It walks through the input once and builds the answer.\n\n"


def expected_pass_at_k(n: int, right: list[int], k: int) -> float:
    """The textbook definition, 1 - C(n-c, k) / C(n, k), averaged over tasks."""
    return sum(1 - math.comb(n - c, k) / math.comb(n, k) for c in right) / len(right)


class HumanEvalAnswers:
    """A `responder` for tests.llm.fake_openai.FakeOpenAI: answers each HumanEval request as the plan says."""

    def __init__(self, problems: list[dict], right: list[int], n: int, seed: int = 0) -> None:
        self.problems = problems
        self.right = right
        self.by_prompt = {p["prompt"]: i for i, p in enumerate(problems)}
        self.by_stripped = {p["prompt"].strip(): i for i, p in enumerate(problems)}
        self.sample_of_seed = {derive_seed(seed, i): i for i in range(n)}

    def task_of(self, req: dict) -> int:
        if "prompt" in req:
            return self.by_prompt[req["prompt"]]
        content = req["messages"][-1]["content"]
        fenced = content.split("```\n", 1)[1].rsplit("\n```", 1)[0]
        return self.by_stripped[fenced.strip()]

    def __call__(self, req: dict, choice: int) -> str:
        task = self.task_of(req)
        sample = self.sample_of_seed[req["seed"]] if "seed" in req else choice
        problem = self.problems[task]
        right = sample < self.right[task]
        kind = (task + sample) % len(WRONG_BODIES)
        if "prompt" in req:
            body = problem["canonical_solution"] if right else WRONG_BODIES[kind]
            return body + RUN_ON[(task + sample) % len(RUN_ON)]
        body = problem["canonical_solution"] if right else WRONG_BODIES[kind]
        solution = problem["prompt"] + body
        call = f"print({problem['entry_point']}(*example_arguments))\n"
        return (
            f"{PROSE}```python\n{solution}\n\n{call}```\n\nYou can try it like this:\n\n"
            f"```python\nexample_arguments = ()\n{call}assert False, 'the usage example must not run'\n```\n"
            "It runs in linear time."
        )
