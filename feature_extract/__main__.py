"""``python -m feature_extract``: measure the plan of every clip of an LJSpeech-style corpus.

See ``python -m feature_extract --help`` and docs/feature_extract.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from feature_extract.corpus import CorpusError, CorpusItem, append_line, done_ids, process_item, read_metadata

DESCRIPTION = """\
Align and measure every clip of an LJSpeech-style corpus, writing one JSON line per clip:
{"id", "text", "duration_s", "segments": [plan segments with pitch_mean Hz, pitch_slope Hz/s,
energy_rms, energy_slope dB/s, spectral_centroid Hz, duration s, pause_after s; null = undefined],
"words": [{"word", "start_s", "end_s", "phones": [[ARPAbet phone, start_s, end_s], ...]}]}.

The corpus folder holds metadata.csv (no header; id|text|normalized or id|text) and wavs/ with
<id>.wav or <id>.flac. The run is resumable: ids already in the output are skipped, every finished
clip is written and flushed at once, and a clip that fails (missing or corrupt audio, empty
transcript, failed alignment) is logged to the error file and never stops the run. Exit status:
0 when every clip is done, 1 when some failed, 2 for unusable arguments, 130 when interrupted."""

EPILOG = """\
example:
  nice -n 10 python -m feature_extract ../shared/corpora/ljspeech -o data/ljspeech.plans.jsonl --workers 2"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m feature_extract", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, help="corpus folder with metadata.csv and wavs/")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="output JSONL (default: <corpus name>.plans.jsonl in the current folder)")
    parser.add_argument("--errors", type=Path, default=None,
                        help="per-clip error log, JSONL {id, error, message} (default: <output>.errors.jsonl)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--audio-dir", type=Path, default=None, help="audio folder (default: <corpus>/wavs)")
    parser.add_argument("--text-column", choices=("text", "normalized"), default="text",
                        help="transcript column of metadata.csv: 'text' (2nd, default; numbers are "
                             "expanded for alignment but reported verbatim) or 'normalized' (3rd)")
    parser.add_argument("--per-word", action="store_true", help="one segment per word instead of ~1 s phrases")
    parser.add_argument("--limit", type=int, default=None, help="process at most this many clips (in file order)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    output: Path = args.output or Path(f"{args.corpus.resolve().name}.plans.jsonl")
    errors: Path = args.errors or output.with_name(output.name.removesuffix(".jsonl") + ".errors.jsonl")
    try:
        items = read_metadata(args.corpus, args.text_column, args.audio_dir)
        already = done_ids(output)
    except CorpusError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.limit is not None:
        items = items[: args.limit]
    todo = [item for item in items if item.id not in already]
    skipped = len(items) - len(todo)
    output.parent.mkdir(parents=True, exist_ok=True)
    errors.parent.mkdir(parents=True, exist_ok=True)

    counts = {"done": 0, "failed": 0}
    started = time.monotonic()
    interrupted = False
    with open(output, "a", encoding="utf-8") as out, open(errors, "a", encoding="utf-8") as err_log:
        progress = _progress(len(todo), disabled=args.no_progress)
        try:
            for clip_id, record, failure in _results(todo, args.workers, args.per_word):
                if failure is None:
                    append_line(out, record)
                    counts["done"] += 1
                else:
                    append_line(err_log, {"id": clip_id, **failure,
                                          "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
                    counts["failed"] += 1
                    progress.write(f"failed {clip_id}: {failure['error']}: {failure['message']}")
                progress.update(1)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            progress.close()
    elapsed_s = time.monotonic() - started
    print(f"{'interrupted' if interrupted else 'finished'}: {counts['done']} done, {skipped} skipped "
          f"(already in {output}), {counts['failed']} failed (see {errors}), "
          f"{len(todo) - counts['done'] - counts['failed']} not attempted; {elapsed_s:.1f} s")
    if interrupted:
        return 130
    return 1 if counts["failed"] else 0


def _progress(total: int, disabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="clip", disable=disabled, dynamic_ncols=True, file=sys.stderr)


def _results(items: list[CorpusItem], workers: int, per_word: bool):
    """Yield (id, record, None) or (id, None, {"error", "message"}) per item, in completion order."""
    if workers == 1 or len(items) <= 1:
        for item in items:
            yield _work((item, per_word))
        return
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    pool = context.Pool(processes=workers, initializer=_init_worker)
    try:
        yield from pool.imap_unordered(_work, [(item, per_word) for item in items], chunksize=1)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _work(task: tuple[CorpusItem, bool]) -> tuple[str, dict[str, Any] | None, dict[str, str] | None]:
    item, per_word = task
    try:
        return item.id, process_item(item, per_word=per_word), None
    except Exception as err:  # noqa: BLE001 - one bad clip must not stop the corpus; it is logged
        return item.id, None, {"error": type(err).__name__, "message": str(err).splitlines()[0] if str(err) else ""}


if __name__ == "__main__":
    sys.exit(main())
