"""Instruction following on the plan: the embedded conductor's score per instruction kind, dev and blind.

    OMP_NUM_THREADS=1 python -m benchmarks.instruction_following [--misses] [--only dev|blind|blind2|blind3|blind4|holdout]

For each item of baton/data/instructions_dev.jsonl and the blind parts instructions_blind{,2,3}.jsonl, plans the text with the
instruction the way the pipeline does (baton.syntax.plan_input) and applies the item's check (emotion and
intensity band recognised; per control kind a measurable plan check, see baton/eval/instructions.py).
Prints a table of passes per kind for each set, the totals, and with --misses every dev failure and why
(--blind-misses adds the blind ones).
The blind files are for scoring once, not for tuning (the first one was scored once on 2026-12-04 and
then used to fix rules, blind2 likewise; blind3 was written and scored once on 2026-12-05 before that day's
rule changes; see docs/conductor.md). The held-out part (instructions_dev_holdout.jsonl) was written in
batches, each before one rule change; its batches' scores are printed on their own line (--blind-misses lists
its misses too).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list every failed dev item and why")
    parser.add_argument("--blind-misses", action="store_true",
                        help="also list the blind misses (only after the rules are final: reading them is tuning)")
    parser.add_argument("--only", choices=("dev", "blind", "blind2", "blind3", "blind4", "holdout"), help="score one part only")
    parser.add_argument("--time-rules", action="store_true",
                        help="also time the rule layer (parse_rules, uncached) over every item's instruction")
    parser.add_argument("--no-embeddings", action="store_true",
                        help="rules only (free-form emotion descriptions then plan neutral)")
    args = parser.parse_args(argv)

    from baton.baseline import DEFAULT_BASELINE
    from baton.conductors.embedded import EmbeddedConductor
    from baton.eval.instructions import HOLDOUT_BATCHES, KINDS, PARTS, load_items, score
    from baton.syntax import plan_input

    conductor = EmbeddedConductor(use_embeddings=not args.no_embeddings)

    def plan(text, instruction):
        return plan_input(text, instruction, conductor, DEFAULT_BASELINE)

    parts = [(name, path) for name, path in PARTS if args.only in (None, name)]
    results = {name: score(load_items(path), conductor, DEFAULT_BASELINE, plan) for name, path in parts}
    header = f"{'kind':<12}" + "".join(f"{name:>14}" for name, _ in parts)
    print(header)
    print("-" * len(header))
    for kind in KINDS:
        cells = []
        for name, _ in parts:
            verdicts = [v for v in results[name] if v.item.kind == kind]
            ok = sum(v.ok for v in verdicts)
            cells.append(f"{ok:>5}/{len(verdicts):<3}" + (f"{ok / len(verdicts):5.0%}" if verdicts else "    -"))
        print(f"{kind:<12}" + "".join(f"{c:>14}" for c in cells))
    print("-" * len(header))
    totals = []
    for name, _ in parts:
        ok, n = sum(v.ok for v in results[name]), len(results[name])
        totals.append(f"{ok:>5}/{n:<3}{ok / n:5.0%}")
    print(f"{'all':<12}" + "".join(f"{c:>14}" for c in totals))
    if "holdout" in results:  # written in batches, each before one rule change
        held, batches, start = results["holdout"], [], 0
        for size in HOLDOUT_BATCHES:
            batches.append(held[start:start + size])
            start += size
        if start < len(held):
            batches.append(held[start:])
        print("holdout batches: " + ", ".join(f"{n}: {sum(v.ok for v in b)}/{len(b)}"
                                               for n, b in enumerate(batches, 1)))
    if args.misses or args.blind_misses:
        for name, _ in parts:
            if name.startswith(("blind", "holdout")) and not args.blind_misses:
                continue
            misses = [v for v in results[name] if not v.ok]
            print(f"\n{name} misses ({len(misses)}):")
            for v in misses:
                print(f"  [{v.item.kind}] {v.item.instruction!r} on {v.item.text!r}: {v.why}")
    if args.time_rules:
        _time_rules([v.item.instruction for r in results.values() for v in r])
    sources = Counter(conductor.understand(v.item.instruction).source for r in results.values() for v in r)
    print(f"\nemotion resolved by: {dict(sources)}")
    return 0


def _time_rules(instructions: list[str], rounds: int = 3) -> None:
    """Median and p95 CPU ms of the rule layer per instruction (not cached: parse_rules itself)."""
    import statistics
    import time

    from baton.conductors.embedded_intent import parse_rules

    per_ms = []
    for _ in range(rounds):
        for instruction in instructions:
            start = time.process_time()
            parse_rules(instruction)
            per_ms.append((time.process_time() - start) * 1000.0)
    per_ms.sort()
    print(f"\nrule layer over {len(instructions)} instructions x {rounds}: CPU median "
          f"{statistics.median(per_ms):.3f} ms, p95 {per_ms[int(0.95 * len(per_ms))]:.3f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
