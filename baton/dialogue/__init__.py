"""``baton dialogue``: role-play (CoSER, Moral RolePlay) and supportive (SAGE) dialogue, voiced and scored.

* :mod:`~baton.dialogue.scenes` loads and validates scene files; :mod:`~baton.dialogue.messages` splits
  ``[thought] speech (action)``;
* :mod:`~baton.dialogue.cast` gives every character a voice; :mod:`~baton.dialogue.delivery` maps traits,
  moral level, stage directions and SAGE emotion scores to an instruction and offsets (docs/dialogue.md);
* :mod:`~baton.dialogue.render` plans and renders every line through one :class:`baton.Pipeline`;
* :mod:`~baton.dialogue.fidelity` and :mod:`~baton.dialogue.sage_scorer` score the result;
  :mod:`~baton.dialogue.output` writes mixed.wav, per-line files and the transcript.

Submodules are imported on use; ``import baton.dialogue`` stays light.
"""

from baton.dialogue.scenes import SceneError, load_scenes

__all__ = ["SceneError", "load_scenes"]
