"""Exercise checks of chapter 12 (Robustness and performance)."""

from __future__ import annotations

__all__: list[str] = []
