"""``baton``: the command line. Every command builds one :class:`baton.pipeline.Pipeline`.

Start-up stays light: heavy modules (onnxruntime, Praat, the conductors) load inside the command that
needs them, never at import time, so ``baton --help`` and ``baton --version`` are instant.

Every user error prints one line ``baton: error: <problem>; <fix>`` on stderr and exits non-zero, with no
traceback (set ``BATON_DEBUG=1`` to see one). Exit codes: 0 ok, 1 error, 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path
from typing import Any, BinaryIO, Sequence

from baton import __version__

# Exception class names (anywhere in the MRO) whose message is a user-facing line. Matched by name so
# that this module does not import the packages that define them.
USER_ERRORS = {
    "PlanError", "ConductorError", "SynthesisError", "FrontendError", "AudioFormatError", "SuiteError",
    "AlignmentError", "AsrError", "FeatureError", "FileNotFoundError", "IsADirectoryError",
    "NotADirectoryError", "PermissionError", "LibsndfileError", "UsageError", "UnicodeDecodeError",
    "MarkupError",
}
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class UsageError(ValueError):
    """Wrong combination of arguments; the message says which one to give."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line naming the --help to read."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"baton: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _add_voice_conductor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--voice", help="voice id (see 'baton voices') or a voice folder; default: the shipped voice")
    p.add_argument("--conductor", default="embedded", choices=["embedded", "openai", "transformers"],
                   help="who writes the plan: 'embedded' (offline, default), 'openai' (any OpenAI-compatible "
                        "endpoint) or 'transformers' (a local model folder)")
    p.add_argument("--llm-base-url", "--base-url", dest="llm_base_url", metavar="URL",
                   help="for --conductor openai: the endpoint, e.g. http://localhost:8000/v1 (default: "
                        "$BATON_LLM_BASE_URL; API key from $BATON_LLM_API_KEY or $OPENAI_API_KEY)")
    p.add_argument("--llm-model", "--model", dest="llm_model", metavar="NAME",
                   help="for --conductor openai: the model name (default: $BATON_LLM_MODEL, or the server's only "
                        "model); for transformers: a model folder or .gguf file")


def _add_text(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", nargs="?", help="the text, optionally with an instruction prefix "
                   "('angrily: ...'), [emotion] tags, *emphasis* or SSML; '-' or nothing reads stdin")
    p.add_argument("--file", "-f", type=Path, help="read the text from this UTF-8 file instead")
    p.add_argument("--instruction", "-i", help="how to say it, in your words, e.g. 'tired but trying "
                   "to sound cheerful'")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="baton", description="BatonVoice: controllable, emotional speech synthesis. "
                     "A conductor turns your text and instruction into a plan of prosody numbers "
                     "(pitch, energy, duration per phrase); BatonTTS renders the plan.",
                     epilog="Examples:\n  baton speak \"angrily: I told you not to touch that!\" -o out.wav\n"
                     "  baton plan \"sadly: It's over.\" --json > plan.json\n"
                     "  baton speak --plan plan.json -o edited.flac\n"
                     "  baton eval baton/data/eval_suite.jsonl -o eval_out",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"baton {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    speak = sub.add_parser("speak", help="text -> speech (WAV or FLAC)",
                           description="Plan and render speech. The output format follows the extension "
                           "(.wav or .flac); '-o -' streams WAV to stdout as each phrase is ready.")
    _add_text(speak)
    speak.add_argument("-o", "--output", default="out.wav", help="output .wav/.flac file, or '-' for "
                       "WAV on stdout (default: out.wav)")
    speak.add_argument("--plan", type=Path, metavar="FILE", help="render this plan JSON (e.g. edited output "
                       "of 'baton plan --json') instead of asking the conductor")
    speak.add_argument("--show-plan", action="store_true", help="print the plan table (stderr when "
                       "audio goes to stdout)")
    speak.add_argument("--seed", type=int, help="random seed for the model's sampling; same seed, same audio")
    speak.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary line")
    _add_voice_conductor(speak)
    speak.set_defaults(func=cmd_speak)

    plan = sub.add_parser("plan", help="text -> plan (table or JSON), or copy a recording's prosody",
                          description="Print the plan the conductor writes. Edit the JSON and render it "
                          "with 'baton speak --plan FILE'. With --from-audio, measure a recording instead.")
    _add_text(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON instead of a table")
    plan.add_argument("--from-audio", type=Path, metavar="WAV", help="measure this recording's prosody "
                      "(needs --transcript) to copy it onto the voice")
    plan.add_argument("--transcript", help="with --from-audio: the words spoken in the recording")
    _add_voice_conductor(plan)
    plan.set_defaults(func=cmd_plan)

    voices = sub.add_parser("voices", help="list installed voices",
                            description="List the voices found in tts_model/voices and $BATON_VOICE_PATH.")
    voices.set_defaults(func=cmd_voices)

    ev = sub.add_parser("eval", help="batch evaluation: plan adherence, WER, emotion direction, speed",
                        description="Render every item of a JSONL suite, measure the audio with "
                        "feature_extract and write report.json and report.html to DIR. Finished items are "
                        "kept in DIR and skipped when you run the same command again.")
    ev.add_argument("suite", type=Path, help="JSONL file, one {\"id\", \"text\", \"instruction\", "
                    "\"emotion\"?, \"expect\"?} per line (default suite: baton/data/eval_suite.jsonl)")
    ev.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output folder")
    ev.add_argument("--no-asr", action="store_true", help="skip the Whisper word-error-rate measurement")
    ev.add_argument("--seed", type=int, default=0, help="seed for every item (default 0)")
    ev.add_argument("--oracle", action="store_true", help="render with baton.eval.oracle's plan-following "
                    "tones instead of a voice: checks the measurement chain and the conductor's plan directions "
                    "(no words, so no WER and no emphasis check)")
    ev.add_argument("--limit", type=int, help="only the first N items")
    ev.add_argument("--classifier", metavar="PATH", help="emotion classifier from recipes/train_emotion_classifier.py "
                    "(default: env BATON_EMOTION_CLASSIFIER): adds its confusion matrix for the emotion items")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_voice_conductor(ev)
    ev.set_defaults(func=cmd_eval)
    return parser


# ---------------------------------------------------------------------------------------------------------
def _read_text(args: argparse.Namespace, required: bool = True) -> str | None:
    if args.file is not None:
        if args.text not in (None, "-"):
            raise UsageError("give the text either as an argument or with --file, not both")
        if not args.file.is_file():
            raise FileNotFoundError(f"text file '{args.file}' does not exist; check the path given to --file")
        return args.file.read_text(encoding="utf-8")
    if args.text is not None and args.text != "-":
        return args.text
    # stdin is read when asked for ('-'), or when it is piped and the text is required; never otherwise,
    # so 'baton speak --plan p.json' in a script with an open stdin does not wait for input.
    if args.text == "-" or (required and not sys.stdin.isatty()):
        text = sys.stdin.read()
        if text.strip():
            return text
    if required:
        raise UsageError("no text given; pass it as an argument, with --file FILE, or on stdin")
    return None


def _conductor_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.llm_base_url:
        if args.conductor != "openai":
            raise UsageError("--llm-base-url only applies to --conductor openai; add --conductor openai")
        options["base_url"] = args.llm_base_url
    if args.llm_model:
        if args.conductor == "embedded":
            raise UsageError("--llm-model needs an LLM conductor; add --conductor openai or transformers")
        options["model"] = args.llm_model
    return options


def _pipeline(args: argparse.Namespace, plan_only: bool = False):
    from baton.pipeline import Pipeline

    if plan_only and args.voice is None:
        from tts_model import runtime

        plan_only = not runtime.list_voices()  # plan with the shipped voice's baseline when there is one
    return Pipeline.load(voice=args.voice, conductor=args.conductor, plan_only=plan_only,
                         **_conductor_options(args))


def cmd_speak(args: argparse.Namespace) -> int:
    from baton.pipeline import AUDIO_FORMATS, AudioFormatError
    from baton.plan import load_plan

    to_stdout = args.output == "-"
    out = None if to_stdout else Path(args.output)
    if out is not None:
        if out.suffix.lower() not in AUDIO_FORMATS:
            raise AudioFormatError(f"output '{out}': unsupported audio format '{out.suffix or '(none)'}'; "
                                   "use a .wav or .flac file name, or '-o -' for WAV on stdout")
        if not out.parent.is_dir():
            raise FileNotFoundError(f"output folder '{out.parent}' does not exist; create it first")
    text = _read_text(args, required=args.plan is None)
    if args.plan is not None and args.instruction:
        raise UsageError("--instruction has no effect with --plan (the plan already fixes the prosody); "
                         "drop one of them")
    pipe = _pipeline(args)
    if args.plan is not None:
        if not args.plan.is_file():
            raise FileNotFoundError(f"plan file '{args.plan}' does not exist; write one with "
                                    "'baton plan --json \"...\" > plan.json'")
        plan = load_plan(args.plan, voice=pipe.voice_id)
    else:
        plan = pipe.plan(text, args.instruction)
    plan = pipe.check_plan(plan, text, args.instruction)
    info = sys.stderr if to_stdout else sys.stdout
    if args.show_plan:
        print(plan.table(), file=info, flush=True)
    bar = _progress(len(plan.segments), args.quiet)
    progress = None if bar is None else (lambda done, total: bar.update(done - bar.n))
    try:
        if to_stdout:
            _stream_wav(sys.stdout.buffer, pipe, plan, args.seed, progress)
            return 0
        speech = pipe.speak(text, args.instruction, plan=plan, seed=args.seed, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    from baton.pipeline import save_audio

    save_audio(out, speech.audio, speech.sample_rate)
    if not args.quiet:
        print(f"wrote {out} ({speech.duration_s:.2f} s of audio, {len(plan.segments)} segments, "
              f"seed {speech.seed}, RTF {speech.real_time_factor:.2f})", file=sys.stderr)
    return 0


def _progress(total_segments: int, quiet: bool):
    """A tqdm bar on stderr for inputs of more than one sentence group; None when not worth showing."""
    if quiet or total_segments < 4:
        return None
    from tqdm import tqdm

    return tqdm(total=total_segments, unit="seg", desc="speaking", file=sys.stderr, disable=None, leave=False)


def wav_stream_header(sample_rate: int) -> bytes:
    """A 16-bit mono PCM WAV header for a stream of unknown length (sizes set to the 32-bit maximum, the
    convention sox and ffmpeg use for piped WAV)."""
    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", unknown))


def _stream_wav(sink: BinaryIO, pipe, plan, seed: int | None, progress) -> None:
    import numpy as np

    sink.write(wav_stream_header(pipe.sample_rate))
    sink.flush()
    for piece in pipe.stream(plan=plan, seed=seed, progress=progress):
        pcm = (np.clip(piece.audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
        sink.write(pcm.tobytes())
        sink.flush()


def cmd_plan(args: argparse.Namespace) -> int:
    if args.from_audio is not None:
        plan = _plan_from_audio(args)
    else:
        if args.transcript:
            raise UsageError("--transcript only applies with --from-audio WAV")
        text = _read_text(args)
        plan = _pipeline(args, plan_only=True).plan(text, args.instruction)
    print(plan.to_json() if args.json else plan.table())
    return 0


def _plan_from_audio(args: argparse.Namespace):
    from baton.plan import load_plan

    if not args.transcript:
        raise UsageError("--from-audio needs --transcript \"the words spoken in the recording\"")
    if args.text is not None or args.file is not None or args.instruction:
        raise UsageError("--from-audio takes no text or --instruction; the plan comes from the recording")
    if not args.from_audio.is_file():
        raise FileNotFoundError(f"recording '{args.from_audio}' does not exist; check the --from-audio path")
    import feature_extract
    from feature_extract.audio import load_audio

    audio, sample_rate = load_audio(args.from_audio)
    segments = feature_extract.extract_plan(audio, sample_rate, args.transcript)
    return load_plan(segments, text=args.transcript, voice=args.voice)


def cmd_voices(args: argparse.Namespace) -> int:
    from tts_model import runtime

    voices = runtime.list_voices()
    if not voices:
        print("baton: error: no voices installed; reinstall batonvoice or set BATON_VOICE_PATH to a folder of "
              "voices",
              file=sys.stderr)
        return EXIT_ERROR
    from baton.pipeline import default_voice_id

    default = default_voice_id()
    for voice_id in voices:
        print(_describe_voice(voice_id, runtime, default=voice_id == default))
    return 0


def _describe_voice(voice_id: str, runtime: Any, default: bool = False) -> str:
    """'<id> [(default)]  <folder>  <pitch> Hz, <rate> syll/s, licence <licence>' from the voice's voice.json."""
    import json

    path = runtime.find_voice(voice_id)
    config = json.loads((Path(path) / "voice.json").read_text(encoding="utf-8"))
    base = config.get("baseline", {})
    parts = []
    if "pitch_mean_hz" in base:
        parts.append(f"{base['pitch_mean_hz']:.0f} Hz")
    if "speaking_rate_sps" in base:
        parts.append(f"{base['speaking_rate_sps']:.1f} syll/s")
    for key in ("licence", "license"):
        if isinstance(config.get(key), str):
            parts.append(f"licence: {config[key]}")
    return f"{voice_id}{' (default)' if default else ''}  {path}" + ("  " + ", ".join(parts) if parts else "")


def cmd_eval(args: argparse.Namespace) -> int:
    from baton.eval.runner import EvalOptions, run_suite

    if not args.suite.is_file():
        raise FileNotFoundError(f"suite '{args.suite}' does not exist; the default suite is "
                                "baton/data/eval_suite.jsonl")
    if args.oracle:
        from baton.eval.oracle import ToneSynthesizer
        from baton.pipeline import Pipeline

        planner = _pipeline(args, plan_only=True)  # the voice's baseline, if one is installed or named
        pipe = Pipeline(planner.conductor, ToneSynthesizer(voice_baseline=planner.baseline))
    else:
        pipe = _pipeline(args)
    options = EvalOptions(asr=not args.no_asr, seed=args.seed, limit=args.limit, progress=not args.quiet,
                          spoken=not args.oracle, classifier=args.classifier)
    report = run_suite(args.suite, args.output, pipe, options)
    judged = report["aggregate"].get("emotion_classifier")
    if judged:
        from baton.eval.emotion import confusion_markdown

        print(f"emotion classifier: {judged['accuracy']:.0%} of {judged['n']} emotion items recognised\n"
              + confusion_markdown(judged["confusion"], judged["labels"]), file=sys.stderr)
    print(f"wrote {args.output / 'report.json'} and {args.output / 'report.html'} "
          f"({report['aggregate']['n_items']} items)", file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------------------
def _is_user_error(err: BaseException) -> bool:
    return any(cls.__name__ in USER_ERRORS for cls in type(err).__mro__)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if isinstance(err, UnicodeDecodeError):
        return "the input is not UTF-8 text; save it as UTF-8 and try again"
    return text or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("baton: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. '| head'); nothing left to report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except Exception as err:  # the top-level boundary: one line, never a traceback
        if os.environ.get("BATON_DEBUG"):
            raise
        if isinstance(err, UsageError):
            sys.stderr.write(f"baton: error: {_one_line(err)}\n")
            return EXIT_USAGE
        if _is_user_error(err):
            sys.stderr.write(f"baton: error: {_one_line(err)}\n")
        else:
            sys.stderr.write(f"baton: error: internal error ({type(err).__name__}: {_one_line(err)}); "
                             "please report it with BATON_DEBUG=1 set to include the traceback\n")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
