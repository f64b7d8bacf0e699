"""``slt-workspace install|uninstall|check PATH`` (also ``python -m pytracking_slt.workspace``).

Exit codes: 0 done / all fine; 1 something needs attention (a conflict, a file kept, a shim
missing or outdated); 2 PATH is not a pytracking workspace (nothing written) or bad usage.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from typing import List, Optional, Sequence

from pytracking_slt.workspace import installer
from pytracking_slt.workspace.layout import NotAWorkspaceError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slt-workspace",
        description="Add (or remove) thin SLT shims to an existing pytracking workspace so that "
                    "`python ltr/run_training.py slt <name>` and `python pytracking/run_tracker.py slt_<tracker> ...` "
                    "work there. Never touches files it did not write (local.py included).")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("install", "write / refresh the shims (idempotent)"),
                       ("uninstall", "remove exactly the files slt-workspace wrote"),
                       ("check", "report what is installed, missing, outdated, stale, modified or foreign")):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("path", help="workspace root (the folder holding ltr/ and pytracking/)")
        cmd.add_argument("--json", action="store_true", help="print the report as JSON")
        if name != "check":
            cmd.add_argument("--dry-run", action="store_true", help="only say what would be done")
        if name == "uninstall":
            cmd.add_argument("--force", action="store_true", help="also remove our shims that were edited by hand")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "install":
            report = installer.install(args.path, dry_run=args.dry_run)
        elif args.command == "uninstall":
            report = installer.uninstall(args.path, dry_run=args.dry_run, force=args.force)
        else:
            report = installer.check(args.path)
    except NotAWorkspaceError as err:
        print(f"slt-workspace: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        print(f"slt-workspace: {err}", file=sys.stderr)
        return 1
    if args.json:
        out = asdict(report)
        out["ok"] = report.ok
        print(json.dumps(out, indent=2))
    else:
        lines: List[str] = report.lines()
        print("\n".join(lines))
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
