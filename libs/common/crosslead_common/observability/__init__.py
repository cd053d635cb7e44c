"""Metrics, traces and logs shared by every service."""
