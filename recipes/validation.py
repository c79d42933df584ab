"""A voice's validation clips, as the tuning recipes and the benchmarks that follow them pick and score them.

The validation clips are the ones training held out (``tts_model.train.dataset.validation_ids``: every
``--every``-th prepared utterance in id order), so the model never saw them; they are never the held-out test
clips (recipes.ljspeech.HELD_OUT). Used by recipes/tune_harmonics.py, tune_centroid.py, build_exemplars.py and
benchmarks/rate_wer.py, intelligibility_pair.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from recipes.ljspeech import read_metadata

ROOT = Path(__file__).resolve().parents[1]


def split_rows(data: Path, corpus: Path, every: int) -> tuple[list[tuple[str, str, Path]], list[tuple[str, str, Path]]]:
    """The corpus rows (id, text, audio path) of the clips prepared in ``data``, split as a training run with
    ``validation_every = every`` splits them: (trained on, held out)."""
    from tts_model.train.dataset import load_index, validation_ids

    ids = list(load_index(data)["utterances"])
    held = validation_ids(ids, every)
    rows = [r for r in read_metadata(corpus) if r[0] in set(ids)]
    return [r for r in rows if r[0] not in held], [r for r in rows if r[0] in held]


def validation_rows(data: Path, corpus: Path, every: int) -> list[tuple[str, str, Path]]:
    """The held-out half of :func:`split_rows`. Raises FileNotFoundError/ValueError with the reason when there
    are none."""
    rows = split_rows(data, corpus, every)[1]
    if not rows:
        raise ValueError(f"no validation clips: {data} has no shards, or their ids are not in {corpus}")
    return rows


def add_validation_args(parser: argparse.ArgumentParser) -> None:
    """The options that pick a voice and its validation clips."""
    parser.add_argument("--voice", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="prepared shards the voice was trained from")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/corpora/ljspeech")
    parser.add_argument("--every", type=int, default=15, help="the training config's validation_every")
    parser.add_argument("--threads", type=int, default=2)


def measured_plans(rows: Iterable[tuple[str, str, Path]], sample_rate: int) -> list[tuple[str, list[dict]]]:
    """(transcript, plan measured from the recording by feature_extract) of each corpus row."""
    from recipes.evaluate_batontts import clean_plan
    from feature_extract import extract_plan
    from feature_extract.audio import load_audio

    plans = []
    for _, text, path in rows:
        recording, rate = load_audio(path, sample_rate)
        plans.append((text, clean_plan(extract_plan(recording, rate, text))))
    return plans


def validation_plans(parser: argparse.ArgumentParser, args: argparse.Namespace, sample_rate: int
                     ) -> list[tuple[str, list[dict]]]:
    """:func:`measured_plans` of every validation clip of ``args``; a missing clip set is a usage error."""
    try:
        rows = validation_rows(args.data, args.corpus, args.every)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    return measured_plans(rows, sample_rate)


def whisper_scores(renders: Iterable[tuple[str, np.ndarray]], sample_rate: int, threads: int) -> tuple[float, float]:
    """(corpus WER, Whisper NLL per token of the reference) over (transcript, audio) pairs."""
    from baton.asr import corpus_wer, reference_nll, transcribe

    pairs, nll_sum, token_count = [], 0.0, 0
    for text, wave in renders:
        pairs.append((text, transcribe(wave, sample_rate, cpu_threads=threads)))
        nll, n_tokens = reference_nll(wave, sample_rate, text, cpu_threads=threads)
        nll_sum, token_count = nll_sum + nll * n_tokens, token_count + n_tokens
    return corpus_wer(pairs).wer, nll_sum / max(token_count, 1)


def neutral_wer_nll(synth: Any, plans: Sequence[tuple[str, list[dict]]], threads: int) -> tuple[float, float]:
    """``whisper_scores`` of ``synth`` speaking each plan's words with every number left to the model (the
    intelligibility check the tuning recipes and benchmarks share)."""
    return whisper_scores(((text, synth.synthesize_all([{"word": seg["word"]} for seg in plan]))
                           for text, plan in plans), synth.sample_rate, threads)


def wer_nll_cell(synth: Any, plans: Sequence[tuple[str, list[dict]]], threads: int, skip: bool) -> str:
    """``neutral_wer_nll`` as a table cell pair ``"12.3 % | 0.8790"``; ``"- | -"`` when ``skip``."""
    if skip:
        return "- | -"
    wer, nll = neutral_wer_nll(synth, plans, threads)
    return f"{100 * wer:.1f} % | {nll:.4f}"
