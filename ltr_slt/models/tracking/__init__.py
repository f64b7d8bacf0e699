"""Tracking networks (``transt``: TransT with the official state-dict layout)."""
