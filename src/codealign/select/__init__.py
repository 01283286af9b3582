"""Selection: from executed samples to one validated example per instruction, plus DPO preference pairs.

`select(items, options)` takes an (instruction, sample, outcome) triple for *every* sample the response stage
produced. A sample that was not executed (its `program()` was a ParseError, so the runner skipped it) comes with
`outcome=None`; selection re-derives the reason and counts it under "format". Filters run in this order, each
counted with its reasons, and every removed record lands in `rejected` with a short reason:

  format            exactly one response/tests split (checked by the parser), code on both sides, an assert in the
                    tests, tests that run something, no placeholder code ("your code here", TODO, stub bodies)
  passing           the program passed in the sandbox (reasons: the outcome status, or "not_executed")
  test_quality      at least one assertion that can run reads a value computed from the solution
                    ("trivial_tests"; see codealign.synth.testgate)
  one_per_instruction  shuffle (fixed seed), then the first passing sample per instruction; exact duplicates
                    of an instruction's or a response's text (whitespace ignored) are dropped too
  too_long          instructions over `max_instruction_words` words
  diversity         one example per set of defined function/class names ("duplicate_names"); an entry point
                    called `main` is not counted, or every program would share one set
  near_dedup:*      MinHash near-dedup of instructions, responses (without tests) and code skeletons
  decontamination   n-gram and substring matches against the shipped benchmarks ("contaminated:<benchmark>")
"""

from codealign.select.core import Selection, SelectionOptions, select, sft_row
from codealign.select.items import FAILING, Item
from codealign.synth.code import format_reason

__all__ = ["FAILING", "Item", "Selection", "SelectionOptions", "format_reason", "select", "sft_row"]
