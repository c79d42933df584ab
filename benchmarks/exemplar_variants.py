"""Variants of the exemplar match (tts_model.runtime.exemplars.project) on the validation clips: WER and Whisper NLL.

Each variant replaces the runtime's ``project`` for one pass over the validation clips (neutral plans, words only,
as ``recipes/build_exemplars.py`` renders them); the voice's own settings (k, position, context and envelope
bins) stay. ``shipped`` is the voice as it is and must reproduce build_exemplars.py's row. The variants are the
leads measured in docs/training.md run 16; none of them is part of the runtime.

* ``weighted:<s>``  a distance-weighted mean of the k nearest: weights exp(-(d - d_min) / (s * (mean d - d_min)))
* ``k-stop:<k>``    a smaller k for stops and affricates only (their bursts blur in a mean of many)
* ``passes:<n>``    match again with the projected mel as the query
* ``median``        the per-bin median of the k nearest instead of their mean
* ``envelope:<class>``  keep the model's harmonic ripple only in phonemes of a tts_model.runtime.harmonics class
* ``match-envelope:<bins>``  match on the envelope (no harmonic ripple) in the lowest bins
* ``zscore:<floor>``  match on bins scaled by the phoneme's per-bin standard deviation (+ floor)
* ``instances:<k>``  average k whole recorded phoneme instances (interpolated to the frame's place) chosen by
  their mean distance over the phoneme plus the context term, instead of k frames chosen per frame

``--keep-fields`` renders the plans with some of the fields measured from the recordings instead of words only
(``duration pause_after``: the recordings' own segment timing), to see what the voice's predicted prosody costs.

    OMP_NUM_THREADS=1 python benchmarks/exemplar_variants.py --voice tts_model/voices/ljspeech \
        --data data/ljspeech --variants shipped weighted:0.5 instances:7 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "recipes"))

STOP_BASES = ("P", "B", "T", "D", "K", "G", "CH", "JH")


def _frame_variant(kind: str, value: str):
    """A project() that chooses k frames per frame, changed as ``kind`` says."""
    from tts_model.runtime import exemplars as ex
    from tts_model.text.frontend import PHONEMES
    from tts_model.runtime.harmonics import PHONEME_CLASSES

    stops = {i for i, p in enumerate(PHONEMES) if p.rstrip("012") in STOP_BASES}
    cache: dict = {}

    def distances(query, hit, phone_id):
        if kind == "zscore":
            if phone_id not in cache:
                sd = hit.mel.std(axis=0) + float(value)
                cache[phone_id] = (hit.mel / sd, np.sum((hit.mel / sd) ** 2, axis=1), sd)
            frames, norms, sd = cache[phone_id]
            # the plain distance's overall scale, so the place and context weights keep theirs
            return float(np.mean(sd ** 2)) * ex.spectral_distance(query / sd, frames, norms)
        if kind == "match-envelope":
            bins = int(value)
            if phone_id not in cache:
                smooth = hit.mel.copy()
                smooth[:, :bins] = ex._smooth_bins(hit.mel)[:, :bins]
                cache[phone_id] = (smooth, np.sum(smooth * smooth, axis=1))
            query = query.copy()
            query[:, :bins] = ex._smooth_bins(query)[:, :bins]
            return ex.spectral_distance(query, *cache[phone_id])
        return ex.spectral_distance(query, hit.mel, hit.norms)

    def project(mel, layout, bank, k, position_weight, strength=1.0, f0_hz=None, pitch_weight=0.0,
                envelope_bins=0, context_weight=0.0):
        mel = np.asarray(mel, dtype=np.float32)
        phones, places, left, right = (np.asarray(a) for a in layout)
        source = mel
        for _ in range(int(value) if kind == "passes" else 1):
            out = mel.copy()
            for phone_id in np.unique(phones):
                hit = bank.frames(int(phone_id))
                if hit is None:
                    continue
                rows = np.flatnonzero(phones == phone_id)
                dist = distances(source[rows], hit, int(phone_id))
                dist += ex.layout_cost(places[rows], left[rows], right[rows], hit, position_weight, context_weight)
                nearest = ex.nearest_rows(dist, int(value) if kind == "k-stop" and int(phone_id) in stops else k)
                if kind == "weighted":
                    d = np.take_along_axis(dist, nearest, axis=1)
                    d_min = d.min(axis=1, keepdims=True)
                    weights = np.exp(-(d - d_min) / (float(value) * np.maximum(d.mean(axis=1, keepdims=True) - d_min,
                                                                                1e-6)))
                    target = np.einsum("rk,rkb->rb", weights / weights.sum(axis=1, keepdims=True), hit.mel[nearest])
                elif kind == "median":
                    target = np.median(hit.mel[nearest], axis=1)
                else:
                    target = hit.mel[nearest].mean(axis=1)
                query = mel[rows]
                if kind != "envelope" or int(phone_id) in PHONEME_CLASSES[value]:
                    target = ex.keep_ripple(target, query, envelope_bins)
                out[rows] = query + np.float32(strength) * (target - query)
            source = out
        return out

    return project


def _instance_variant(k_instances: int):
    """A project() that averages whole recorded instances of each phoneme occurrence."""
    from tts_model.runtime import exemplars as ex

    cache: dict = {}

    def instances(bank, phone_id):
        if phone_id not in cache:  # bank frames of one phoneme, in recording order: a new instance where the place
            hit = bank.frames(phone_id)  # stops rising or the neighbours change
            new = np.ones(hit.places.size, bool)
            new[1:] = ((hit.places[1:] <= hit.places[:-1]) | (hit.left[1:] != hit.left[:-1])
                       | (hit.right[1:] != hit.right[:-1]))
            starts = np.flatnonzero(new)
            ends = np.append(starts[1:], hit.places.size)
            index = np.minimum(starts[:, None] + np.arange((ends - starts).max())[None], ends[:, None] - 1)
            cache[phone_id] = (hit, starts, index)
        return cache[phone_id]

    def at_places(hit, index, places):
        """(instances, len(places), bins): each instance's frames interpolated at ``places``, held at its ends."""
        inst_places = hit.places[index]
        lo_all, hi_all, frac_all = [], [], []
        for place in places:
            j = np.clip((inst_places <= place).sum(axis=1) - 1, 0, None)
            lo = np.take_along_axis(index, j[:, None], 1)[:, 0]
            hi = np.take_along_axis(index, np.minimum(j + 1, index.shape[1] - 1)[:, None], 1)[:, 0]
            p_lo, p_hi = hit.places[lo], hit.places[hi]
            frac = np.where(p_hi > p_lo, (place - p_lo) / np.maximum(p_hi - p_lo, 1e-6), 0.0)
            frac = np.where(place < hit.places[index[:, 0]], 0.0, np.clip(frac, 0.0, 1.0))
            lo_all.append(lo), hi_all.append(hi), frac_all.append(frac)
        lo, hi, frac = np.stack(lo_all, 1), np.stack(hi_all, 1), np.stack(frac_all, 1).astype(np.float32)
        return hit.mel[lo] * (1.0 - frac[..., None]) + hit.mel[hi] * frac[..., None]

    def project(mel, layout, bank, k, position_weight, strength=1.0, f0_hz=None, pitch_weight=0.0,
                envelope_bins=0, context_weight=0.0):
        mel = np.asarray(mel, dtype=np.float32)
        phones, places, left, right = (np.asarray(a) for a in layout)
        out = mel.copy()
        new = np.ones(phones.size, bool)
        new[1:] = (phones[1:] != phones[:-1]) | (places[1:] <= places[:-1])
        starts = np.flatnonzero(new)
        for start, end in zip(starts, np.append(starts[1:], phones.size)):
            phone_id = int(phones[start])
            if bank.frames(phone_id) is None:
                continue
            hit, inst_starts, index = instances(bank, phone_id)
            query = mel[start:end]
            paths = at_places(hit, index, places[start:end])
            cost = np.mean(np.square(paths - query[None]), axis=(1, 2)) + context_weight * 0.5 * (
                (hit.left[inst_starts] != left[start]).astype(np.float32) + (hit.right[inst_starts] != right[start]))
            n = min(k_instances, cost.size)
            best = np.argpartition(cost, n - 1)[:n] if n < cost.size else np.arange(cost.size)
            target = ex.keep_ripple(paths[best].mean(axis=0), query, envelope_bins)
            out[start:end] = query + np.float32(strength) * (target - query)
        return out

    return project


VARIANTS = ("shipped", "weighted", "k-stop", "passes", "median", "envelope", "match-envelope", "zscore", "instances")


def variant(text: str):
    """'weighted:0.5' -> a project() function (None for 'shipped'). Raises argparse.ArgumentTypeError."""
    kind, _, value = text.partition(":")
    if kind not in VARIANTS or (kind not in ("shipped", "median")) != bool(value):
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(VARIANTS)} (all but shipped and median "
                                         f"with ':<value>'), got {text!r}")
    if kind == "shipped":
        return None
    if kind == "instances":
        return _instance_variant(int(value))
    return _frame_variant(kind, value)


FIELDS = ("duration", "pause_after", "pitch_mean", "pitch_slope", "energy_rms", "energy_slope", "spectral_centroid")


def kept(segment: dict, fields: list[str]) -> dict:
    """A measured plan segment reduced to its words and ``fields`` (those it has)."""
    return {"word": segment["word"], **{f: segment[f] for f in fields if segment.get(f) is not None}}


def main(argv: list[str] | None = None) -> int:
    from tts_model.runtime import synthesizer as runtime
    from tune_harmonics import add_validation_args, validation_plans, whisper_scores

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_validation_args(parser)
    parser.add_argument("--variants", nargs="+", default=["shipped"], help="see the module docstring")
    parser.add_argument("--k", type=int, help="override the voice's exemplar_k")
    parser.add_argument("--keep-fields", nargs="*", default=[], choices=FIELDS, metavar="FIELD",
                        help="fields of the plans measured from the recordings to keep (default: none, words only); "
                             f"of {', '.join(FIELDS)}")
    args = parser.parse_args(argv)
    try:
        projects = [(name, variant(name)) for name in args.variants]
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    synth = runtime.Synthesizer.load(args.voice, threads=args.threads)
    if synth.exemplars is None:
        parser.error(f"{args.voice} has no exemplar bank (voice.json 'exemplar_file')")
    if args.k is not None:
        if args.k < 1:
            parser.error("--k needs a whole number >= 1")
        synth = dataclasses.replace(synth, config=dataclasses.replace(synth.config, exemplar_k=args.k))
    plans = validation_plans(parser, args, synth.sample_rate)
    shipped = runtime.project
    print(f"{len(plans)} validation clips, voice {args.voice}, exemplar_k {synth.config.exemplar_k}, plans: words"
          + "".join(f", {f}" for f in args.keep_fields) + "\n\n| variant | WER | Whisper NLL per token |\n|---|---:|---:|")
    for name, project in projects:
        started = time.time()
        runtime.project = project or shipped
        try:
            wer, nll = whisper_scores(((text, synth.synthesize_all([kept(seg, args.keep_fields) for seg in plan]))
                                       for text, plan in plans), synth.sample_rate, args.threads)
        finally:
            runtime.project = shipped
        print(f"| {name} | {100 * wer:.1f} % | {nll:.4f} |  ({time.time() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
