"""Memory of ``baton speak --file`` on long input: peak RSS should not grow with the text's length.

The CLI writes each sentence group as soon as it is rendered (baton/audio_out.py), so a 20,000-word book
needs about the memory of a short paragraph. Each case is a fresh process; its peak resident set size
comes from the kernel (``ru_maxrss`` of the child). The text is generated (varied sentences, no corpus).

    OMP_NUM_THREADS=1 python -m benchmarks.long_input_memory --words 2000 20000 [--voice test]

``--voice test`` builds the tiny random-weight test voice (tts_model.train.testing; fast, noise instead of
speech: it measures the pipeline's memory, not the shipped model's); any other value is a voice id.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUBJECTS = ["The old lighthouse keeper", "A tired traveller", "The committee", "My neighbour's cat",
            "The small boat", "Every student in the class"]
VERBS = ["watched the storm roll in", "counted the hours until morning", "wrote a long letter home",
         "waited by the harbour", "listened to the rain on the roof", "forgot the name of the street"]
ENDINGS = ["before anyone noticed.", "and then said nothing at all.", "while the kettle boiled.",
           "as the lights went out.", "without a single complaint.", "until the bells rang twice."]


def book(n_words: int) -> str:
    """About ``n_words`` words of varied sentences, in paragraphs of five sentences."""
    sentences, count, i = [], 0, 0
    while count < n_words:
        sentence = f"{SUBJECTS[i % 6]} {VERBS[(i // 6) % 6]} {ENDINGS[(i // 36) % 6]}"
        sentences.append(sentence)
        count += len(sentence.split())
        i += 1
    paragraphs = [" ".join(sentences[j:j + 5]) for j in range(0, len(sentences), 5)]
    return "\n\n".join(paragraphs)


def run(n_words: int, voice: str, env: dict, tmp: Path) -> tuple[int, float, float, float, float]:
    """(words, audio s, wall s, peak RSS MB, file MB) for one fresh ``baton speak --file`` process."""
    text_file, out = tmp / f"book{n_words}.txt", tmp / f"book{n_words}.wav"
    text_file.write_text(book(n_words), encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "baton.cli", "speak", "--file", str(text_file), "-o", str(out), "-q",
                    "--voice", voice], check=True, cwd=REPO, env=env)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # max over the children so far
    import soundfile

    info = soundfile.info(str(out))
    return len(text_file.read_text().split()), info.duration, wall, peak_mb, out.stat().st_size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[2000, 20000], help="text lengths, ascending")
    parser.add_argument("--voice", default="test", help="'test' (tiny test voice) or a voice id")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        voice = args.voice
        if voice == "test":
            from tts_model.train.testing import make_test_voice

            make_test_voice(Path(tmp) / "voices" / "test-voice")
            env["BATON_VOICE_PATH"] = str(Path(tmp) / "voices")
            voice = "test-voice"
        print(f"baton speak --file, voice {voice}; peak RSS is the running maximum over the runs so far, "
              "so run lengths in ascending order")
        print(f"{'words':>7} {'audio s':>9} {'wall s':>8} {'peak RSS MB':>12} {'WAV MB':>8}")
        for n in sorted(args.words):
            words, audio_s, wall, peak, size = run(n, voice, env, Path(tmp))
            print(f"{words:>7} {audio_s:>9.0f} {wall:>8.1f} {peak:>12.0f} {size:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
