"""The whole ``baton dialogue`` job as two calls, for the CLI, tests and other front-ends:

    scene, cast = prepare("scene.json", scene_index=1, cast_file=None)
    result, transcript = voice(pipe, scene, cast, "out/", score=True)
"""

from __future__ import annotations

import sys

from pathlib import Path
from typing import Any

from baton.dialogue.cast import CastVoice, cast_scene, load_cast_file
from baton.dialogue.delivery import classify
from baton.dialogue.render import DialogueOptions, DialogueResult, render_scene, tqdm_progress
from baton.dialogue.scenes import Scene, SceneError, is_profile_file, load_sage_profiles, load_scenes, pick_scene


def prepare(scene_file: str | Path, scene_index: int | None = None, cast_file: str | Path | None = None,
            conductor: Any = None, turns: int = 3) -> tuple[Scene, dict[str, CastVoice]]:
    """Load, pick, classify (infer missing moral levels) and cast a scene. Raises SceneError.

    A SAGE profile file (profiles.en.jsonl) starts a live session of ``turns`` supporter replies with the
    ``conductor``'s language model (baton.dialogue.llm.live_session)."""
    if is_profile_file(scene_file):
        from baton.dialogue.llm import chat_of, live_session

        profiles = load_sage_profiles(scene_file)
        index = 0 if scene_index is None else scene_index
        if not 0 <= index < len(profiles):
            raise SceneError(f"{scene_file}: --scene {index} does not exist; valid: 0 to {len(profiles) - 1}")
        chat_of(conductor)  # a clear error before anything runs when there is no LLM
        scene = live_session(conductor, profiles[index], turns, source=f"{Path(scene_file).name} profile {index}")
    else:
        scene = classify(pick_scene(load_scenes(scene_file), scene_index, str(scene_file)))
    overrides = load_cast_file(cast_file) if cast_file is not None else None
    return scene, cast_scene(scene, overrides)


def score_result(result: DialogueResult, pipe: Any = None) -> dict[str, Any]:
    """Voicing fidelity, and for SAGE the emotion tracking, the offline scorer and (LLM conductor) the judge."""
    from baton.dialogue.fidelity import emotion_tracking, voicing_fidelity

    scores: dict[str, Any] = {"fidelity": voicing_fidelity(result)}
    if result.scene.kind == "sage":
        from baton.dialogue import sage_scorer

        scores["emotion_tracking"] = emotion_tracking(result)
        scores["sage"] = sage_scorer.score_scene(result.scene)
        if pipe is not None and getattr(pipe.conductor, "name", "embedded") != "embedded":
            from baton.dialogue import llm

            scores["llm_judge"] = llm.judge_scene(pipe.conductor, result.scene)
    return scores


def voice(pipe: Any, scene: Scene, cast: dict[str, CastVoice], out_dir: str | Path, *, whisper_thoughts: bool = False,
          narration: bool = True, measure: bool = True, max_lines: int | None = None, score: bool = False,
          quiet: bool = True) -> tuple[DialogueResult, dict[str, Any]]:
    """Render ``scene`` with ``pipe``, score it if asked, and write the outputs into ``out_dir``."""
    from baton.dialogue.output import line_file, prepare_output_dir, write_outputs
    from baton.pipeline import save_audio

    out_dir = prepare_output_dir(out_dir)
    options = DialogueOptions(whisper_thoughts=whisper_thoughts, narration=narration, measure=measure,
                              max_lines=max_lines, progress=not quiet)
    written: list[str] = []

    def save_line(n: int, line: Any) -> None:  # as soon as it is rendered: an interrupt keeps what was done
        save_audio(out_dir / line_file(n, line.speaker), line.audio, line.sample_rate)
        written.append(line_file(n, line.speaker))

    try:
        result = render_scene(pipe, scene, cast, options, on_line=tqdm_progress(quiet=quiet), on_rendered=save_line)
    except KeyboardInterrupt:
        if written and not quiet:
            sys.stderr.write(f"baton: kept the {len(written)} line(s) rendered so far in {out_dir / 'lines'}\n")
        raise
    scores = score_result(result, pipe) if score else None
    return result, write_outputs(result, out_dir, scores, write_lines=False)


__all__ = ["prepare", "voice", "score_result"]
