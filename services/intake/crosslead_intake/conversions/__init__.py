"""Conversions: won deals and refunds the target partner reports on a lead."""
