"""Generation methods: each is a list of LLM stages (prompt format + parse) over package-data prompts."""
