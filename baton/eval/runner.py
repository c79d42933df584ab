"""Render, measure and report a suite (``baton eval SUITE.jsonl -o DIR``).

Layout of DIR::

    audio/<id>.wav          the rendering of each item
    items/<id>.json         its plan, measurements and scores (written when the item is finished)
    neutral/<key>.wav|json  neutral renderings of the same words, for the direction checks
    report.json             per item + aggregate
    report.html             readable report with plots

Resuming: an item whose ``items/<id>.json`` exists with the same cache key (item, voice, conductor, seed,
options) is not rendered again, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baton.eval import metrics
from baton.eval.suite import SuiteItem, load_suite
from plan_contract import UserError

EVAL_VERSION = 4
"""Bump when measurements change, so old cached items are not mixed with new ones (3: constant series have no
correlation, see metrics.correlation; 4: per-segment spectral-centroid error)."""


@dataclass(frozen=True)
class EvalOptions:
    asr: bool = True
    """Measure WER with baton.asr (faster-whisper, offline)."""
    seed: int = 0
    """Seed for every rendering, so reruns are comparable."""
    limit: int | None = None
    """Only the first N items."""
    progress: bool = True
    """Show a progress bar on stderr."""
    spoken: bool = True
    """False for renderers that make no words (baton.eval.oracle): no ASR, no emphasis alignment."""
    classifier: str | None = None
    """Emotion classifier bundle (recipes/train_emotion_classifier.py; default: env BATON_EMOTION_CLASSIFIER,
    else none): judges each emotion item from its change against the neutral rendering (baton.eval.emotion)."""


def prosody_table() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "data" / "prosody_table.json"
    if not path.is_file():
        return {"table": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _key(*parts: Any) -> str:
    blob = json.dumps([EVAL_VERSION, *parts], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:16]


def _load_cached(path: Path, key: str) -> dict | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if data.get("key") == key else None


def _write_json(path: Path, data: Any) -> None:
    """Write atomically (temp file + rename) so an interrupted run never leaves half a result."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_finite(data), indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def _finite(value: Any) -> Any:
    """NaN/inf -> None so report.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


class _Runner:
    def __init__(self, out_dir: Path, pipe: Any, options: EvalOptions):
        self.out, self.pipe, self.options = out_dir, pipe, options
        for sub in ("audio", "items", "neutral"):
            (out_dir / sub).mkdir(parents=True, exist_ok=True)
        self.table = prosody_table()
        self.context = {"voice": pipe.voice_id, "conductor": getattr(pipe.conductor, "name", "?"),
                        "seed": options.seed, "asr": options.asr and options.spoken}
        self.asr = _load_asr() if self.context["asr"] else None
        from baton.eval.emotion import EmotionClassifier

        self.classifier = EmotionClassifier.from_env(options.classifier)
        if self.classifier is not None:  # in the cache key only when configured: old caches stay valid
            self.context["classifier"] = self.classifier.meta.get("trained_utc", "?")

    # Rendering ---------------------------------------------------------------------------------------
    def render(self, text: str, instruction: str | None, wav: Path) -> tuple[Any, float]:
        from baton.pipeline import save_audio

        start = time.perf_counter()
        plan = self.pipe.plan(text, instruction)
        plan_s = time.perf_counter() - start
        speech = self.pipe.speak(text, plan=plan, seed=self.options.seed)
        save_audio(wav, speech.audio, speech.sample_rate)
        return speech, plan_s

    def neutral(self, words: str, per_word: bool = False) -> dict:
        """Utterance measures (and, with ``per_word``, per-word measures) of the neutral rendering of
        ``words``; cached in DIR/neutral."""
        key = _key(words, self.context)
        json_path, wav = self.out / "neutral" / f"{key}.json", self.out / "neutral" / f"{key}.wav"
        result = _load_cached(json_path, key)
        if result is None:
            speech, _ = self.render(words, None, wav)
            result = {"key": key, "text": words,
                      "utterance": metrics.utterance_measures(speech.audio, speech.sample_rate)}
            audio, sample_rate = speech.audio, speech.sample_rate
        elif (per_word and "words" not in result) or (self.classifier is not None and "features" not in result):
            import soundfile

            audio, sample_rate = soundfile.read(str(wav), dtype="float32")
        else:
            return result
        if self.classifier is not None and "features" not in result:
            from feature_extract.utterance import measure_utterance

            try:
                result["features"] = measure_utterance(audio, sample_rate)  # the prosody table's definitions
            except ValueError as err:  # silent: the items compared with it are not judged
                result["features"] = {"error": " ".join(str(err).split())}
        if per_word and "words" not in result:
            # Per-word measures need a forced alignment: only done for items that check emphasis.
            result["words"] = _per_word_or_error(audio, sample_rate, words)
        _write_json(json_path, result)
        return json.loads(json.dumps(_finite(result)))

    # One item ----------------------------------------------------------------------------------------
    def item(self, item: SuiteItem) -> dict:
        key = _key(item.to_dict(), self.context)
        path = self.out / "items" / f"{item.id}.json"
        cached = _load_cached(path, key)
        if cached is not None:
            return cached
        result: dict[str, Any] = {"key": key, **item.to_dict()}
        try:
            result.update(self._measure(item))
        except UserError as err:  # fails this item (recorded in the report); anything else stops the run
            result["error"] = " ".join(str(err).split())
            return result  # not cached: a failed item is tried again on the next run
        _write_json(path, result)
        return json.loads(json.dumps(_finite(result)))

    def _measure(self, item: SuiteItem) -> dict[str, Any]:
        wav = self.out / "audio" / f"{item.id}.wav"
        speech, plan_s = self.render(item.text, item.instruction, wav)
        audio, sr = speech.audio, speech.sample_rate
        requested = []
        for seg, piece in zip(speech.plan.segments, speech.pieces):
            controls = {k: v for k, v in piece.predicted.items() if isinstance(v, (int, float))}
            controls.update({k: v for k, v in seg.controls().items() if v is not None})
            requested.append(controls)
        spans = metrics.segment_spans(speech.segment_bounds_s, audio, sr)
        measured = metrics.measure_spans(audio, sr, spans)
        out: dict[str, Any] = {
            "audio": str(wav.relative_to(self.out)),
            "plan": speech.plan.to_dict(),
            "segments": [{"word": s.word, "span_s": list(span), "requested": req, "measured": got}
                         for s, span, req, got in zip(speech.plan.segments, spans, requested, measured)],
            "adherence": metrics.adherence(requested, measured),
            "speed": {"plan_s": plan_s, "synthesis_s": speech.synthesis_s, "audio_s": speech.duration_s,
                      "rtf": (plan_s + speech.synthesis_s) / speech.duration_s if speech.duration_s else math.nan,
                      "time_to_first_audio_s": plan_s + speech.time_to_first_audio_s},
        }
        words = speech.plan.text.replace("*", "")
        if self.asr is not None:
            transcribe, wer = self.asr
            hypothesis = transcribe(audio, sr)
            out.update(transcript=hypothesis, wer=float(wer(words, hypothesis)))
        checks: list[dict] = []
        if item.needs_neutral:
            emphasis = bool(item.emphasis) and self.options.spoken
            neutral = self.neutral(words, per_word=emphasis)
            emotional = metrics.utterance_measures(audio, sr)
            relative = metrics.relative_to_neutral(emotional, neutral["utterance"])
            out["relative_to_neutral"] = relative
            expected = dict(metrics.table_directions(self.table, item.emotion, item.intensity)) \
                if item.emotion and item.emotion != "neutral" else {}
            expected.update({k: 1 if v == "+" else -1 for k, v in item.expect.items()})
            renders = getattr(self.pipe.synthesizer, "renders", None)  # e.g. the oracle renders no centroid
            if renders is not None:
                expected = {k: v for k, v in expected.items() if k in renders}
            checks = metrics.direction_checks(expected, relative)
            if self.classifier is not None and item.emotion:
                from feature_extract.utterance import measure_utterance, relative as relative_change

                reference = {k: math.nan if v is None else v for k, v in neutral["features"].items()}
                try:
                    change = relative_change(measure_utterance(audio, sr), reference)
                except (ValueError, KeyError) as err:  # a silent rendering (or neutral): not judged
                    out["emotion_change"] = {"error": " ".join(str(err).split())}
                else:
                    out["emotion_change"] = change
                    out["judged_emotion"] = self.classifier.predict([change])[0]
            if emphasis:
                checks.append(self._emphasis_check(item.emphasis, audio, sr, words, neutral["words"]))
        out["direction_checks"] = checks
        return out

    def _emphasis_check(self, target: str, audio: np.ndarray, sr: int, words: str, neutral_words: Any) -> dict:
        row: dict[str, Any] = {"metric": f"emphasis '{target}'", "expected": "+", "measured": math.nan, "ok": None}
        if isinstance(neutral_words, str):
            return {**row, "detail": f"neutral rendering: {neutral_words}"}
        from feature_extract.align import AlignmentError

        try:
            mine = metrics.prominence(_per_word(audio, sr, words), target)
        except AlignmentError as err:
            return {**row, "detail": " ".join(str(err).split())}  # not scored: the words could not be found
        base = metrics.prominence(neutral_words, target)
        gain = {k: mine[k] - base[k] for k in mine}  # pitch_st, energy_db: prominence gained over neutral
        scored = {k: v for k, v in gain.items() if math.isfinite(v)}
        if not scored:
            return {**row, "detail": gain}
        ok = (scored.get("pitch_st", -math.inf) >= metrics.MIN_CHANGE["pitch"]
              or scored.get("energy_db", -math.inf) >= metrics.MIN_CHANGE["energy"])
        return {**row, "measured": max(scored.values()), "detail": gain, "ok": ok}


def _per_word(audio: np.ndarray, sample_rate: int, text: str) -> list[dict]:
    """feature_extract's per-word measured plan of ``audio`` given its known ``text``."""
    import feature_extract

    return [{k: (float(v) if isinstance(v, (int, float)) else v) for k, v in seg.items()}
            for seg in feature_extract.extract_plan(audio, sample_rate, text, per_word=True)]


def _per_word_or_error(audio: np.ndarray, sample_rate: int, text: str) -> list[dict] | str:
    """Like :func:`_per_word`; the alignment error message (str) when the words cannot be aligned."""
    from feature_extract.align import AlignmentError

    try:
        return _per_word(audio, sample_rate, text)
    except AlignmentError as err:
        return " ".join(str(err).split())


def _load_asr():
    """(transcribe, wer) from baton.asr; a clear error when it cannot run here."""
    try:
        from baton import asr
    except ImportError as err:
        raise FileNotFoundError(f"word error rate needs baton.asr and faster-whisper ({err}); install "
                                "batonvoice[eval] or pass --no-asr") from None
    return asr.transcribe, asr.wer


def run_suite(suite: Path, out_dir: Path, pipe: Any, options: EvalOptions = EvalOptions()) -> dict:
    """Evaluate every item of ``suite`` with ``pipe``; write report.json/report.html; return the report."""
    from baton.eval import report

    table = prosody_table()
    items = load_suite(Path(suite), emotions=set(table["table"]) or None)
    if options.limit is not None:
        items = items[: options.limit]
    out_dir = Path(out_dir)
    runner = _Runner(out_dir, pipe, options)
    results = []
    bar = None
    if options.progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), unit="item", desc="eval", file=sys.stderr, disable=None)
    try:
        for item in items:
            results.append(runner.item(item))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    aggregate = metrics.aggregate(results)
    if runner.classifier is not None:
        from baton.eval.emotion import classifier_summary

        aggregate["emotion_classifier"] = classifier_summary(results, runner.classifier)
    data = _finite({"version": EVAL_VERSION, "suite": str(suite), "context": runner.context,
                    "baseline": pipe.baseline.to_dict(), "aggregate": aggregate,
                    "errors": [{"id": r["id"], "error": r["error"]} for r in results if "error" in r],
                    "items": results})
    _write_json(out_dir / "report.json", data)
    report.write_html(data, out_dir / "report.html")
    return data
