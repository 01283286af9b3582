"""Seed curation: read code, extract functions, filter, redact PII, deduplicate, decontaminate, classify licenses."""
