"""baton.eval.emotion and benchmarks/emotion_render.py: IQR checks, counts, WER bar, classifier plumbing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from baton.eval import emotion as emo

ROOT = Path(__file__).resolve().parents[1]
TABLE = json.loads((ROOT / "baton" / "data" / "prosody_table.json").read_text(encoding="utf-8"))


def _stats(median, q25, q75):
    return {"median": median, "q25": q25, "q75": q75, "n": 10}


def test_feature_check_inside_outside_and_undefined():
    ref = {"pitch_st": _stats(3.0, 1.0, 5.0)}
    checks = emo.compare({"pitch_st": [0.5, 2.0, 4.0, math.nan]}, ref, ["pitch_st"])
    assert checks["pitch_st"].rendered == 2.0 and checks["pitch_st"].n_rendered == 3  # NaN left out
    assert checks["pitch_st"].inside is True
    assert emo.compare({"pitch_st": [6.0]}, ref, ["pitch_st"])["pitch_st"].inside is False
    assert emo.compare({"pitch_st": [5.0]}, ref, ["pitch_st"])["pitch_st"].inside is True  # edges count
    assert emo.compare({"pitch_st": [math.nan]}, ref, ["pitch_st"])["pitch_st"].inside is False  # nothing measured
    assert emo.compare({"pitch_st": [2.0]}, {}, ["pitch_st"])["pitch_st"].inside is None  # no reference


def test_fully_inside_and_counts_skip_neutral_and_other_intensity():
    ref = {"pitch_st": _stats(3.0, 1.0, 5.0), "energy_db": _stats(4.0, 2.0, 6.0)}
    good = emo.compare({"pitch_st": [3.0], "energy_db": [4.0]}, ref, ["pitch_st", "energy_db"])
    half = emo.compare({"pitch_st": [3.0], "energy_db": [9.0]}, ref, ["pitch_st", "energy_db"])
    rows = {("neutral", "strong"): good, ("happy", "strong"): good, ("angry", "strong"): half,
            ("sad", "normal"): good}
    assert emo.fully_inside(good) is True and emo.fully_inside(half) is False
    assert emo.fully_inside(half, ["pitch_st"]) is True
    assert emo.count_fully_inside(rows, "strong", ["pitch_st", "energy_db"]) == (1, 2, ["happy"])
    assert emo.count_fully_inside(rows, "strong", ["pitch_st"]) == (2, 2, ["happy", "angry"])
    assert emo.count_fully_inside(rows, "normal") == (1, 1, ["sad"])


def test_reference_stats_merge_prosody_and_voice_quality():
    document = {"table": {"happy": {"strong": {"pitch_st": _stats(9.0, 7.0, 12.0)}},
                          "neutral": {"normal": {"pitch_st": _stats(0.0, -0.5, 0.5)}}},
                "remeasured": {"table": {"happy": {"strong": {"pitch_st": _stats(8.0, 6.0, 11.0)}}}},
                "voice_quality": {"table": {"happy": {"strong": {"hnr_db": _stats(0.3, -0.8, 1.5)}}}}}
    merged = emo.reference_stats(document, "happy", "strong")
    assert merged["pitch_st"]["median"] == 8.0 and merged["hnr_db"]["median"] == 0.3
    assert emo.reference_stats(document, "happy", "strong", "shipped")["pitch_st"]["median"] == 9.0
    assert emo.reference_stats(document, "neutral", "strong")["pitch_st"]["q75"] == 0.5  # neutral: its one row
    assert emo.reference_stats(document, "happy", "normal") == {}
    with pytest.raises(ValueError, match="valid: remeasured, shipped"):
        emo.reference_stats(document, "happy", "strong", "newest")


def test_shipped_table_has_voice_quality_for_every_row():
    assert "voice_quality" in TABLE and "remeasured" in TABLE
    for emotion, rows in TABLE["table"].items():
        for intensity in rows:
            merged = emo.reference_stats(TABLE, emotion, intensity)
            assert set(merged) == set(emo.FEATURES), (emotion, intensity)
            for stats in merged.values():
                assert stats["q25"] <= stats["median"] <= stats["q75"]
            # Only the pitch tracker changed since the shipped table was measured: loudness, rate and
            # centroid re-measure identically.
            for q in ("energy_db", "rate_ratio", "centroid_st", "energy_slope_db_per_s"):
                assert TABLE["remeasured"]["table"][emotion][intensity][q] == rows[intensity][q]


def test_wer_bar():
    assert emo.wer_ok(0.15, 0.10) is True and emo.wer_ok(0.16, 0.10) is False
    assert emo.wer_ok(0.0, 0.0) is True and emo.wer_ok(0.05, 0.0) is False
    assert emo.wer_ok(math.nan, 0.1) is None


def test_confusion_counts_and_recall():
    labels = ["neutral", "happy", "sad"]
    matrix = emo.confusion(["happy", "happy", "sad", "calm"], ["happy", "sad", "sad", "sad"], labels)
    assert matrix == [[0, 0, 0], [0, 1, 1], [0, 0, 1]]
    text = emo.confusion_markdown(matrix, labels)
    assert "| happy | 0 | 1 | 1 | 50% |" in text and "| neutral | 0 | 0 | 0 | – |" in text


def test_classifier_bundle_loads_and_predicts(tmp_path):
    import joblib
    from recipes.train_emotion_classifier import make_model

    rng = np.random.default_rng(0)
    features = ["pitch_st", "energy_db"]
    X = np.concatenate([rng.normal([0, 0], 0.5, (30, 2)), rng.normal([8, 10], 0.5, (30, 2))])
    y = np.array(["neutral"] * 30 + ["angry"] * 30)
    path = tmp_path / "clf.joblib"
    joblib.dump({"model": make_model("logistic").fit(X, y), "features": features, "labels": ["neutral", "angry"],
                 "meta": {"name": "toy"}}, path)
    clf = emo.EmotionClassifier.load(path)
    judged = clf.predict([{"pitch_st": 7.5, "energy_db": 11.0}, {"pitch_st": 0.1, "energy_db": math.nan}])
    assert judged == ["angry", "neutral"]  # a missing change is imputed, not an error
    joblib.dump({"model": None}, path)
    with pytest.raises(ValueError, match="not an emotion classifier bundle"):
        emo.EmotionClassifier.load(path)
    with pytest.raises(FileNotFoundError, match="python -m recipes.train_emotion_classifier"):
        emo.EmotionClassifier.load(tmp_path / "missing.joblib")


def test_benchmark_summary_from_records():
    from benchmarks.emotion_render import FIVE, markdown, summarise

    ref = emo.reference_stats(TABLE, "angry", "strong")
    inside = {q: ref[q]["median"] for q in emo.FEATURES}
    records = [{"emotion": "neutral", "intensity": "normal", "change": {q: 0.0 for q in emo.FEATURES},
                "word_errors": 1, "ref_words": 10},
               {"emotion": "angry", "intensity": "strong", "change": inside, "word_errors": 1, "ref_words": 10},
               {"emotion": "sad", "intensity": "strong", "change": {q: 100.0 for q in emo.FEATURES},
                "word_errors": 3, "ref_words": 10}]
    summary = summarise(records, TABLE)
    assert summary["counts"]["strong"]["all_features"] == (1, 2, ["angry"])
    assert summary["neutral_wer"] == pytest.approx(0.1) and summary["wer"][("sad", "strong")] == pytest.approx(0.3)
    table = markdown(summary, emo.FEATURES, extra_wer=True)
    assert table.count("✓") >= len(emo.FEATURES) + 1 and "30.0 %" in table
    assert set(FIVE) == {"happy", "sad", "angry", "fearful", "surprised"}


def test_benchmark_renders_one_sentence_end_to_end(tmp_path):
    """The shipped voice, one short sentence, neutral + strong anger, no ASR: real renders, real measures."""
    from benchmarks.emotion_render import main

    out = tmp_path / "emotion.json"
    assert main(["--sentences", "s03", "--emotions", "angry", "--intensities", "strong", "--no-asr",
                 "--json", str(out)]) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    renders = {(r["emotion"], r["intensity"]): r for r in document["renders"]}
    assert set(renders) == {("neutral", "normal"), ("angry", "strong")}
    neutral = renders[("neutral", "normal")]["change"]
    assert neutral["pitch_st"] == 0.0 and neutral["rate_ratio"] == 1.0  # the reference against itself
    angry = renders[("angry", "strong")]["change"]
    assert all(angry[q] is not None for q in ("pitch_st", "energy_db", "rate_ratio", "centroid_st"))
    assert set(document["rows"]["angry/strong"]) == set(emo.FEATURES)


def test_benchmark_rejects_unknown_ids(capsys):
    from benchmarks.emotion_render import main

    with pytest.raises(SystemExit):
        main(["--sentences", "s99"])
    assert "valid: s01" in capsys.readouterr().err


def test_baton_eval_adds_the_classifiers_confusion(tmp_path, monkeypatch):
    """baton eval with a classifier (here a toy one on two features) judges every emotion item from its
    change against the neutral rendering; oracle tones do exactly what the plan asks, so angry is judged angry."""
    import joblib
    from recipes.train_emotion_classifier import make_model

    from baton.cli import main as cli_main

    rng = np.random.default_rng(1)
    centres = {"neutral": [0, 0], "angry": [5, 10], "sad": [0, -4]}
    X = np.concatenate([rng.normal(c, 0.7, (30, 2)) for c in centres.values()])
    y = np.repeat(list(centres), 30)
    path = tmp_path / "clf.joblib"
    joblib.dump({"model": make_model("logistic").fit(X, y), "features": ["pitch_st", "energy_db"],
                 "labels": list(centres), "meta": {"name": "toy"}}, path)
    monkeypatch.setenv("BATON_VOICE_PATH", str(tmp_path / "no-voices"))
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        '{"id": "angry", "text": "Get out of my kitchen right now!", "instruction": "furious", "emotion": "angry"}\n'
        '{"id": "calm", "text": "The baby is finally asleep.", "instruction": "calmly", "emotion": "calm"}\n',
        encoding="utf-8")
    out = tmp_path / "out"
    assert cli_main(["eval", str(suite), "-o", str(out), "--oracle", "-q", "--classifier", str(path)]) == 0
    report = json.loads((out / "report.json").read_text())
    judged = report["aggregate"]["emotion_classifier"]
    assert judged["n"] == 1 and judged["accuracy"] == 1.0  # calm is not one of the classifier's emotions
    assert judged["confusion"][1] == [0, 1, 0]
    items = {it["id"]: it for it in report["items"]}
    assert items["angry"]["judged_emotion"] == "angry" and items["angry"]["emotion_change"]["pitch_st"] > 1.0
    assert "Emotion classifier (toy)" in (out / "report.html").read_text()


def test_benchmark_warns_when_the_conductor_misreads_an_instruction():
    from benchmarks.emotion_render import misread

    records = [{"emotion": "surprised", "instruction": "surprised", "understood": {"emotion": "fearful", "level": 1.0}},
               {"emotion": "surprised", "instruction": "surprised", "understood": {"emotion": "fearful", "level": 1.0}},
               {"emotion": "sad", "instruction": "sadly", "understood": {"emotion": "sad", "level": 1.0}},
               {"emotion": "neutral", "instruction": None}]
    assert misread(records) == ["warning: the conductor read 'surprised' as fearful (level 1), not surprised"]


def test_planned_change_reads_the_plan_as_the_render_is_read():
    """The plan/render table's plan side: pitch x2 is +12 st, energy x2 +6 dB, half the time rate x2, and a
    plan against itself changes nothing."""
    from dataclasses import replace

    from benchmarks.emotion_render import planned_change

    from baton.baseline import DEFAULT_BASELINE
    from baton.conductors.embedded import EmbeddedConductor
    from baton.plan import Plan

    plan = EmbeddedConductor(use_embeddings=False).plan("We waited for an hour, and then we went home.", None,
                                                         DEFAULT_BASELINE)
    assert all(abs(v) < 1e-9 for k, v in planned_change(plan, plan).items() if k != "rate_ratio")
    assert planned_change(plan, plan)["rate_ratio"] == pytest.approx(1.0)
    moved = Plan.from_segments([replace(s, pitch_mean=2 * s.pitch_mean, pitch_slope=2 * (s.pitch_slope or 0.0),
                                        energy_rms=2 * s.energy_rms, duration=s.duration / 2,
                                        pause_after=None if s.pause_after is None else s.pause_after / 2).to_dict()
                                for s in plan.segments])
    change = planned_change(moved, plan)
    assert change["pitch_st"] == pytest.approx(12.0)
    assert change["energy_db"] == pytest.approx(20 * math.log10(2))
    assert change["rate_ratio"] == pytest.approx(2.0)


def test_pitch_ceiling_ramp_runs_from_start_to_end_across_segment_centres():
    from baton.conductors.embedded import EmbeddedConductor
    from baton.baseline import DEFAULT_BASELINE
    from benchmarks.pitch_ceiling import ramp_plan, planned_slope_st_per_s, segment_centres_s

    plan = EmbeddedConductor(use_embeddings=False).plan(
        "The train leaves at seven, so we should pack tonight, and nobody will stop us.", None, DEFAULT_BASELINE)
    assert len(plan.segments) >= 3
    ramped = ramp_plan(plan, 4.0, 12.0)
    offsets_st = [12 * math.log2(r.pitch_mean / s.pitch_mean) for r, s in zip(ramped.segments, plan.segments)]
    assert offsets_st[0] == pytest.approx(4.0) and offsets_st[-1] == pytest.approx(12.0)
    centres_s = segment_centres_s(plan)
    slope = planned_slope_st_per_s(plan, 4.0, 12.0)
    assert slope == pytest.approx(8.0 / (centres_s[-1] - centres_s[0]))
    assert np.allclose(np.diff(offsets_st), slope * np.diff(centres_s))
    for r, s in zip(ramped.segments, plan.segments):  # each segment's own slope: scaled, plus the ramp's
        factor = r.pitch_mean / s.pitch_mean
        assert r.pitch_slope == pytest.approx((s.pitch_slope or 0.0) * factor + slope * r.pitch_mean * math.log(2) / 12)
        assert (r.duration, r.word, r.energy_rms) == (s.duration, s.word, s.energy_rms)
    flat = ramp_plan(plan, 6.0, 6.0)
    assert all(12 * math.log2(r.pitch_mean / s.pitch_mean) == pytest.approx(6.0)
               for r, s in zip(flat.segments, plan.segments))
    assert planned_slope_st_per_s(plan, 6.0, 6.0) == 0.0


def test_pitch_ceiling_rejects_a_sentence_count_out_of_range(capsys):
    from benchmarks.pitch_ceiling import main
    with pytest.raises(SystemExit):
        main(["--sentences", "0"])
    assert "--sentences must be 1-10" in capsys.readouterr().err


def test_heldout_wer_summary_pools_errors_and_divides_by_neutral(tmp_path, capsys):
    from benchmarks.emotion_heldout_wer import main, pick_sentences, summarise

    def change(pitch_st):
        return {"pitch_st": pitch_st, "slope_st_per_s": 0.5, "range_st": None, "energy_db": 1.0,
                "rate_ratio": 1.0, "centroid_st": 0.0}
    records = [{"clip": "a", "emotion": "neutral", "errors": 1, "words": 10, "change": change(0.0)},
               {"clip": "a", "emotion": "angry", "errors": 3, "words": 10, "change": change(8.0)},
               {"clip": "b", "emotion": "neutral", "errors": 1, "words": 10, "change": change(0.0)},
               {"clip": "b", "emotion": "angry", "errors": 1, "words": 10, "change": change(10.0)}]
    summary = summarise(records)
    assert list(summary) == ["neutral", "angry"]
    assert summary["angry"]["wer"] == pytest.approx(0.2) and summary["angry"]["wer_ratio"] == pytest.approx(2.0)
    assert summary["angry"]["pitch_st"] == pytest.approx(9.0) and math.isnan(summary["angry"]["range_st"])
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"git": "abc1234", "records": records}), encoding="utf-8")
    assert main(["--from-json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| angry | 2 | 20.0 % (4/20) | 2.00 | +9.00 |" in out and "abc1234" in out

    from recipes.ljspeech import HELD_OUT
    metadata = {clip: ("one two three four five six", "one two three four five six") for clip in HELD_OUT}
    metadata[HELD_OUT[20]] = ("too short", "too short")
    picked = pick_sentences(metadata, 3)
    assert [p[0] for p in picked] == list(HELD_OUT[21:24])  # past the first 20, the short one skipped


def test_heldout_wer_says_where_the_corpus_is_missing(tmp_path, capsys):
    from benchmarks.emotion_heldout_wer import main
    with pytest.raises(SystemExit):
        main(["--corpus", str(tmp_path)])
    assert "no LJSpeech metadata.csv" in capsys.readouterr().err


def test_pitch_ceiling_corpus_f0_counts_frames_above_the_baseline(tmp_path):
    import soundfile as sf
    from benchmarks.pitch_ceiling import corpus_f0_table

    (tmp_path / "wavs").mkdir()
    t_s = np.arange(0, 1.0, 1 / 16000)
    for name, f0_hz in (("low.wav", 200.0), ("high.flac", 420.0)):  # the baseline, and +12.4 st over it
        tone = sum(0.3 / k * np.sin(2 * np.pi * k * f0_hz * t_s) for k in (1, 2, 3))
        sf.write(tmp_path / "wavs" / name, tone, 16000)
    table = corpus_f0_table(tmp_path, baseline_hz=200.0)
    assert "(2 clips" in table
    shares = table.splitlines()[-1].split("|")[2:5]
    assert [float(s.strip(" %")) for s in shares] == pytest.approx([50.0, 50.0, 50.0], abs=3.0)
    with pytest.raises(SystemExit, match="no .flac or .wav"):
        corpus_f0_table(tmp_path / "wavs", baseline_hz=200.0)


def _pulse_vowel(f0_hz: float, seconds: float, rate_hz: int) -> np.ndarray:
    """A glottal-pulse train through two formant-like resonances: a voiced sound Praat's PSOLA can shift."""
    from scipy.signal import lfilter

    pulses = np.zeros(int(seconds * rate_hz))
    pulses[:: int(round(rate_hz / f0_hz))] = 1.0
    voiced = pulses
    for formant_hz, bandwidth_hz in ((700.0, 110.0), (1200.0, 140.0)):
        radius = math.exp(-math.pi * bandwidth_hz / rate_hz)
        voiced = lfilter([1.0], [1.0, -2 * radius * math.cos(2 * math.pi * formant_hz / rate_hz), radius ** 2], voiced)
    return (0.5 * voiced / np.max(np.abs(voiced))).astype(np.float32)


def test_pitch_ceiling_vocoder_shifts_measure_what_goes_in_and_comes_out(tmp_path):
    import soundfile as sf
    from benchmarks.pitch_ceiling import vocoder_shift_table

    (tmp_path / "wavs").mkdir()
    stereo = np.stack([_pulse_vowel(180.0, 1.2, 44100)] * 2, axis=1)  # resampled and mixed down on the way in
    sf.write(tmp_path / "wavs" / "LJ002-0151.wav", stereo, 44100)
    table = vocoder_shift_table(tmp_path, ["ljspeech-v1"], clips=3, shifts_st=(0.0, 6.0))
    rows = [line.split("|")[1:4] for line in table.splitlines() if line.startswith("| +")]
    (shift0, into0, out0), (shift6, into6, out6) = [[float(c) for c in row] for row in rows]
    assert "(1 held-out clips" in table and (shift0, shift6) == (0.0, 6.0)
    assert into0 == pytest.approx(180.0, rel=0.03)
    assert 12 * math.log2(into6 / into0) == pytest.approx(6.0, abs=0.5)   # PSOLA moved the pitch
    assert 12 * math.log2(out6 / into6) == pytest.approx(0.0, abs=1.0)    # and HiFi-GAN V1 follows it
    with pytest.raises(SystemExit, match="no held-out clips"):
        vocoder_shift_table(tmp_path / "wavs", ["ljspeech-v1"], clips=1, shifts_st=(0.0,))
    (tmp_path / "wavs" / "LJ002-0152.wav").write_bytes(b"not audio")  # skipped with a message, the rest measured
    sf.write(tmp_path / "wavs" / "LJ002-0153.wav", np.zeros(22050, dtype=np.float32), 22050)  # nothing voiced
    assert "(1 held-out clips" in vocoder_shift_table(tmp_path, ["ljspeech-v1"], clips=3, shifts_st=(0.0,))
    with pytest.raises(SystemExit, match="--voice nosuch: voice 'nosuch' not found"):
        vocoder_shift_table(tmp_path, ["nosuch"], clips=1, shifts_st=(0.0,))


def test_pitch_ceiling_takes_several_voices_only_for_the_vocoder_alone(capsys):
    from benchmarks.pitch_ceiling import main
    with pytest.raises(SystemExit):
        main(["--voice", "ljspeech", "--voice", "ljspeech-v1"])
    assert "several only with --vocoder-shifts" in capsys.readouterr().err
