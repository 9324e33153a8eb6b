"""Exercise checks of chapter 10 (Translation)."""

from __future__ import annotations

__all__: list[str] = []
