"""Exercise checks of chapter 13 (Verdicts)."""

from __future__ import annotations

__all__: list[str] = []
