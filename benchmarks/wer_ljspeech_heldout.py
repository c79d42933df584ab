"""WER of the 50 held-out LJSpeech clips (LJ002-0151..LJ002-0200) under Whisper tiny.en, and vocoder resynthesis.

The original recordings' WER is the reference the synthetic default voice must stay within 2x of.
With ``--vocoder FILE`` (repeatable) every clip also goes log_mel -> ONNX vocoder -> ASR, which shows
how intelligible the vocoder itself is and what each precision costs; it also prints log-mel L1 and
spectral convergence of the resynthesis against the original and the vocoder's real-time factor.
With ``--voice VOICE`` (id or directory, repeatable) each clip's raw text is spoken by baton's Pipeline
with a neutral plan (embedded conductor, no instruction): the intelligibility bar is
WER(voice) <= 2 x WER(original), and the synthesis real-time factor is printed too.

    python -m benchmarks.wer_ljspeech_heldout                       # original recordings only
    python -m benchmarks.wer_ljspeech_heldout --vocoder /tmp/voc/v_fp32.onnx --vocoder /tmp/voc/v_int8.onnx
    python -m benchmarks.wer_ljspeech_heldout --skip-original --no-asr --repeats 3 --threads 2 --vocoder X.onnx  # speed
    python -m benchmarks.wer_ljspeech_heldout --voice tts_model/voices/<voice>         # the synthetic voice

References are the corpus's normalized transcriptions (metadata.csv column 3); hypotheses and
references both go through ``baton.asr.normalize_text``. Corpus WER = total errors / total ref words.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from baton import asr
from recipes.ljspeech import HELD_OUT
from tts_model.runtime import audio

REPO = Path(__file__).resolve().parents[1]

DEFAULT_CORPUS = REPO.parent / "shared" / "corpora" / "ljspeech"


def load_metadata(corpus: Path) -> dict[str, tuple[str, str]]:
    """clip id -> (raw transcription, normalized transcription)."""
    rows = {}
    for line in (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines():
        clip_id, raw, normalized = line.split("|", 2)
        rows[clip_id] = (raw, normalized)
    return rows


def spectral_metrics(reference: np.ndarray, resynth: np.ndarray) -> tuple[float, float]:
    """(log-mel L1, spectral convergence of mel magnitudes) of ``resynth`` against ``reference``."""
    n = min(len(reference), len(resynth))
    mel_ref, mel_out = audio.log_mel(reference[:n]), audio.log_mel(resynth[:n])
    l1 = float(np.abs(mel_ref - mel_out).mean())
    mag_ref, mag_out = np.exp(mel_ref), np.exp(mel_out)
    sc = float(np.linalg.norm(mag_ref - mag_out) / np.linalg.norm(mag_ref))
    return l1, sc


def run(args: argparse.Namespace) -> dict:
    texts = load_metadata(args.corpus)
    clips = {}
    for clip_id in HELD_OUT[: args.limit]:
        wave, sample_rate = sf.read(args.corpus / "wavs" / f"{clip_id}.flac", dtype="float32")
        if sample_rate != audio.SAMPLE_RATE:
            raise SystemExit(f"{clip_id}: sample rate {sample_rate}, expected {audio.SAMPLE_RATE}")
        clips[clip_id] = wave
    report: dict = {"clips": len(clips), "threads": args.threads, "asr_model": asr.ASR_MODEL_NAME,
                    "load_average_1min_start": os.getloadavg()[0], "systems": {}}
    systems: list[tuple[str, object]] = [] if args.skip_original else [("original", None)]
    if args.vocoder:
        from tts_model.runtime.vocoder import OnnxVocoder

        systems += [(str(path), OnnxVocoder.load(path, threads=args.threads)) for path in args.vocoder]
    for name, vocoder in systems:
        pairs, l1s, scs, vocode_s, audio_s = [], [], [], 0.0, 0.0
        for clip_id, wave in clips.items():
            if vocoder is not None:
                mel = audio.log_mel(wave)
                timings = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    wave_out = vocoder.vocode(mel)
                    timings.append(time.perf_counter() - start)
                vocode_s += min(timings)  # the least-disturbed run on a shared machine
                audio_s += len(wave_out) / audio.SAMPLE_RATE
                l1, sc = spectral_metrics(wave, wave_out)
                l1s.append(l1)
                scs.append(sc)
            else:
                wave_out = wave
            if not args.no_asr:
                reference = texts[clip_id][1]
                hyp = asr.transcribe(wave_out, audio.SAMPLE_RATE, cpu_threads=args.threads)
                pairs.append((reference, hyp))
                if args.verbose:
                    print(f"{clip_id} {asr.wer(reference, hyp):.3f} | {hyp}", flush=True)
        entry: dict = {}
        if pairs:
            total = asr.corpus_wer(pairs)
            entry.update(wer=total.wer, errors=total.errors, ref_words=total.ref_words,
                         substitutions=total.substitutions, deletions=total.deletions, insertions=total.insertions)
        if vocoder is not None:
            entry.update(log_mel_l1=float(np.mean(l1s)), spectral_convergence=float(np.mean(scs)),
                         rtf=vocode_s / audio_s, size_mb=Path(name).stat().st_size / 1e6)
        _record(report, name, entry)
    for voice in args.voice:
        _run_voice(args, report, voice, texts, list(clips))
        if args.quick_start:
            _run_voice(args, report, voice, texts, list(clips), quick_start=True)
    report["load_average_1min_end"] = os.getloadavg()[0]
    print(f"load average (1 min) at start/end: {report['load_average_1min_start']:.2f} / "
          f"{report['load_average_1min_end']:.2f} on {os.cpu_count()} CPUs")
    return report


def _record(report: dict, name: str, entry: dict) -> None:
    report["systems"][name] = entry
    print(f"{name}: " + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                                  for k, v in entry.items()), flush=True)


def _streamed(pipeline, raw: str) -> tuple[np.ndarray, int, float, float]:
    """``Pipeline.stream(raw, quick_start=True)`` joined: (audio, sample rate, synthesis s, first audio s)."""
    start = time.perf_counter()
    pieces, first = [], None
    for piece in pipeline.stream(raw, quick_start=True):
        first = time.perf_counter() - start if first is None else first
        pieces.append(piece)
    return (np.concatenate([p.audio for p in pieces]), pieces[0].sample_rate, time.perf_counter() - start,
            float(first))


def _run_voice(args: argparse.Namespace, report: dict, voice: str, texts: dict, clip_ids: list[str],
               quick_start: bool = False) -> None:
    """Speak each clip's raw text with a neutral plan and transcribe it (``quick_start``: streamed with a
    small first window, tts_model/runtime/quick_start.py, as ``baton speak -o -`` and the server stream)."""
    from baton.pipeline import Pipeline

    pipeline = Pipeline.load(voice=voice)
    pairs, synthesis_s, audio_s, first_audio_s = [], 0.0, 0.0, []
    for clip_id in clip_ids:
        raw, reference = texts[clip_id]
        if quick_start:
            audio, sample_rate, seconds, first = _streamed(pipeline, raw)
        else:
            speech = pipeline.speak(raw)
            audio, sample_rate, seconds, first = (speech.audio, speech.sample_rate, speech.synthesis_s,
                                                  speech.time_to_first_audio_s)
        synthesis_s += seconds
        audio_s += audio.size / sample_rate
        first_audio_s.append(first)
        if not args.no_asr:
            hyp = asr.transcribe(audio, sample_rate, cpu_threads=args.threads)
            pairs.append((reference, hyp))
            if args.verbose:
                print(f"{clip_id} {asr.wer(reference, hyp):.3f} | {hyp}", flush=True)
    entry: dict = {"rtf": synthesis_s / max(audio_s, 1e-9),
                   "time_to_first_audio_s_median": float(np.median(first_audio_s))}
    if pairs:
        total = asr.corpus_wer(pairs)
        entry = dict(wer=total.wer, errors=total.errors, ref_words=total.ref_words, substitutions=total.substitutions,
                     deletions=total.deletions, insertions=total.insertions, **entry)
    _record(report, f"voice:{voice}" + (" quick start" if quick_start else ""), entry)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="LJSpeech folder (wavs/, metadata.csv)")
    parser.add_argument("--vocoder", type=Path, action="append", default=[], help="ONNX vocoder to resynthesise with")
    parser.add_argument("--voice", action="append", default=[],
                        help="a BatonVoice voice (id or directory) to speak the held-out texts with a neutral plan")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for the vocoder and the ASR")
    parser.add_argument("--limit", type=int, default=len(HELD_OUT), help="use only the first N clips")
    parser.add_argument("--skip-original", action="store_true", help="do not transcribe the original recordings")
    parser.add_argument("--repeats", type=int, default=1, help="vocode each clip N times, time the fastest")
    parser.add_argument("--no-asr", action="store_true", help="vocoder metrics and speed only")
    parser.add_argument("--quick-start", action="store_true",
                        help="with --voice: also speak every clip streamed with quick start, and report both")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--verbose", action="store_true", help="print every transcript")
    args = parser.parse_args()
    if not (args.corpus / "metadata.csv").is_file():
        print(f"error: no LJSpeech corpus at {args.corpus}; pass --corpus PATH", file=sys.stderr)
        return 1
    report = run(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
