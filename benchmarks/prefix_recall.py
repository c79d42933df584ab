"""How the "instruction: text" form reads real instructions and ordinary headings (baton/prefix.py).

Recall: the instructions of the conductor's paraphrase sets (baton/data/paraphrases*.jsonl, those of at
most 8 words, letters only: the prefix form) put before a colon, and how many are taken as an instruction.
The rest is spoken and needs ``-i``. Headings: ordinary text before a colon (a fixed list, written for this
check) and how many are wrongly taken as an instruction.

    python -m benchmarks.prefix_recall
"""

from __future__ import annotations

import json
from pathlib import Path

from baton.prefix import _PREFIX, reads_as_instruction

REPO = Path(__file__).resolve().parents[1]

HEADINGS = ["Note", "Dear John", "Ingredients", "Warning", "Chapter one", "Sad news", "Happy birthday", "John",
            "Q", "A", "Family", "Content", "Quick note", "Like I said", "As you know", "In a nutshell",
            "Angry Birds", "Step one", "Update", "Subject", "Summary", "Breaking news", "Good news", "Bad news",
            "Important", "Reminder", "Caution", "Tip", "Answer", "Question", "Agenda", "Directions", "Method",
            "Conclusion", "PS", "Attention all passengers", "Dear Sir or Madam", "Ladies and gentlemen",
            "Part two", "Scene three", "Verse", "Chorus", "Title", "Location", "Time", "Price", "Total"]


def main() -> None:
    taken, total, missed = 0, 0, []
    for path in sorted((REPO / "baton" / "data").glob("paraphrases*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            instruction = json.loads(line)["instruction"]
            match = _PREFIX.match(instruction + ": Hello there.")
            if match and len(match.group(1).split()) <= 8:
                total += 1
                if reads_as_instruction(match.group(1)):
                    taken += 1
                else:
                    missed.append(instruction)
    wrong = [h for h in HEADINGS if reads_as_instruction(h)]
    print(f"paraphrase instructions taken as a prefix: {taken} of {total} ({100 * taken / total:.0f} %)")
    print(f"headings taken as an instruction: {len(wrong)} of {len(HEADINGS)} {wrong}")
    print("not taken (give these with -i):", "; ".join(missed))


if __name__ == "__main__":
    main()
