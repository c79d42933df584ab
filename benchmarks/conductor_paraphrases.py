"""How often the embedded conductor maps paraphrased instructions to the intended emotion.

    OMP_NUM_THREADS=1 python -m benchmarks.conductor_paraphrases [baton/data/paraphrases.jsonl ...]

Prints accuracy overall and per emotion, how each instruction was resolved (keyword rules or embeddings)
and every miss. Default lists: the test list and the dev list.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    from baton.conductors.embedded import EmbeddedConductor

    paths = [Path(p) for p in argv] or [ROOT / "baton/data/paraphrases.jsonl", ROOT / "baton/data/paraphrases_dev.jsonl"]
    conductor = EmbeddedConductor()
    for path in paths:
        items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        total, right, sources, misses = Counter(), Counter(), Counter(), []
        for item in items:
            intent = conductor.understand(item["instruction"])
            total[item["emotion"]] += 1
            sources[intent.source] += 1
            if intent.emotion == item["emotion"]:
                right[item["emotion"]] += 1
            else:
                misses.append(f"  {item['instruction']!r}: wanted {item['emotion']}, got {intent.emotion} "
                              f"({intent.source})")
        n, ok = sum(total.values()), sum(right.values())
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {ok}/{n} = {ok / n:.1%} "
              f"(resolved by: {dict(sources)})")
        print("  per emotion: " + ", ".join(f"{e} {right[e]}/{total[e]}" for e in sorted(total)))
        print("\n".join(misses) if misses else "  no misses")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
