"""Language-model backends behind one contract (see `codealign.llm.base`)."""
