"""Can HiFi-GAN V1 lose its kernel-11 residual blocks (about half its multiply-adds) and still sound the same?

Builds a pruned generator: in every upsampling stage the dropped residual branches are replaced by a 1x1
convolution over the kept branches and the stage input, fitted by ridge least squares stage by stage on
teacher-forced mels (``--fit-pairs``), each stage seeing the pruned network's own input. Prints the R^2 of
each fit and the log-mel L1 of the pruned output against the full generator on held-out mels
(``--eval-pairs``). With ``--distill-minutes`` it then trains the pruned generator to imitate the full one
(log-mel + multi-resolution STFT + 10 x waveform L1 on 32-frame chunks) and prints the loss every 20 steps.

    python benchmarks/vocoder_prune.py --fit-pairs data/vocoder_pairs --eval-pairs /tmp/ho_pairs_b \
        --distill-minutes 10

Results and the reading: docs/training.md ("A faster vocoder by pruning").
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_pruned(teacher, keep: tuple[int, ...]):
    import torch
    from torch import nn
    from torch.nn import functional as F

    n_kernels = len(teacher.config.resblock_kernel_sizes)

    class Pruned(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = copy.deepcopy(teacher)
            self.mix = nn.ModuleList(nn.Conv1d(up.out_channels * (len(keep) + 1), up.out_channels, 1)
                                     for up in self.net.ups)

        def stage(self, s: int, x):
            kept = [self.net.resblocks[s * n_kernels + k](x) for k in keep]
            return sum(kept) / n_kernels + self.mix[s](torch.cat(kept + [x], 1))

        def forward(self, mel):
            x = self.net.conv_pre(mel)
            for s, up in enumerate(self.net.ups):
                x = self.stage(s, up(F.leaky_relu(x, teacher.config.leaky_relu_slope)))
            return torch.tanh(self.net.conv_post(F.leaky_relu(x))).squeeze(1)

    return Pruned(), n_kernels


def chunks(pairs: Path, count: int, frames: int, seed: int, with_recording: bool = False) -> np.ndarray:
    """(n, N_MELS, frames) random chunks of the pairs' mels (and of their recordings' log-mels)."""
    from tts_model.runtime.audio import log_mel

    rng = np.random.default_rng(seed)
    files = sorted(pairs.glob("*.npz"))
    out = []
    for path in rng.choice(files, min(count, len(files)), replace=False):
        pair = np.load(path)
        sources = [pair["mel"]] + ([log_mel(pair["audio"].astype(np.float32))] if with_recording else [])
        for mel in sources:
            if len(mel) > frames:
                start = rng.integers(0, len(mel) - frames)
                out.append(mel[start:start + frames])
    return np.stack(out).transpose(0, 2, 1).copy()


def main(argv: list[str] | None = None) -> int:
    import torch
    from torch.nn import functional as F

    from tts_model.runtime.audio import log_mel
    from tts_model.vocoder.model import load_pretrained
    from tts_model.vocoder.train import TorchLogMel

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fit-pairs", type=Path, required=True, help="teacher-forced pairs of training clips")
    parser.add_argument("--eval-pairs", type=Path, required=True, help="teacher-forced pairs of held-out clips")
    parser.add_argument("--keep", type=int, nargs="+", default=[0, 1], help="resblock indices kept (0=k3 1=k7 2=k11)")
    parser.add_argument("--distill-minutes", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    teacher = load_pretrained().eval()
    student, n_kernels = build_pruned(teacher, tuple(args.keep))
    mel = torch.from_numpy(chunks(args.fit_pairs, 60, 64, seed=0))
    rng = np.random.default_rng(0)
    with torch.no_grad():
        x = teacher.conv_pre(mel)
        for s, up in enumerate(teacher.ups):
            x = up(F.leaky_relu(x, teacher.config.leaky_relu_slope))
            kept = [teacher.resblocks[s * n_kernels + k](x) for k in args.keep]
            dropped = sum(teacher.resblocks[s * n_kernels + k](x) for k in range(n_kernels) if k not in args.keep)
            features = torch.cat(kept + [x], 1).permute(0, 2, 1).reshape(-1, x.shape[1] * (len(kept) + 1)).double()
            target = (dropped / n_kernels).permute(0, 2, 1).reshape(-1, x.shape[1]).double()
            rows = torch.from_numpy(rng.choice(len(features), min(len(features), 400_000), replace=False))
            features = torch.cat([features[rows], torch.ones(len(rows), 1, dtype=torch.float64)], 1)
            target = target[rows]
            gram = features.T @ features
            gram += 1e-4 * gram.diagonal().mean() * torch.eye(len(gram), dtype=torch.float64)
            weights = torch.linalg.solve(gram, features.T @ target)
            residual = target - features @ weights
            r2 = 1 - float((residual ** 2).sum() / ((target - target.mean(0)) ** 2).sum())
            print(f"stage {s + 1}: {x.shape[1]} channels, least-squares R^2 of the removed branches {r2:.3f}")
            student.mix[s].weight.copy_(weights[:-1].T.float().unsqueeze(-1))
            student.mix[s].bias.copy_(weights[-1].float())
            x = student.stage(s, x)

    def held_out_l1() -> float:
        student.eval()
        errors = []
        for path in sorted(args.eval_pairs.glob("*.npz"))[:6]:
            m = torch.from_numpy(np.load(path)["mel"].T[None].copy())
            with torch.no_grad():
                errors.append(np.abs(log_mel(teacher(m)[0].numpy()) - log_mel(student(m)[0].numpy())).mean())
        return float(np.mean(errors))

    print(f"log-mel L1, pruned vs full generator, 6 held-out mels: {held_out_l1():.3f}")
    if args.distill_minutes <= 0:
        return 0
    data = torch.from_numpy(chunks(args.fit_pairs, 10_000, 32, seed=1, with_recording=True))
    with torch.no_grad():
        target = torch.cat([teacher(data[i:i + 64]) for i in range(0, len(data), 64)])
    to_mel = TorchLogMel()

    def stft_loss(a, b):
        total = 0.0
        for n_fft, hop in ((512, 128), (1024, 256), (2048, 512)):
            window = torch.hann_window(n_fft)
            sa = torch.stft(a, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-5)
            sb = torch.stft(b, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-5)
            total = total + (sa.log() - sb.log()).abs().mean() + (sa - sb).norm() / sb.norm()
        return total / 3

    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-4, betas=(0.8, 0.99))
    student.train()
    started, step, history = time.time(), 0, []
    while time.time() - started < args.distill_minutes * 60:
        batch = torch.from_numpy(rng.choice(len(data), 8, replace=False))
        out, want = student(data[batch]), target[batch]
        losses = ((to_mel(out) - to_mel(want)).abs().mean(), stft_loss(out, want), (out - want).abs().mean())
        optimizer.zero_grad()
        (losses[0] + losses[1] + 10 * losses[2]).backward()
        optimizer.step()
        step += 1
        history.append([float(v) for v in losses])
        if step % 20 == 0:
            mel_l1, stft, wave = np.mean(history[-20:], axis=0)
            print(f"step {step} {time.time() - started:.0f} s: log-mel L1 {mel_l1:.3f}, STFT {stft:.3f}, wave {wave:.4f}",
                  flush=True)
    print(f"after {step} distillation steps, log-mel L1 on held-out mels: {held_out_l1():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
