"""CLI commands. Each module registers one command (or group) with the app and imports its job lazily."""
