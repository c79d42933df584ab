"""The fast vocoder: per-stage residual blocks in HiFiGANConfig, the student built from the teacher, the
distillation losses, and recipes/distill_vocoder.py end to end (tiny random teacher, CPU)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tts_model.runtime import audio

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

REPO = Path(__file__).resolve().parents[1]


def tiny_teacher(seed: int = 0):
    from tts_model.vocoder.model import HiFiGANConfig, HiFiGANGenerator

    torch.manual_seed(seed)
    config = HiFiGANConfig(upsample_initial_channel=16, resblock_kernel_sizes=(3, 5),
                           resblock_dilation_sizes=((1, 3), (1, 3)))
    return HiFiGANGenerator(config).eval()


def test_stage_blocks_config_validates_and_round_trips():
    from tts_model.vocoder.model import HiFiGANConfig

    config = HiFiGANConfig(stage_blocks=((1,), (1,), (1,), (0, 1, 2)))
    assert config.blocks_of(0) == (1,) and config.blocks_of(3) == (0, 1, 2)
    assert [config.block_offset(s) for s in range(4)] == [0, 1, 2, 3]
    assert HiFiGANConfig().block_offset(2) == 6
    assert HiFiGANConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="one per upsampling stage"):
        HiFiGANConfig(stage_blocks=((1,), (1,)))
    with pytest.raises(ValueError, match="distinct indices in 0..2"):
        HiFiGANConfig(stage_blocks=((1,), (3,), (1,), (0,)))
    with pytest.raises(ValueError, match="distinct indices"):
        HiFiGANConfig(stage_blocks=((1, 1), (1,), (1,), (0,)))
    with pytest.raises(ValueError, match="unknown vocoder config keys"):
        HiFiGANConfig.from_dict({"width": 3})


def test_student_with_every_block_is_the_teacher_and_a_reduced_one_copies_its_kept_blocks():
    from tts_model.vocoder.distill import reduced_stages, student_from_teacher

    teacher = tiny_teacher()
    mel = torch.randn(1, audio.N_MELS, 12)
    full = student_from_teacher(teacher, ((0, 1),) * 4).eval()
    with torch.no_grad():
        np.testing.assert_array_equal(full(mel).numpy(), teacher(mel).numpy())
    assert reduced_stages(full.config) == ()

    student = student_from_teacher(teacher, ((1,), (0,), (0, 1), (0, 1))).eval()
    assert reduced_stages(student.config) == (0, 1)
    assert len(student.resblocks) == 6
    # stage 0 keeps block 1 (kernel 5), stage 1 keeps block 0 (kernel 3); stages 2-3 keep both
    pairs = [(0, 1), (1, 2), (2, 4), (3, 5), (4, 6), (5, 7)]
    for mine, theirs in pairs:
        for a, b in zip(student.resblocks[mine].parameters(), teacher.resblocks[theirs].parameters()):
            assert torch.equal(a, b)
    with torch.no_grad():
        assert not np.allclose(student(mel).numpy(), teacher(mel).numpy(), atol=1e-4)
    with pytest.raises(ValueError, match="every residual block"):
        student_from_teacher(student)


def test_feature_loss_is_zero_for_the_teacher_and_feature_steps_lower_it():
    from tts_model.vocoder.distill import feature_loss, student_from_teacher

    teacher = tiny_teacher(1)
    mel = torch.randn(4, audio.N_MELS, 10)
    with torch.no_grad():
        trace, wave = teacher.trace(mel, (0, 1))
    with torch.no_grad():
        np.testing.assert_allclose(wave.numpy(), teacher(mel).numpy(), atol=1e-6)
    same, per_stage = feature_loss(student_from_teacher(teacher, ((0, 1),) * 4), trace)
    assert float(same.detach()) == 0.0 and set(per_stage) == {0, 1}

    student = student_from_teacher(teacher, ((1,), (0,), (0, 1), (0, 1)))
    params = [p for i in (0, 1) for p in student.resblocks[i].parameters()]
    optimizer = torch.optim.Adam(params, 3e-3)
    first = None
    for _ in range(60):
        loss, _ = feature_loss(student, trace)
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(feature_loss(student, trace)[0].detach()) < 0.7 * first


def test_wave_loss_is_zero_on_identical_waves_and_grows_with_the_difference():
    from tts_model.vocoder.distill import wave_loss
    from tts_model.vocoder.train import TorchLogMel

    t = torch.arange(8192) / audio.SAMPLE_RATE
    target = (0.3 * torch.sin(2 * np.pi * 200 * t))[None]
    log_mel = TorchLogMel()
    zero, parts = wave_loss(log_mel, target, target)
    assert float(zero) < 1e-5 and parts.mel_l1 < 1e-5
    noise = 0.01 * torch.randn_like(target)
    small, _ = wave_loss(log_mel, target + noise, target)
    large, _ = wave_loss(log_mel, target + 10 * noise, target)
    assert 0 < float(small) < float(large)


def test_weight_average_moves_a_vocoder_towards_the_model_by_one_minus_decay_and_refuses_bad_input():
    from tts_model.train.testing import tiny_vocoder
    from tts_model.train.loop import WeightAverage  # the acoustic model's average, shared by the distillation

    model = tiny_vocoder(5)
    average = WeightAverage(model, decay=0.75)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.conv_pre.weight.add_(4.0)
    average.update(step=1000)  # past the decay ramp
    saved = average.model.state_dict()
    assert torch.allclose(saved["conv_pre.weight"], start["conv_pre.weight"] + 1.0)  # a quarter of the way
    assert torch.equal(saved["conv_post.weight"], start["conv_post.weight"])
    resumed = WeightAverage(model, decay=0.75, state=average.model.state_dict())
    assert torch.allclose(resumed.model.conv_pre.weight, start["conv_pre.weight"] + 1.0)
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(model, decay=1.0)
    with pytest.raises(RuntimeError):  # another architecture's average does not load
        WeightAverage(model, decay=0.75, state=tiny_teacher(2).state_dict())


def test_distill_recipe_runs_resumes_exports_and_refuses_another_architecture(tmp_path):
    from tts_model.runtime.vocoder import OnnxVocoder

    from tts_model.train.testing import write_noise_pairs

    rng = np.random.default_rng(3)
    pairs = write_noise_pairs(tmp_path / "pairs", count=2, n_frames=40, seed=3)
    run = tmp_path / "run"
    command = [sys.executable, "-m", "recipes.distill_vocoder", "--pairs", str(pairs), "--run", str(run), "--tiny",
               "--batch-size", "2", "--segment-frames", "8", "--eval-pairs", str(pairs), "--threads", "1"]
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    first = subprocess.run(command + ["--feature-steps", "3", "--wave-steps", "2", "--export", "fp32"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    ends = [(r["phase"], r["event"]) for r in records if str(r.get("event")).startswith("end")]
    assert ends == [("features", "end of phase"), ("wave", "end of run")]
    assert all(np.isfinite(r["heldout_log_mel_l1"]) for r in records if "heldout_log_mel_l1" in r)
    assert any("stage1" in r for r in records) and any("mel_l1" in r for r in records)
    meta = json.loads((run / "checkpoint" / "meta.json").read_text())
    assert meta["phase"] == "wave" and meta["step"] == 2
    averaged = [r for r in records if "heldout_log_mel_l1_average" in r]
    assert [(r["phase"], r["event"]) for r in averaged] == [("wave", "end of run")]  # no average before it
    best = json.loads((run / "best" / "meta.json").read_text())
    assert best["step"] == 2 and best["eval_clips"] == ["clip0", "clip1"]
    assert best["heldout_log_mel_l1"] == min(r["heldout_log_mel_l1_average"] for r in averaged)
    assert "from " + str(run / "best") in first.stdout
    vocoder = OnnxVocoder.load(run / "vocoder.onnx", threads=1)
    wave = vocoder.vocode(audio.log_mel((0.1 * rng.standard_normal(30 * 256)).astype(np.float32)))
    assert wave.shape == (30 * 256,) and np.all(np.isfinite(wave))

    # a new run started from the exported student: straight into the waveform phase, from the same weights
    init = [c if c != str(run) else str(tmp_path / "from_onnx") for c in command]
    started = subprocess.run(init + ["--init-onnx", str(run / "vocoder.onnx"), "--wave-steps", "1"], cwd=REPO,
                             env=env, capture_output=True, text=True, timeout=300)
    assert started.returncode == 0 and "started from" in started.stdout, started.stderr[-2000:]
    init_records = [json.loads(line) for line in (tmp_path / "from_onnx" / "log.jsonl").read_text().splitlines()]
    assert {r["phase"] for r in init_records} == {"wave"}
    assert init_records[0]["heldout_log_mel_l1"] == pytest.approx(best["heldout_log_mel_l1"], rel=1e-3)
    wrong = subprocess.run([c if c != str(run) else str(tmp_path / "wrong") for c in command]
                           + ["--init-onnx", str(tmp_path / "none.onnx"), "--wave-steps", "1"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=300)
    assert wrong.returncode != 0 and "--init-onnx" in wrong.stderr and "Traceback" not in wrong.stderr

    again = subprocess.run(command + ["--feature-steps", "3", "--wave-steps", "4", "--wave-lr", "1e-5"], cwd=REPO,
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "resumed from" in again.stdout and "phase wave, step 2" in again.stdout
    assert json.loads((run / "checkpoint" / "meta.json").read_text())["step"] == 4  # two more waveform steps
    from tts_model.train.checkpoint import read_pieces

    state, _ = read_pieces(run / "checkpoint")
    assert state["average"].keys() == state["generator"].keys()
    moved = [not torch.equal(state["average"][k], state["generator"][k]) for k in state["generator"]]
    assert any(moved)  # the average lags the raw weights
    starts = [r for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if r.get("event") == "start"]
    assert [r["lr"] for r in starts] == [2e-4, 1e-5]  # the resumed run uses the command line's rate, not the saved one

    other = [c for c in command if c != "--tiny"] + ["--feature-steps", "1", "--wave-steps", "1"]
    mismatch = subprocess.run(other, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert mismatch.returncode != 0 and "another architecture" in mismatch.stderr
    assert "Traceback" not in mismatch.stderr


ESPEAK = shutil.which("espeak-ng")


@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (apt install espeak-ng); it speaks the corpus")
def test_rendered_mels_skip_held_out_clips_resume_and_feed_the_distillation(tmp_path):
    from tts_model.train.testing import make_test_voice

    voice = make_test_voice(tmp_path / "voice")
    corpus = tmp_path / "corpus"
    (corpus / "wavs").mkdir(parents=True)
    lines = {"LJ001-0001": "The printer set the type by hand.", "LJ002-0151": "This clip is held out.",
             "LJ001-0002": "Then the pages were bound."}
    for uid, text in lines.items():
        subprocess.run([ESPEAK, "-w", str(corpus / "wavs" / f"{uid}.wav"), text], check=True, timeout=60)
    (corpus / "metadata.csv").write_text("".join(f"{u}|{t}|{t}\n" for u, t in lines.items()), encoding="utf-8")
    out = tmp_path / "rendered"
    command = [sys.executable, "-m", "recipes.render_vocoder_mels", "--voice", str(voice), "--corpus", str(corpus),
               "--out", str(out), "--shifts-per-clip", "2"]
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    files = sorted(p.name for p in out.glob("*.npz"))
    assert len(files) == 6 and not any(f.startswith("LJ002-0151") for f in files)
    assert {"LJ001-0001_neutral.npz", "LJ001-0002_neutral.npz"} <= set(files)
    mels = {f: np.load(out / f)["mel"] for f in files}
    assert all(m.dtype == np.float16 and m.ndim == 2 and m.shape[1] == audio.N_MELS for m in mels.values())
    assert "6 mels written, 0 kept" in first.stdout
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "0 mels written, 6 kept" in again.stdout  # the same draws, nothing redone

    spoken = subprocess.run(command[:-4] + ["--out", str(tmp_path / "emo"), "--shifts-per-clip", "0",
                                            "--instruction", "very angrily", "--limit", "1"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert spoken.returncode == 0, spoken.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "emo").glob("*.npz")) == ["LJ001-0001_emo-very-angrily.npz",
                                                                       "LJ001-0001_neutral.npz"]
    calm, angry = (np.load(tmp_path / "emo" / f"LJ001-0001_{v}.npz")["mel"] for v in ("neutral", "emo-very-angrily"))
    assert angry.shape[1] == audio.N_MELS and not np.array_equal(calm, angry)  # the conductor's plan was rendered
    more = subprocess.run(command[:-4] + ["--out", str(tmp_path / "emo"), "--shifts-per-clip", "0",
                                          "--instruction", "very angrily", "--instruction", "sadly", "--limit", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert more.returncode == 0 and "1 mels written, 2 kept" in more.stdout, more.stderr[-2000:]  # only the new one
    assert not list((tmp_path / "emo").glob("*.part"))

    run = tmp_path / "run"
    distil = subprocess.run([sys.executable, "-m", "recipes.distill_vocoder", "--rendered", str(out), "--run", str(run),
                             "--tiny", "--batch-size", "2", "--segment-frames", "8", "--feature-steps", "1",
                             "--wave-steps", "1", "--threads", "1"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert distil.returncode == 0, distil.stderr[-2000:]
    assert "6 mels" in distil.stdout
    np.savez(out / "broken.npz", audio=np.zeros(10, np.float32))
    broken = subprocess.run([sys.executable, "-m", "recipes.distill_vocoder", "--rendered", str(out), "--run",
                             str(tmp_path / "run2"), "--tiny", "--wave-steps", "1"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert broken.returncode != 0 and "broken.npz: need 'mel'" in broken.stderr and "Traceback" not in broken.stderr


def test_a_shipped_vocoder_onnx_comes_back_as_the_same_generator(tmp_path):
    from tts_model.vocoder.distill import student_from_teacher
    from tts_model.vocoder.export import export_onnx
    from tts_model.vocoder.import_onnx import VocoderImportError, generator_from_onnx, stored_weights

    student = student_from_teacher(tiny_teacher(), ((0,), (1,), (0, 1), (0, 1))).eval()
    for precision in ("fp32", "int8"):
        path = export_onnx(student, tmp_path / f"v_{precision}.onnx", precision, check=False).path
        rebuilt = generator_from_onnx(path, student.config)  # parity with onnxruntime checked inside
        for name, tensor in student.state_dict().items():
            got = rebuilt.state_dict()[name]
            if precision == "fp32":
                assert torch.equal(got, tensor), name
            else:  # int8 per output channel: within half a step of that channel's scale
                step = tensor.reshape(tensor.shape[0], -1).abs().max(dim=1).values / 127
                error = (got - tensor).reshape(tensor.shape[0], -1).abs().max(dim=1).values
                assert torch.all(error <= step / 2 + 1e-7), name
    assert set(stored_weights(path)) >= set(student.state_dict())  # every parameter, under its own name
    with pytest.raises(VocoderImportError, match="lacks"):
        generator_from_onnx(path, tiny_teacher().config)  # the full teacher has blocks the student dropped
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(VocoderImportError, match="not an ONNX model"):
        generator_from_onnx(tmp_path / "junk.onnx", student.config)
    with pytest.raises(VocoderImportError, match="no such file"):
        generator_from_onnx(tmp_path / "none.onnx", student.config)
