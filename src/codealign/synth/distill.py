"""Direct distillation: SelfCodeAlign's tasks, answered by a stronger teacher model instead of the base model.

The paper's baseline "distillation from a stronger model": S->C and C->I are SelfCodeAlign's, on the run's
`backend` (the same prompts, seeds and cache entries as a `selfcodealign` run with that model, so they cost
nothing when one was made), and I->R goes to the run config's `teacher:` block, spoken to in that block's mode
(`chat` for a hosted API). Execution and selection are the same as for every method.
"""

from __future__ import annotations

from pydantic import Field

from codealign.synth.base import TEACHER, Stage
from codealign.synth.selfcodealign import (
    ConceptsStage,
    InstructionStage,
    ResponseStage,
    SelfCodeAlign,
    SelfCodeAlignOptions,
)


class DistillOptions(SelfCodeAlignOptions):
    """SelfCodeAlign's options; the response ones apply to the teacher."""

    response_samples: int = Field(10, ge=1, description="teacher responses (each with its own tests) per instruction")


class TeacherResponseStage(ResponseStage):
    backend = TEACHER


class Distill(SelfCodeAlign):
    name = "distill"
    version = "1.0"
    Options = DistillOptions

    def build_stages(self) -> list[Stage]:
        o = self.options
        return [
            ConceptsStage(self, o.concepts_shots, o.concepts_samples, ("## Example",)),
            InstructionStage(self, o.instruction_shots, o.instruction_samples, ("## Example",)),
            TeacherResponseStage(self, o.response_shots, o.response_samples, ("## Example", "</tests>")),
        ]
