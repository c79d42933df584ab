"""ONNX export of the acoustic model, with a parity check against torch run by the export itself.

Graph contract (what :mod:`tts_model.runtime.synthesizer` relies on), batch 1, opset :data:`OPSET`:

    inputs   phoneme_ids int64 (1, T); segment_ids int64 (1, T); emphasis float32 (1, T) 0/1;
             controls float32 (1, S, 7) normalised (tts_model.runtime.controls); control_mask float32 (1, S, 7) 1 = given
    outputs  mel float32 (1, F, 80) log-mel; durations int64 (1, T) frames; filled_controls float32 (1, S, 7);
             pitch_st float32 (1, T) semitones re baseline; energy_db float32 (1, T) dB re baseline

T, S and F are dynamic. Precision ``fp16`` stores the large weight tensors as float16 followed by a ``Cast``
(compute and I/O stay float32), halving the file. The parity check compares onnxruntime with a torch model
holding the *same* (fp16-rounded) weights: max |diff| of mel <= :data:`MEL_TOLERANCE` (log units), of
pitch/energy/controls <= :data:`CONTROL_TOLERANCE`; durations may differ by at most one frame on rounding
ties, in which case the mel is compared with torch run on onnxruntime's durations.

Command line:
    python -m tts_model.train.export --checkpoint runs/x/checkpoint --voice-dir tts_model/voices/ljspeech \
        --voice-id ljspeech [--precision fp16] [--licence ...] [--provenance ...]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

from tts_model.runtime.config import N_CONTROLS, ModelConfig, VoiceConfig
from tts_model.text.frontend import PHONEMES
from tts_model.acoustic.model import AcousticModel, ExportWrapper
from tts_model.train.onnx_weights import MIN_REDUCED_ELEMENTS, reduce_weights

OPSET = 17
MEL_TOLERANCE = 2e-3
CONTROL_TOLERANCE = 2e-3
_AXES = {"phoneme_ids": {1: "n_phonemes"}, "segment_ids": {1: "n_phonemes"}, "emphasis": {1: "n_phonemes"},
         "controls": {1: "n_segments"}, "control_mask": {1: "n_segments"}, "mel": {1: "n_frames"},
         "durations": {1: "n_phonemes"}, "filled_controls": {1: "n_segments"}, "pitch_st": {1: "n_phonemes"},
         "energy_db": {1: "n_phonemes"}}


class ExportParityError(RuntimeError):
    """onnxruntime does not reproduce torch within the stated tolerance."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    precision: str
    size_bytes: int
    mel_max_diff: float
    control_max_diff: float
    duration_max_diff: int


def parity_inputs(config: ModelConfig, n_phonemes: int = 23, seed: int = 0) -> dict[str, np.ndarray]:
    """A deterministic batch-1 input with three segments, pause tokens and a mix of given/predicted controls."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(config.first_phone_id, config.n_phonemes, size=(1, n_phonemes))
    bounds = [n_phonemes // 3, 2 * n_phonemes // 3, n_phonemes]
    segment_ids = np.zeros((1, n_phonemes), dtype=np.int64)
    start = 0
    for s, end in enumerate(bounds):
        segment_ids[0, start:end] = s
        ids[0, end - 1] = config.pause_id
        start = end
    controls = rng.normal(0.0, 0.5, size=(1, 3, N_CONTROLS)).astype(np.float32)
    mask = (rng.random((1, 3, N_CONTROLS)) < 0.5).astype(np.float32)
    emphasis = (rng.random((1, n_phonemes)) < 0.2).astype(np.float32)
    return {"phoneme_ids": ids.astype(np.int64), "segment_ids": segment_ids, "emphasis": emphasis,
            "controls": controls, "control_mask": mask}


def _fp16_rounded(model: AcousticModel) -> AcousticModel:
    """A copy whose large weights went through float16, as the fp16 graph holds them."""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in list(rounded.parameters()) + list(rounded.buffers()):
            if tensor.dtype == torch.float32 and tensor.numel() >= MIN_REDUCED_ELEMENTS:
                tensor.copy_(tensor.half().float())
    return rounded


def export_acoustic(model: AcousticModel, path: Path, precision: str = "fp16",
                    check: bool = True) -> ExportReport:
    """Export ``model`` to ``path`` (ONNX, opset OPSET) and check parity; raises ExportParityError."""
    if precision not in ("fp32", "fp16"):
        raise ValueError(f"precision must be 'fp32' or 'fp16', got {precision!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.float().eval()
    inputs = parity_inputs(model.config)
    wrapper = ExportWrapper(model).eval()
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = Path(tmp) / "acoustic.onnx"
        with torch.no_grad():
            torch.onnx.export(wrapper, tuple(torch.from_numpy(inputs[n]) for n in ExportWrapper.INPUT_NAMES),
                              str(fp32_path), dynamo=False, opset_version=OPSET,
                              input_names=list(ExportWrapper.INPUT_NAMES),
                              output_names=list(ExportWrapper.OUTPUT_NAMES), dynamic_axes=_AXES)
        proto = onnx.load(str(fp32_path))
    reference = model
    if precision == "fp16":
        proto = reduce_weights(proto, "fp16")
        reference = _fp16_rounded(model)
    onnx.checker.check_model(proto)
    tmp_out = path.with_name(path.name + ".tmp")
    onnx.save(proto, str(tmp_out))
    mel_diff = control_diff = 0.0
    duration_diff = 0
    if check:
        try:
            mel_diff, control_diff, duration_diff = _parity(reference, tmp_out, inputs)
        except ExportParityError:
            tmp_out.unlink()
            raise
    tmp_out.replace(path)
    return ExportReport(path, precision, path.stat().st_size, mel_diff, control_diff, duration_diff)


def parity_check(model: AcousticModel, onnx_path: Path) -> tuple[float, float, int]:
    """Run ``model`` (torch) and ``onnx_path`` (onnxruntime) on :func:`parity_inputs` -> (mel max|diff|,
    controls max|diff|, durations max|diff|); raises ExportParityError beyond the tolerances."""
    return _parity(model.float().eval(), Path(onnx_path), parity_inputs(model.config))


def _parity(model: AcousticModel, onnx_path: Path, inputs: dict[str, np.ndarray]) -> tuple[float, float, int]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    got = dict(zip(ExportWrapper.OUTPUT_NAMES, session.run(list(ExportWrapper.OUTPUT_NAMES), inputs)))
    tensors = [torch.from_numpy(inputs[n]) for n in ExportWrapper.INPUT_NAMES]
    with torch.no_grad():
        out = model(*tensors)
    duration_diff = int(np.abs(got["durations"] - out.durations.long().numpy()).max())
    if duration_diff > 1:
        raise ExportParityError(f"durations differ by {duration_diff} frames between torch and onnxruntime")
    if duration_diff:
        with torch.no_grad():  # a rounding tie: render torch with onnxruntime's durations
            out = model(*tensors, target_durations=torch.from_numpy(got["durations"]))
    control_diff = max(float(np.abs(got["filled_controls"] - out.controls.numpy()).max()),
                       float(np.abs(got["pitch_st"] - out.pitch_st.numpy()).max()),
                       float(np.abs(got["energy_db"] - out.energy_db.numpy()).max()))
    if got["mel"].shape != tuple(out.mel.shape):
        raise ExportParityError(f"mel shape {got['mel'].shape} (onnxruntime) != {tuple(out.mel.shape)} (torch)")
    mel_diff = float(np.abs(got["mel"] - out.mel.numpy()).max())
    if mel_diff > MEL_TOLERANCE or control_diff > CONTROL_TOLERANCE:
        raise ExportParityError(f"onnxruntime disagrees with torch: mel max|diff| {mel_diff:.2e} (tolerance "
                                f"{MEL_TOLERANCE:g}), controls/pitch/energy {control_diff:.2e} (tolerance "
                                f"{CONTROL_TOLERANCE:g})")
    return mel_diff, control_diff, duration_diff


def export_voice(model: AcousticModel, voice_dir: Path, voice_id: str, baseline: dict,
                 licence: str, provenance: str, precision: str = "fp16", training_step: int = 0) -> ExportReport:
    """Write ``acoustic.onnx`` and ``voice.json`` into ``voice_dir`` (the vocoder is written separately)."""
    voice_dir = Path(voice_dir)
    voice_dir.mkdir(parents=True, exist_ok=True)
    report = export_acoustic(model, voice_dir / "acoustic.onnx", precision=precision)
    VoiceConfig(voice_id=voice_id, model=model.config, baseline=dict(baseline), phonemes=PHONEMES,
                licence=licence, provenance=provenance, training_step=int(training_step)).save(voice_dir / "voice.json")
    return report


def load_trained(checkpoint: Path) -> tuple[AcousticModel, dict, dict]:
    """A training checkpoint directory -> (model in eval mode, voice baseline, meta). The model holds the
    checkpoint's moving-average weights when it has them (``ema_decay``), else its raw weights. Raises
    CheckpointError."""
    from tts_model.train.checkpoint import CheckpointError, load_checkpoint

    config, state, meta = load_checkpoint(checkpoint)
    baseline = meta["extra"].get("baseline")
    if not baseline:
        raise CheckpointError(f"the checkpoint {checkpoint} has no voice baseline in meta.json 'extra'; train "
                              "with a prepared data set (recipes/prepare_batontts.py writes it)")
    model = AcousticModel(config)
    model.load_state_dict(state.get("ema", state["model"]), strict=True)  # the weight average when training kept one
    return model.eval(), baseline, meta


def main(argv: list[str] | None = None) -> int:
    from tts_model.train.checkpoint import CheckpointError

    parser = argparse.ArgumentParser(description="Export a BatonTTS checkpoint as a voice directory (ONNX).")
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint directory")
    parser.add_argument("--voice-dir", type=Path, required=True)
    parser.add_argument("--voice-id", required=True)
    parser.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    parser.add_argument("--licence", default="public domain (trained on LJSpeech 1.1, public domain)")
    parser.add_argument("--provenance", default="")
    args = parser.parse_args(argv)
    try:
        model, baseline, meta = load_trained(args.checkpoint)
    except (CheckpointError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    provenance = args.provenance or f"checkpoint {args.checkpoint} at step {meta['step']}"
    report = export_voice(model, args.voice_dir, args.voice_id, baseline, args.licence, provenance, args.precision,
                          training_step=meta["step"])
    print(f"wrote {report.path} ({report.size_bytes / 1e6:.2f} MB, {report.precision}); parity: mel max|diff| "
          f"{report.mel_max_diff:.1e}, controls {report.control_max_diff:.1e}, durations {report.duration_max_diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
