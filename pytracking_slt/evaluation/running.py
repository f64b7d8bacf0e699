"""Run trackers over datasets and write pytracking-format result files (``run_dataset``).

Behaviour (pytracking's ``running.py`` plus what long benchmark runs need):

* a sequence whose ``<results_dir>/<seq>.txt`` exists with one row per frame is skipped (restart
  after a kill loses only the sequences in flight; result files are written atomically, box file
  last; a truncated or partial box file is tracked again);
* ``threads=N > 0`` runs sequences in N spawn worker processes, each building its own tracker;
* a sequence that cannot run (missing frames, unreadable or broken annotation, unsafe name,
  tracker exception, invalid box)
  is reported by name and skipped (``on_error='skip'``, default) or stops the run
  (``on_error='fail'``); with ``debug > 0`` nothing is written and errors propagate, as pytracking;
* progress: a tqdm bar over (sequence, tracker) jobs with done / skipped / failed counts and the
  tracking speed (frames per second of ``track`` time) of the finished sequences.
"""
from __future__ import annotations

import logging
import multiprocessing
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence as Seq, Tuple

from .data import Sequence
from .results_io import results_complete, save_tracker_output
from .tracker import Tracker

logger = logging.getLogger(__name__)

ON_ERROR = ("skip", "fail")


@dataclass
class SequenceOutcome:
    """What happened to one (sequence, tracker) job."""
    sequence: str
    tracker: str
    status: str                 # 'done' | 'exists' | 'failed'
    num_frames: int = 0
    track_time: float = 0.0     # seconds spent in initialize + track
    error: str = ""

    @property
    def fps(self) -> float:
        return self.num_frames / self.track_time if self.track_time > 0 else float("nan")


class RunFailed(RuntimeError):
    """Raised by ``run_dataset(on_error='fail')``; names the sequence and the cause."""


def run_sequence(seq: Sequence, tracker: Tracker, debug: int = 0, visdom_info: Optional[Dict[str, Any]] = None,
                 on_error: str = "skip") -> SequenceOutcome:
    """Run one tracker on one sequence and save its results (unless they exist or debug > 0)."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    try:
        done = not debug and results_complete(tracker.results_dir, seq.name, len(seq.frames))
    except ValueError as err:  # unsafe sequence name: never joined into a path
        return SequenceOutcome(seq.name, tracker.label, "failed", error=f"{type(err).__name__}: {err}")
    if done:
        return SequenceOutcome(seq.name, tracker.label, "exists")
    from .viewer import make_view
    viewer = make_view(visdom_info)
    try:
        output = tracker.run_sequence(seq, debug=debug, viewer=viewer)
        times = output["time"]
        outcome = SequenceOutcome(seq.name, tracker.label, "done", len(times), float(sum(times)))
        if not debug:
            save_tracker_output(tracker.results_dir, seq.name, output)
    except Exception as err:  # noqa: BLE001 - reported per sequence, re-raised on demand
        if debug:
            raise
        message = f"{type(err).__name__}: {err}"
        logger.error("tracker %s, sequence %s failed: %s", tracker.label, seq.name, message)
        logger.debug("%s", traceback.format_exc())
        return SequenceOutcome(seq.name, tracker.label, "failed", error=message)
    logger.info("tracker %s, sequence %s: %d frames, FPS %.1f", tracker.label, seq.name, outcome.num_frames,
                outcome.fps)
    return outcome


def _run_job(job: Tuple[Sequence, Tracker, int, Optional[Dict[str, Any]], str]) -> SequenceOutcome:
    seq, tracker, debug, visdom_info, on_error = job
    return run_sequence(seq, tracker, debug, visdom_info, on_error)


def _init_worker(log_level: int) -> None:
    logging.basicConfig(level=log_level, format="%(levelname)s %(processName)s %(name)s: %(message)s")
    try:
        import torch
        torch.set_num_threads(1)   # N workers x 1 thread; the parent decides the parallelism
    except ImportError:
        pass


def _run_parallel(jobs: List[Tuple[Any, ...]], threads: int, record: Any) -> None:
    """Spawn workers; a dead worker (killed, segfault) raises instead of hanging like ``multiprocessing.Pool``."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=threads, mp_context=ctx, initializer=_init_worker,
                             initargs=(logging.getLogger().level,)) as pool:
        futures = {pool.submit(_run_job, job): job for job in jobs}
        try:
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except BrokenProcessPool as err:
                    seq, trk = futures[future][0], futures[future][1]
                    raise RunFailed(f"a worker process died while running sequence {seq.name} (tracker "
                                    f"{trk.label}) or a neighbour; finished sequences are saved, rerun to "
                                    f"resume") from err
                record(outcome)   # may raise RunFailed (on_error='fail')
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def run_dataset(dataset: Seq[Sequence], trackers: Seq[Tracker], debug: int = 0, threads: int = 0,
                visdom_info: Optional[Dict[str, Any]] = None, on_error: str = "skip",
                progress: bool = True) -> List[SequenceOutcome]:
    """Run every tracker on every sequence (sequence-major order, as pytracking)."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    if debug and threads:
        logger.warning("debug > 0: running sequentially (threads ignored), no result files are written")
        threads = 0
    elif debug:
        logger.warning("debug > 0: no result files are written and errors propagate (pytracking semantics)")
    jobs = [(seq, trk, debug, visdom_info, on_error) for seq in dataset for trk in trackers]
    logger.info("Evaluating %d trackers on %d sequences (%d jobs, threads=%d)", len(trackers), len(dataset),
                len(jobs), threads)
    outcomes: List[SequenceOutcome] = []
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), unit="seq", dynamic_ncols=True)
    frames, seconds = 0, 0.0
    start = time.perf_counter()

    def record(outcome: SequenceOutcome) -> None:
        nonlocal frames, seconds
        outcomes.append(outcome)
        if outcome.status == "done":
            frames += outcome.num_frames
            seconds += outcome.track_time
        if bar is not None:
            counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "exists", "failed")}
            bar.set_postfix(done=counts["done"], skipped=counts["exists"], failed=counts["failed"],
                            fps=f"{frames / seconds:.1f}" if seconds > 0 else "-", refresh=False)
            bar.update(1)
        if outcome.status == "failed" and on_error == "fail":
            raise RunFailed(f"sequence {outcome.sequence} (tracker {outcome.tracker}) failed: {outcome.error}")

    try:
        if threads and threads > 0 and len(jobs) > 0:
            _run_parallel(jobs, threads, record)
        else:
            for job in jobs:
                record(_run_job(job))
    finally:
        if bar is not None:
            bar.close()
    failed = [o for o in outcomes if o.status == "failed"]
    logger.info("Done: %d run, %d already present, %d failed in %.1f s", sum(o.status == "done" for o in outcomes),
                sum(o.status == "exists" for o in outcomes), len(failed), time.perf_counter() - start)
    for o in failed:
        logger.warning("skipped sequence %s (tracker %s): %s", o.sequence, o.tracker, o.error)
    return outcomes
