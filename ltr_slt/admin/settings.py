"""Training settings object (ltr's ``ltr.admin.settings.Settings``).

A plain attribute bag: ``run_training`` fills the run identity (``module_name``, ``script_name``,
``project_path``), the train-settings file adds everything else. It is pickled into every
checkpoint, so every attribute must be picklable (no modules, lambdas, loaders, open files);
:meth:`Settings.unpicklable_attributes` names the offenders when saving fails.
"""
from __future__ import annotations

import pickle
from typing import Any, Dict, List, Optional

from ltr_slt.admin.environment import env_settings

__all__ = ["Settings"]


class Settings:
    """Training settings (same two defaults as ltr: ``env`` and ``use_gpu``)."""

    def __init__(self, env: Optional[Any] = None) -> None:
        self.set_default(env)

    def set_default(self, env: Optional[Any] = None) -> None:
        # env may be passed explicitly (tests, --workspace); otherwise resolved like ltr does.
        self.env = env if env is not None else env_settings()
        self.use_gpu = True

    def get(self, name: str, default: Any = None) -> Any:
        """``getattr`` with a default: train files set only what they need."""
        return getattr(self, name, default)

    def update(self, values: Optional[Dict[str, Any]] = None, **kwargs: Any) -> "Settings":
        """Set several attributes at once; returns self for chaining."""
        for key, value in {**(values or {}), **kwargs}.items():
            setattr(self, key, value)
        return self

    def unpicklable_attributes(self) -> List[str]:
        """Names of attributes that cannot be pickled (they would break checkpoint saving)."""
        bad = []
        for key, value in vars(self).items():
            try:
                pickle.dumps(value)
            except Exception:  # noqa: BLE001 - any pickling failure counts
                bad.append(key)
        return bad

    def __repr__(self) -> str:
        keys = ", ".join(sorted(k for k in vars(self) if k != "env"))
        return f"Settings({keys})"
