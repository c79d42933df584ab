"""Text to phonemes: normalisation (``textnorm``), letter-to-sound rules (``lts``), the front-end (``frontend``).

Pure Python; imported by the run-time and by training alike. Never imports torch.
"""
