"""Exercise checks of chapter 08 (Locality and long range)."""

from __future__ import annotations

__all__: list[str] = []
