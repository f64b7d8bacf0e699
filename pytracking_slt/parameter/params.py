"""``TrackerParams``: pytracking's attribute bag for tracker parameters (plain, picklable)."""
from __future__ import annotations

from typing import Any, Dict

__all__ = ["TrackerParams"]

_MISSING = object()


class TrackerParams:
    """Attribute bag returned by parameter files' ``parameters()`` (pytracking API).

    ``get(name, default)`` returns the default only when the attribute is missing; without a default
    a missing attribute raises ``AttributeError`` naming it. ``has(name)`` tests presence.
    """

    def __init__(self, **kwargs: Any) -> None:
        for name, value in kwargs.items():
            setattr(self, name, value)

    def set_default_values(self, default_vals: Dict[str, Any]) -> None:
        """Set only the attributes that are not set yet."""
        for name, value in default_vals.items():
            if not hasattr(self, name):
                setattr(self, name, value)

    def get(self, name: str, *default: Any) -> Any:
        if len(default) > 1:
            raise ValueError(f"TrackerParams.get('{name}'): at most one default, got {len(default)}")
        value = getattr(self, name, _MISSING)
        if value is _MISSING:
            if not default:
                raise AttributeError(f"TrackerParams has no parameter '{name}'")
            return default[0]
        return value

    def has(self, name: str) -> bool:
        return hasattr(self, name)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"TrackerParams({items})"
