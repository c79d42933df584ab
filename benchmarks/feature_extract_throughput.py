"""Feature-extraction throughput over the LJSpeech subset: audio seconds per CPU second, 1 and 2 workers.

Each configuration runs the corpus pipeline (load audio, align, extract_plan: exactly what
``python -m feature_extract`` does per clip, minus writing) over the first ``--n`` clips of
../shared/corpora/ljspeech in a fresh process pool, so model loading is included. CPU time is the sum of
user + system time of the pool's processes (``RUSAGE_CHILDREN``) and of the parent; wall time is also
printed but depends on what else the machine is doing.

Run: ``nice -n 10 python -m benchmarks.feature_extract_throughput [--n 60] [--workers 1 2]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

from feature_extract.corpus import process_item, read_metadata

ROOT = Path(__file__).resolve().parents[1]

LJSPEECH = ROOT.parent / "shared" / "corpora" / "ljspeech"


def _run(item) -> float:
    return process_item(item)["duration_s"]


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(items, workers: int) -> tuple[float, float, float]:
    """(audio s, CPU s, wall s) for one pool of ``workers`` processes over ``items``."""
    context = multiprocessing.get_context("fork")
    cpu_before, wall_before = _cpu_s(), time.monotonic()
    with context.Pool(processes=workers) as pool:
        audio_s = sum(pool.imap_unordered(_run, items, chunksize=1))
        pool.close()
        pool.join()
    return audio_s, _cpu_s() - cpu_before, time.monotonic() - wall_before


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="clips, in metadata order (default 60; 385 = all)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="pool sizes (default 1 2)")
    args = parser.parse_args(argv)
    if not LJSPEECH.is_dir():
        print(f"error: {LJSPEECH} not found; this benchmark needs the shared LJSpeech subset", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    items = read_metadata(LJSPEECH)[: args.n]
    print(f"LJSpeech subset: {len(items)} clips; {os.cpu_count()} CPUs visible; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'workers':>7}{'audio s':>9}{'CPU s':>8}{'wall s':>8}{'audio s / CPU s':>17}{'audio s / wall s':>18}")
    for workers in args.workers:
        audio_s, cpu_s, wall_s = measure(items, workers)
        print(f"{workers:>7}{audio_s:>9.1f}{cpu_s:>8.1f}{wall_s:>8.1f}{audio_s / cpu_s:>17.2f}"
              f"{audio_s / wall_s:>18.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
