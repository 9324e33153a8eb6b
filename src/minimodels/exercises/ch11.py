"""Exercise checks of chapter 11 (Data efficiency)."""

from __future__ import annotations

__all__: list[str] = []
