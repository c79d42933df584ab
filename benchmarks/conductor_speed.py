"""Embedded conductor speed: milliseconds per sentence on one CPU core, after warm-up.

Three cases: a keyword instruction (rules only), a free-form instruction seen for the first time
(one MiniLM embedding), and a repeated free-form instruction (cached intent). Also the one-time costs:
first plan with rules only, and loading the embedding model.

    OMP_NUM_THREADS=1 python -m benchmarks.conductor_speed [--repeats 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

SENTENCES = [
    "I never thought it would end like this, but here we are, waiting for the last train home.",
    "Are you coming to the party tonight?",
    "Put the *red* box on the table and close the door behind you.",
    "Well, that was unexpected.",
    "The committee reviewed every proposal that arrived before the deadline and published a report.",
]
FREE_FORM = ["like someone who just heard terrible news", "as if you won a prize at the fair",
             "like a detective revealing the culprit", "as though the room is haunted",
             "like a teacher who is losing patience", "as if greeting a long-lost brother"]


CPU_MS: list[float] = []


def timed(fn) -> float:
    """Wall-clock ms of ``fn()``; its CPU ms (this process, all threads) goes to CPU_MS."""
    cpu, start = time.process_time(), time.perf_counter()
    fn()
    CPU_MS.append((time.process_time() - cpu) * 1000.0)
    return (time.perf_counter() - start) * 1000.0


def measure(cases) -> tuple[list[float], list[float]]:
    """(wall ms, cpu ms) for each zero-argument callable in ``cases``."""
    CPU_MS.clear()
    wall = [timed(case) for case in cases]
    return wall, list(CPU_MS)


def stats(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    return f"median {statistics.median(values):6.2f} ms   p95 {p95:6.2f} ms   max {values[-1]:6.2f} ms   (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    from baton.baseline import DEFAULT_BASELINE as B
    from baton.conductors.embedded import EmbeddedConductor

    conductor = EmbeddedConductor()
    first_ms = timed(lambda: conductor.plan(SENTENCES[0], "angrily", B))
    keyword = measure([lambda s=s: conductor.plan(s, "very angry, faster", B)
                       for _ in range(args.repeats // len(SENTENCES)) for s in SENTENCES])
    load_ms = timed(conductor.warm_up)
    conductor.plan(SENTENCES[0], "warm up the model once", B)
    # "(i)" makes every instruction new, so each plan computes one embedding (no cache hit).
    fresh = measure([lambda i=i: conductor.plan(SENTENCES[i % len(SENTENCES)], f"{FREE_FORM[i % len(FREE_FORM)]} ({i})", B)
                     for i in range(args.repeats)])
    cached = measure([lambda s=s: conductor.plan(s, FREE_FORM[0], B)
                      for _ in range(args.repeats // len(SENTENCES)) for s in SENTENCES])
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} (the NumPy embedder's BLAS threads)")
    print(f"first plan (table load, rules only):      {first_ms:8.1f} ms")
    print(f"embedding model load (NumPy, imports incl.): {load_ms:6.1f} ms")
    print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; wall time includes waiting "
          "for a core, CPU time does not")
    for title, (wall, cpu) in (("keyword instruction", keyword), ("new free-form instruction", fresh),
                               ("repeated free-form instruction", cached)):
        print(f"{title + ', per sentence:':44s} wall {stats(wall)}")
        print(f"{'':44s} CPU  {stats(cpu)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
