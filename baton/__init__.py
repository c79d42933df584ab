"""BatonVoice: controllable, emotional speech synthesis. A conductor plans prosody as numbers; BatonTTS renders it."""

__version__ = "0.1.0"
