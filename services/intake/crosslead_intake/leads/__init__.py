"""Leads: submission, duplicates, visibility, and the answer to an offer."""
