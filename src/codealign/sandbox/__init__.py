"""Execution of untrusted, model-written programs with hard isolation and typed outcomes."""
