"""Run a tracker on a benchmark: the CLI of pytracking's ``run_tracker.py`` with real flags.

    python -m pytracking_slt.run_tracker slt_transt slt_transt --dataset_name lasot --threads 4 --device cuda:0

Positional ``tracker_name parameter_name``; ``--dataset_name`` (default 'otb', pytracking's default),
``--sequence`` (name, or index when it is an integer), ``--runid``, ``--debug``, ``--threads``,
``--device``, ``--use_visdom`` (a real switch, off by default), ``--visdom_server``, ``--visdom_port``,
``--on_error skip|fail``. Extras: ``--results_path`` (else ``env_settings().results_path``),
``--dataset_root`` (else the dataset's env path), ``--tracker_module`` / ``--parameter_module`` to run a
tracker defined outside ``pytracking_slt`` (e.g. ``mypkg.trackers.foo``).
Exit code: 0 when every sequence ran or was already there; 1 when any sequence failed (with
``--on_error skip`` the others still run and the failures are listed with their count) or on a
user error (one ``error:`` line: unknown dataset, missing weights, a device this machine lacks);
2 on bad arguments.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Dict, List, Optional

from ltr_slt.admin.cli_errors import device_arg_status, run_cli
from pytracking_slt.evaluation.datasets import load_dataset
from pytracking_slt.evaluation.running import ON_ERROR, SequenceOutcome, run_dataset
from pytracking_slt.evaluation.tracker import Tracker

logger = logging.getLogger("pytracking_slt.run_tracker")


def run_tracker(tracker_name: str, tracker_param: str, run_id: Optional[int] = None, dataset_name: str = "otb",
                sequence: Optional[Any] = None, debug: int = 0, threads: int = 0,
                visdom_info: Optional[Dict[str, Any]] = None, device: Optional[str] = None,
                on_error: str = "skip", results_path: Optional[str] = None, dataset_root: Optional[str] = None,
                tracker_module: Optional[str] = None, parameter_module: Optional[str] = None,
                progress: bool = True) -> List[SequenceOutcome]:
    """Python entry behind the CLI (pytracking's ``run_tracker`` signature plus our options)."""
    kwargs = {"root": dataset_root} if dataset_root else {}
    dataset = load_dataset(dataset_name, **kwargs)
    if len(dataset) == 0:
        raise SystemExit(f"dataset {dataset_name!r} has no sequences (root: {dataset_root or 'from env_settings'})")
    if sequence is not None:
        try:
            dataset = [dataset[sequence]]
        except IndexError as err:
            raise SystemExit(f"--sequence {sequence!r}: {err}") from err
    tracker = Tracker(tracker_name, tracker_param, run_id, results_path=results_path, device=device,
                      tracker_module=tracker_module, parameter_module=parameter_module)
    return run_dataset(dataset, [tracker], debug=debug, threads=threads, visdom_info=visdom_info,
                       on_error=on_error, progress=progress)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pytracking_slt.run_tracker",
                                description="Run a tracker on a dataset; results in pytracking's format.")
    p.add_argument("tracker_name", help="tracker package under pytracking_slt.tracker (e.g. slt_transt)")
    p.add_argument("tracker_param", help="parameter file under pytracking_slt.parameter.<tracker_name>")
    p.add_argument("--runid", type=int, default=None, help="run id (results in <param>_<runid:03d>)")
    p.add_argument("--dataset_name", type=str, default="otb", help="dataset registry name (lasot, got10k_val, ...)")
    p.add_argument("--sequence", type=str, default=None, help="sequence name or index")
    p.add_argument("--debug", type=int, default=0, help="debug level (> 0: nothing written, errors raised)")
    p.add_argument("--threads", type=int, default=0, help="worker processes (0 = run in this process)")
    p.add_argument("--device", type=str, default=None, help="torch device for the tracker (cpu, cuda, cuda:1)")
    p.add_argument("--use_visdom", action="store_true", help="live view in a running visdom server")
    p.add_argument("--visdom_server", type=str, default="127.0.0.1")
    p.add_argument("--visdom_port", type=int, default=8097)
    p.add_argument("--on_error", choices=ON_ERROR, default="skip",
                   help="a sequence that cannot run: skip it (default) or stop the run")
    p.add_argument("--results_path", type=str, default=None, help="override env_settings().results_path")
    p.add_argument("--dataset_root", type=str, default=None, help="override the dataset's root folder")
    p.add_argument("--tracker_module", type=str, default=None, help="module with get_tracker_class()")
    p.add_argument("--parameter_module", type=str, default=None, help="module with parameters()")
    p.add_argument("--no_progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="log every sequence")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if device_arg_status(args.device):
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    sequence: Optional[Any] = args.sequence
    if sequence is not None:
        try:
            sequence = int(sequence)
        except ValueError:
            pass
    visdom_info = {"use_visdom": args.use_visdom, "server": args.visdom_server, "port": args.visdom_port}
    # A failed run (RunFailed) or a user error (missing weights, unknown dataset root, ...) is one line.
    outcomes = run_cli(lambda: run_tracker(
        args.tracker_name, args.tracker_param, args.runid, args.dataset_name, sequence, args.debug,
        args.threads, visdom_info, args.device, args.on_error, args.results_path, args.dataset_root,
        args.tracker_module, args.parameter_module, progress=not args.no_progress))
    if isinstance(outcomes, int):
        return outcomes
    done = sum(o.status == "done" for o in outcomes)
    exists = sum(o.status == "exists" for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    frames = sum(o.num_frames for o in outcomes if o.status == "done")
    seconds = sum(o.track_time for o in outcomes if o.status == "done")
    fps = f", {frames / seconds:.1f} FPS" if seconds > 0 else ""
    print(f"{done} sequences tracked{fps}, {exists} already present, {len(failed)} failed")
    for o in failed:
        print(f"  failed: {o.sequence}: {o.error}")
    if failed:
        print(f"error: {len(failed)} of {len(outcomes)} sequences failed (listed above); their results were "
              f"not written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
