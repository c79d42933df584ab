"""Train the BatonTTS acoustic model: a thin wrapper over ``python -m tts_model.train.loop`` (same arguments).

    python recipes/train_batontts.py recipes/configs/ljspeech.toml --data data/ljspeech --max-minutes 50
    torchrun --nproc_per_node 2 recipes/train_batontts.py recipes/configs/ljspeech.toml
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tts_model.train.loop import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
