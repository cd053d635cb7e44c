"""Agreements: which leads may flow from one partner to another, on which terms."""
