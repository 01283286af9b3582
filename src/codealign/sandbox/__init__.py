"""Execution of untrusted, model-written programs with hard isolation and typed outcomes.

`with Sandbox(workers=2, cache=cache) as sb: outcomes = sb.run_all(programs)`; see `engine.Sandbox`.
"""

from codealign.sandbox.engine import Sandbox
from codealign.sandbox.types import Limits, Outcome, Program, Status

__all__ = ["Limits", "Outcome", "Program", "Sandbox", "Status"]
