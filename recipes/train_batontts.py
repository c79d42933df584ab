"""Train the BatonTTS acoustic model: a thin wrapper over ``python -m tts_model.train.loop`` (same arguments).

    python -m recipes.train_batontts recipes/configs/ljspeech.toml --data data/ljspeech --max-minutes 50
    torchrun --nproc_per_node 2 -m recipes.train_batontts recipes/configs/ljspeech.toml
"""

import sys

from tts_model.train.loop import main

if __name__ == "__main__":
    sys.exit(main())
