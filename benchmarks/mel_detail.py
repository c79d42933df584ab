"""How much detail does the acoustic model's mel keep? Teacher-forced mel error and frame-to-frame change, by phone class.

For each prepared clip the checkpoint renders the mel teacher-forced (the recording's own durations, pitch and
energy, as in training) and compares it with the recording's log-mel. Frames are grouped by the class of the
phoneme they belong to (vowel, stop, fricative, nasal, approximant, pause or punctuation). Per class it prints:
- ``L1``: mean absolute log-mel error per frame and bin;
- ``delta L1``: the same for the frame-to-frame change (mel[t+1] - mel[t]);
- ``flux``: the mean absolute frame-to-frame change of the model's mel as a share of the recording's. An
  L1-trained model averages what it cannot predict, so this falls below 100 % where its output is smeared.

Pass ``--data`` more than once to compare sets, e.g. the training clips, the validation clips and the held-out
test clips prepared into a scratch folder (docs/training.md, "Diagnosis before run 3"):

    python -m benchmarks.mel_detail --checkpoint runs/exp_d/checkpoint --data data/ljspeech:train \\
        --data data/ljspeech:validation --data /tmp/ho_data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tts_model.text.frontend import PHONEMES
from tts_model.runtime.harmonics import PHONEME_CLASSES


CLASSES = {"stop": {"P", "B", "T", "D", "K", "G"},
           "fricative": {"F", "V", "TH", "DH", "S", "Z", "SH", "ZH", "HH", "CH", "JH"},
           "nasal": {"M", "N", "NG"}, "approximant": {"L", "R", "W", "Y"}}
ORDER = ("vowel", "stop", "fricative", "nasal", "approximant", "pause")


def phone_class(phoneme_id: int) -> str:
    """vowel / stop / fricative / nasal / approximant, or pause for pauses, punctuation and padding."""
    if int(phoneme_id) in PHONEME_CLASSES["vowels"]:
        return "vowel"
    base = PHONEMES[int(phoneme_id)].rstrip("012")
    return next((name for name, members in CLASSES.items() if base in members), "pause")


_CLASS_INDEX = np.array([ORDER.index(phone_class(i)) for i in range(len(PHONEMES))])
"""Phoneme id -> index into ORDER, so a clip's frames are counted per class in one bincount."""


def data_arg(text: str) -> tuple[Path, str]:
    """``DIR`` (every clip) or ``DIR:train`` / ``DIR:validation`` (split by --every)."""
    path, _, part = text.rpartition(":")
    return (Path(path), part) if part in ("train", "validation") else (Path(text), "all")


def measure(model, utterances, baseline) -> dict[str, np.ndarray]:
    """Per class: [frames, sum L1, sum delta L1, sum model flux, sum recording flux] (per-frame means summed)."""
    import torch

    from tts_model.train.batching import collate, prepare_utterance
    from tts_model.train.loop import teacher_forced

    sums = {name: np.zeros(5) for name in ORDER}
    for utterance in utterances:
        item = prepare_utterance(utterance, baseline, model.config.control_norm)
        with torch.no_grad():
            mel = teacher_forced(model, collate([item], None, np.random.default_rng(0))).mel[0, :item.n_frames]
        mel, target = mel.float().numpy(), item.mel
        classes = _CLASS_INDEX[np.repeat(utterance.phoneme_ids, utterance.durations.astype(int))[: len(mel)]]
        step_model, step_target = np.diff(mel, axis=0), np.diff(target, axis=0)
        per_frame = [np.ones(len(mel)), np.abs(mel - target).mean(1)]  # frames, L1
        # delta L1 and the two fluxes exist for every frame but the last
        per_step = [np.abs(step_model - step_target).mean(1), np.abs(step_model).mean(1), np.abs(step_target).mean(1)]
        columns = [np.bincount(classes, weights=v, minlength=len(ORDER)) for v in per_frame] + \
                  [np.bincount(classes[:-1], weights=v, minlength=len(ORDER)) for v in per_step]
        for k, name in enumerate(ORDER):
            sums[name] += [column[k] for column in columns]
    return sums


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="training checkpoint directory")
    parser.add_argument("--data", type=data_arg, action="append", required=True,
                        help="prepared data directory, optionally :train or :validation (repeatable)")
    parser.add_argument("--every", type=int, default=15, help="the training config's validation_every")
    parser.add_argument("--limit", type=int, default=0, help="first N clips of each set (0 = all)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    from tts_model.train.checkpoint import CheckpointError
    from tts_model.train.dataset import load_utterances, validation_ids
    from tts_model.train.export import load_trained

    torch.set_num_threads(args.threads)
    try:
        model, baseline, _ = load_trained(args.checkpoint)
    except CheckpointError as err:
        parser.error(str(err))
    model.eval()
    print(f"checkpoint {args.checkpoint}")
    print("| clips | class | frames | L1 | delta L1 | flux, model / recording |")
    print("|---|---|---:|---:|---:|---:|")
    for path, part in args.data:
        try:
            utterances, _ = load_utterances(path)
        except (FileNotFoundError, ValueError) as err:
            parser.error(str(err))
        held = validation_ids([u.id for u in utterances], args.every) if part != "all" else set()
        chosen = [u for u in utterances if part == "all" or (u.id in held) == (part == "validation")]
        chosen = chosen[: args.limit] if args.limit else chosen
        sums = measure(model, chosen, baseline)
        total = sum(sums.values())
        label = f"{path}{'' if part == 'all' else ':' + part} ({len(chosen)})"
        for name in (*ORDER, "all"):
            row = total if name == "all" else sums[name]
            if row[0]:
                print(f"| {label} | {name} | {row[0] / total[0]:.1%} | {row[1] / row[0]:.3f} | {row[2] / row[0]:.3f} "
                      f"| {row[3] / max(row[4], 1e-9):.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
