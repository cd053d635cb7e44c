"""Partners: registration, API keys and routing settings."""
