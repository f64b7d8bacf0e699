"""Drop SLT into an existing pytracking workspace (``slt-workspace install PATH``).

Public API: :func:`install`, :func:`uninstall`, :func:`check` (return a :class:`Report`),
:func:`find_weights` (network files, workspace folders first) and :class:`NotAWorkspaceError`.
Import-light: nothing here imports torch; the shims import :mod:`.bridge` at workspace run time.
"""
from __future__ import annotations

from pytracking_slt.workspace.installer import MANIFEST_NAME, Report, check, install, uninstall
from pytracking_slt.workspace.layout import NotAWorkspaceError
from pytracking_slt.workspace.weights import WeightsNotFoundError, find_weights

__all__ = ["MANIFEST_NAME", "NotAWorkspaceError", "Report", "WeightsNotFoundError", "check", "find_weights",
           "install", "uninstall"]
