"""``baton dialogue``: the subcommand's parser and its command (baton/cli.py only registers them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

DESCRIPTION = """Voice a scene: every character gets its own voice, every line is planned from the character's
moral level and traits, its stage directions and (SAGE) the person's emotion score, then rendered and
measured. Writes DIR/mixed.wav (turn gaps included), DIR/lines/NNN_<speaker>.wav, DIR/transcript.json and
DIR/transcript.md. Scene files: a CoSER test set or book (Othello.json), Moral RolePlay scenes, or SAGE
dialogues (.jsonl); a SAGE profile file (profiles.en.jsonl) with an LLM conductor runs a live session. Inner thoughts [..] are never spoken unless --whisper-thoughts; (actions) steer the
delivery; Environment lines are narration. See docs/dialogue.md."""

EPILOG = """Examples:
  baton dialogue ../shared/scenes/coser/example_test_set.othello_only.json -o out/othello
  baton dialogue ../shared/scenes/moral_roleplay/othello.moral.json --scene 1 --score -o out/iago_desdemona
  baton dialogue ../shared/scenes/sage_en/dialogues.en.jsonl --scene 3 --score -o out/sage3
  baton dialogue ../shared/scenes/sage_en/profiles.en.jsonl --conductor transformers --turns 2 -o out/live
  baton dialogue scene.json --cast cast.toml --whisper-thoughts --no-narration -o out/scene"""


def add_parser(sub: Any, add_voice_conductor: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    p = sub.add_parser("dialogue", help="voice a role-play or SAGE scene (multi-voice), optionally scored",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scene_file", type=Path, metavar="SCENE", help="scene file (.json or .jsonl, at most 10 MB)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--scene", type=int, metavar="N", help="which scene of the file (0-based; default 0)")
    p.add_argument("--score", action="store_true", help="add voicing fidelity per character and moral level, "
                   "and for SAGE the emotion trajectory (offline scorer; the LLM judge with an LLM conductor)")
    p.add_argument("--cast", type=Path, metavar="FILE", help="JSON or TOML cast file overriding voices, e.g. "
                   "{\"Iago\": {\"pitch_st\": -6, \"rate_ratio\": 0.9}}")
    p.add_argument("--whisper-thoughts", action="store_true", help="speak [inner thoughts] as a whispered aside")
    p.add_argument("--no-narration", action="store_true", help="skip Environment (narration) lines")
    p.add_argument("--max-lines", type=int, metavar="N", help="only the first N spoken lines")
    p.add_argument("--no-measure", action="store_true", help="do not measure the rendered lines (faster; "
                   "no measured prosody, no fidelity)")
    p.add_argument("--turns", type=int, default=3, metavar="N", help="for a SAGE profile file "
                   "(profiles.en.jsonl): a live session of N supporter replies, both sides and the judge simulated by "
                   "the LLM conductor's model (default 3)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary line")
    add_voice_conductor(p)
    p.set_defaults(func=cmd_dialogue)
    return p


def cmd_dialogue(args: argparse.Namespace) -> int:
    from baton.cli import UsageError, _pipeline
    from baton.dialogue import run

    if args.no_measure and args.score:
        raise UsageError("--score needs the measured prosody; drop --no-measure")
    if args.max_lines is not None and args.max_lines < 1:
        raise UsageError("--max-lines must be 1 or more")
    from baton.dialogue.output import prepare_output_dir

    prepare_output_dir(args.output)  # before loading anything: a wrong -o costs nothing
    pipe = _pipeline(args)
    scene, cast = run.prepare(args.scene_file, args.scene, args.cast, pipe.conductor, args.turns)
    result, doc = run.voice(pipe, scene, cast, args.output, whisper_thoughts=args.whisper_thoughts,
                            narration=not args.no_narration, measure=not args.no_measure,
                            max_lines=args.max_lines, score=args.score, quiet=args.quiet)
    if not args.quiet:
        extra = ""
        fidelity = doc["scores"].get("fidelity")
        if fidelity:
            s = fidelity["summary"]
            extra = f"; fidelity: rendered agrees with intent in {s['rendered_agreement']} of {s['pair_checks']} checks"
        print(f"wrote {args.output}/mixed.wav ({doc['duration_s']:.1f} s, {len(doc['lines'])} lines), "
              f"transcript.md and transcript.json{extra}", file=sys.stderr)
    return 0


__all__ = ["add_parser", "cmd_dialogue"]
