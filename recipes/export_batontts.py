"""Export a BatonTTS checkpoint as a voice directory: a thin wrapper over ``python -m tts_model.train.export``.

    python recipes/export_batontts.py --checkpoint runs/ljspeech/checkpoint --voice-dir tts_model/voices/ljspeech \
        --voice-id ljspeech
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tts_model.train.export import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
