"""``python -m pytracking_slt.analysis`` (``slt-analysis``): tables, plots, attribute breakdown, packing.

    python -m pytracking_slt.analysis slt_transt:slt_transt transt:transt --dataset_name lasot --plot plots/
    python -m pytracking_slt.analysis slt_transt:slt_transt:0-2 --dataset_name got10k_val --convention got10k
    python -m pytracking_slt.analysis slt_transt:slt_transt --pack got10k --pack_dir packed/   # runs 0,1,2
    python -m pytracking_slt.analysis slt_transt:slt_transt --pack trackingnet --pack_dir packed/

Exit codes: 0 ok, 1 missing / invalid results (message names the file), 2 bad arguments.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from .conventions import CONVENTIONS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pytracking_slt.analysis",
                                description="Score pytracking-format result files (pytracking-exact metrics).")
    p.add_argument("trackers", nargs="+", help="<tracker>:<param>[:<runid>|:0,1,2|:0-2][=Display name]")
    p.add_argument("--dataset_name", default="otb", help="dataset registry name (lasot, got10k_val, uav, ...)")
    p.add_argument("--dataset_root", default=None, help="override the dataset's root folder")
    p.add_argument("--convention", choices=CONVENTIONS, default="pytracking")
    p.add_argument("--plot", metavar="DIR", default=None, help="write success / precision PNG plots here")
    p.add_argument("--results_path", default=None, help="override env_settings().results_path")
    p.add_argument("--report_name", default=None, help="cache folder name under result_plot_path")
    p.add_argument("--no_cache", action="store_true", help="recompute every sequence")
    p.add_argument("--skip_missing", action="store_true",
                   help="score only sequences with results for every tracker (pytracking's skip_missing_seq)")
    p.add_argument("--exclude_invalid_frames", action="store_true",
                   help="denominator = valid frames (pytracking's exclude_invalid_frames)")
    p.add_argument("--no_merge", action="store_true", help="one row per run id instead of mean ± std")
    p.add_argument("--per_attribute", action="store_true", help="also one table per dataset attribute")
    p.add_argument("--attributes", default=None, help="attribute JSON (pytracking format) or att/ folder")
    p.add_argument("--pack", choices=("got10k", "trackingnet"), default=None, help="pack for a server instead")
    p.add_argument("--pack_dir", default=None, help="folder for the packed zip (default: env packed paths)")
    return p


def _pack(args: argparse.Namespace) -> int:
    from ltr_slt.admin.environment import env_settings
    from pytracking_slt.evaluation.datasets import load_dataset

    from .packing import pack_got10k, pack_trackingnet
    env = env_settings()
    for spec in args.trackers:
        name, param = spec.split("=", 1)[0].split(":")[:2]
        if args.pack == "got10k":
            out = args.pack_dir or env.got_packed_results_path
            if not out:
                print("error: --pack_dir not given and got_packed_results_path unset", file=sys.stderr)
                return 2
            path = pack_got10k(name, param, out, results_path=args.results_path)
        else:
            out = args.pack_dir or env.tn_packed_results_path
            if not out:
                print("error: --pack_dir not given and tn_packed_results_path unset", file=sys.stderr)
                return 2
            kwargs = {"root": args.dataset_root} if args.dataset_root else {}
            seqs = load_dataset("trackingnet", **kwargs)
            path = pack_trackingnet(name, param, out, [s.name for s in seqs], results_path=args.results_path,
                                    frame_counts={s.name: len(s.frames) for s in seqs})
        print(f"packed {spec} -> {path}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from pytracking_slt.evaluation.datasets import load_dataset

    from .api import analyze, trackers_from_specs
    from .attributes import load_attributes
    from .metrics import InvalidResultsError
    from .packing import IncompleteResultsError
    try:
        if args.pack:
            return _pack(args)
        trackers = trackers_from_specs(args.trackers, args.results_path)
        kwargs = {"root": args.dataset_root} if args.dataset_root else {}
        dataset = load_dataset(args.dataset_name, **kwargs)
        attributes = None
        if args.per_attribute:
            tag = dataset[0].dataset if len(dataset) else args.dataset_name
            attributes = load_attributes(tag, args.attributes, root=args.dataset_root)
            if attributes is None:
                print(f"note: no attribute file found for {tag}; per-attribute tables skipped", file=sys.stderr)
        out = analyze(trackers, dataset, args.convention, plot_dir=args.plot,
                      report_name=args.report_name or args.dataset_name, use_cache=not args.no_cache,
                      skip_missing_seq=args.skip_missing, exclude_invalid_frames=args.exclude_invalid_frames,
                      merge_runs=not args.no_merge, attributes=attributes, title=args.dataset_name)
    except (FileNotFoundError, InvalidResultsError, IncompleteResultsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(out.table)
    for table in out.attribute_tables:
        print()
        print(table)
    for path in out.plots:
        print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
