"""BatonVoice: controllable, emotional speech synthesis. A conductor plans prosody as numbers; BatonTTS renders it.

``from baton import Pipeline`` is the entry point; importing it is cheap (no torch, no onnxruntime until a
voice or a model is actually loaded).
"""

__version__ = "0.1.0"

from baton.pipeline import Pipeline, Speech, save_audio  # noqa: E402  (re-export; light import)
from baton.plan import Plan, PlanError, Segment, load_plan  # noqa: E402
from plan_contract import UserError  # noqa: E402  (the base of every error a user can fix; see its docstring)

__all__ = ["Pipeline", "Speech", "save_audio", "Plan", "PlanError", "Segment", "load_plan", "UserError",
           "__version__"]
