"""BatonVoice Gradio demo (python -m demo.app)."""
