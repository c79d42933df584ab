"""Export a BatonTTS checkpoint as a voice directory: a thin wrapper over ``python -m tts_model.train.export``.

    python -m recipes.export_batontts --checkpoint runs/ljspeech/checkpoint --voice-dir tts_model/voices/ljspeech \
        --voice-id ljspeech
"""

import sys

from tts_model.train.export import main

if __name__ == "__main__":
    sys.exit(main())
