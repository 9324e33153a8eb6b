"""Exercise checks of chapter 09 (Parameter efficiency)."""

from __future__ import annotations

__all__: list[str] = []
