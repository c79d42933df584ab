"""Start-up of ``baton speak`` for a short sentence: keyword vs free-form instruction, as a user runs it.

Each run is a fresh process (``python -m baton.cli speak ... -o OUT -q``, the shipped voice by default), so
the times include Python start-up, imports, loading the voice and, for the free-form instruction, the
sentence-embedding model. Wall time depends on the machine's load; CPU time (user + system of the child)
much less. Prints the median and the range of each over ``--repeats`` runs.

    OMP_NUM_THREADS=1 python -m benchmarks.cli_startup [--repeats 5] [--voice ID]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = [
    ("keyword", ["angrily: I told you not to touch that!"]),
    ("free-form", ["I told you not to touch that!", "-i", "like someone who just heard terrible news"]),
    ("no instruction", ["I told you not to touch that!"]),
]


def run_once(args: list[str], out: Path, voice: str | None) -> tuple[float, float]:
    """(wall s, CPU s) of one ``baton speak`` process."""
    command = [sys.executable, "-m", "baton.cli", "speak", *args, "-o", str(out), "-q"]
    if voice:
        command += ["--voice", voice]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--voice", help="voice id (default: the shipped default voice)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, case in CASES:
            times = [run_once(case, Path(tmp) / "out.wav", args.voice) for _ in range(args.repeats)]
            walls, cpus = [t[0] for t in times], [t[1] for t in times]
            rows.append((name, statistics.median(walls), min(walls), max(walls), statistics.median(cpus),
                         min(cpus), max(cpus)))
    load = os.getloadavg()[0]
    print(f"baton speak start-up, {args.repeats} runs per case, {os.cpu_count()} CPUs visible, "
          f"load average {load:.1f} at the end")
    print(f"{'instruction':<16} {'wall s (median, min-max)':>26} {'CPU s (median, min-max)':>26}")
    for name, wall, wall_lo, wall_hi, cpu, cpu_lo, cpu_hi in rows:
        print(f"{name:<16} {wall:>10.2f} ({wall_lo:.2f}-{wall_hi:.2f}){'':>3} "
              f"{cpu:>12.2f} ({cpu_lo:.2f}-{cpu_hi:.2f})")


if __name__ == "__main__":
    main()
