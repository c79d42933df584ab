"""``baton``: the command line. Every command builds one :class:`baton.pipeline.Pipeline`.

Start-up stays light: heavy modules (onnxruntime, Praat, the conductors) load inside the command that
needs them, never at import time, so ``baton --help`` and ``baton --version`` are instant.

Every user error prints one line ``baton: error: <problem>; <fix>`` on stderr and exits non-zero, with no
traceback (set ``BATON_DEBUG=1`` to see one). Exit codes: 0 ok, 1 error, 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from baton import __version__
from plan_contract import UserError

# A user error is one line on stderr; anything else is reported as a bug. The project's user errors derive from
# plan_contract.UserError; these built-in ones also say what the user gave wrong (a path, a non-UTF-8 text).
BUILTIN_USER_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError,
                       UnicodeDecodeError)
EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


class UsageError(UserError, ValueError):
    """Wrong combination of arguments; the message says which one to give."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line naming the --help to read."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"baton: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _add_voice_conductor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--voice", help="voice id (see 'baton voices') or a voice folder; default: the shipped voice")
    p.add_argument("--skip-stage", action="append", default=[], metavar="STAGE",
                   help="render without this stage of the voice's render chain, to hear what it does (repeatable; "
                        "docs/render_chain.md)")
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
                   "('angrily: ...': taken only when the words before the colon read as an instruction, so "
                   "'Note: ...' is spoken), [emotion] tags, *emphasis* or SSML; '-' or nothing reads stdin")
    p.add_argument("--file", "-f", type=Path, help="read the text from this UTF-8 file instead (a byte-order "
                   "mark is fine); a file is always text: its first line is never taken as an instruction")
    p.add_argument("--instruction", "-i", help="how to say it, in your words, e.g. 'tired but trying "
                   "to sound cheerful'; -i '' means no instruction (the text is not searched for one)")
    p.add_argument("--plain", "--no-markup", dest="plain", action="store_true",
                   help="speak the text exactly as written: no 'instruction:' prefix, [tags] or SSML")


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
                           "(.wav or .flac); the file is written as it is rendered (Ctrl-C keeps a playable "
                           "file). '-o -' streams WAV to stdout as each phrase is ready, with the real sizes in "
                           "the header when stdout is a file.")
    _add_text(speak)
    speak.add_argument("-o", "--output", default="out.wav", help="output .wav/.flac file, or '-' for "
                       "WAV on stdout (default: out.wav)")
    speak.add_argument("--plan", type=Path, metavar="FILE", help="render this plan JSON (e.g. edited output "
                       "of 'baton plan --json') instead of asking the conductor")
    speak.add_argument("--show-plan", action="store_true", help="print the plan table (stderr when "
                       "audio goes to stdout)")
    speak.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # no effect (deterministic voice); warns
    speak.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary line")
    _add_voice_conductor(speak)
    speak.set_defaults(func=cmd_speak)

    plan = sub.add_parser("plan", help="text -> plan (table or JSON), or copy a recording's prosody",
                          description="Print the plan the conductor writes. Edit the JSON and render it "
                          "with 'baton speak --plan FILE'. With --from-audio, measure a recording instead.")
    _add_text(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON instead of a table (what "
                      "'baton speak --plan FILE' reads)")
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

    from baton.server.config import add_serve_arguments

    serve = sub.add_parser("serve", help="OpenAI-compatible speech server (POST /v1/audio/speech, /v1/plan)",
                           description="Serve speech over HTTP: OpenAI's /v1/audio/speech (any OpenAI client "
                           "works with base_url http://HOST:PORT/v1), plus /v1/plan and speech from a posted "
                           "plan. Loads the voices once; renders on a bounded pool of workers; a full queue is "
                           "answered 503 with Retry-After. API docs at /docs; see docs/serve.md.",
                           epilog="Example: baton serve --port 8000 --workers 2 --api-key secret")
    add_serve_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    from baton.dialogue.command import add_parser as add_dialogue  # `baton dialogue` lives in baton/dialogue

    add_dialogue(sub, _add_voice_conductor)
    return parser


# ---------------------------------------------------------------------------------------------------------
def _read_text(args: argparse.Namespace, required: bool = True) -> str | None:
    if args.file is not None:
        if args.text not in (None, "-"):
            raise UsageError("give the text either as an argument or with --file, not both")
        if not args.file.is_file():
            raise FileNotFoundError(f"text file '{args.file}' does not exist; check the path given to --file")
        return _strip_bom(args.file.read_text(encoding="utf-8-sig"))
    if args.text is not None and args.text != "-":
        return _strip_bom(args.text)
    # stdin is read when asked for ('-'), or when it is piped and the text is required; never otherwise,
    # so 'baton speak --plan p.json' in a script with an open stdin does not wait for input.
    if args.text == "-" or (required and not sys.stdin.isatty()):
        text = _strip_bom(sys.stdin.read())
        if text.strip():
            return text
    if required:
        raise UsageError("no text given; pass it as an argument, with --file FILE, or on stdin")
    return None


def _strip_bom(text: str) -> str:
    """Drop a byte-order mark (Windows editors write one at the start of UTF-8 files): it is not text."""
    return text[1:] if text.startswith("\ufeff") else text


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
        from tts_model.runtime import synthesizer as runtime

        plan_only = not runtime.list_voices()  # plan with the shipped voice's baseline when there is one
    return Pipeline.load(voice=args.voice, conductor=args.conductor, plan_only=plan_only,
                         skip_stages=tuple(getattr(args, "skip_stage", ())), **_conductor_options(args))


def cmd_speak(args: argparse.Namespace) -> int:
    from baton.cli_speak import speak

    return speak(args)


def _reading(args: argparse.Namespace) -> dict[str, bool]:
    """How to read the text: a --file is never an instruction; --plain reads it exactly as written."""
    return {"prefix": args.file is None, "markup": not args.plain}


def _report_instruction(args: argparse.Namespace, text: str | None, info) -> None:
    """Say which words before a colon were taken as the instruction (they are not spoken)."""
    if text is None or args.instruction is not None or args.plain or args.file is not None:
        return
    from baton.syntax import split_prefix

    taken, _ = split_prefix(text)
    show_plan = getattr(args, "show_plan", False)
    if taken is not None and (show_plan or not getattr(args, "quiet", False)):
        print(f"instruction (from the text before ':', not spoken): '{taken}'; to speak it, use --plain",
              file=info if show_plan else sys.stderr, flush=True)


def wav_stream_header(sample_rate: int) -> bytes:
    """The WAV header of a stream of unknown length (see :func:`baton.audio_out.wav_header`)."""
    from baton.audio_out import wav_header

    return wav_header(sample_rate)


def cmd_plan(args: argparse.Namespace) -> int:
    if args.from_audio is not None:
        plan = _plan_from_audio(args)
    else:
        if args.transcript:
            raise UsageError("--transcript only applies with --from-audio WAV")
        text = _read_text(args)
        plan = _pipeline(args, plan_only=True).plan(text, args.instruction, **_reading(args))
        _report_instruction(args, text, sys.stderr)
    print(plan.to_json() if args.json else plan.table())
    if not args.json and not sys.stdout.isatty():
        sys.stderr.write("baton: note: this is the plan as a table; for a file that 'baton speak --plan' "
                         "reads, add --json\n")
    return 0


def _plan_from_audio(args: argparse.Namespace):
    from baton.plan import load_plan

    if not args.transcript:
        raise UsageError("--from-audio needs --transcript \"the words spoken in the recording\"")
    if args.text is not None or args.file is not None or args.instruction:
        raise UsageError("--from-audio takes no text or --instruction; the plan comes from the recording")
    if not args.from_audio.is_file():
        raise FileNotFoundError(f"recording '{args.from_audio}' does not exist; check the --from-audio path")
    from feature_extract.recording import plan_from_recording

    from feature_extract.audio import AudioError

    try:
        segments = plan_from_recording(args.from_audio, args.transcript)  # errors name the file: no speech, ...
    except AudioError as err:
        if args.from_audio.stat().st_size == 0:
            problem = f"'{args.from_audio}' is an empty file (0 bytes)"
        else:
            problem = str(err).split(" (")[0]  # drop the corpus-oriented fix; the one below fits here
        raise AudioError(f"--from-audio: {problem}; give a WAV or FLAC recording of the words in --transcript") \
            from None
    return load_plan(segments, text=args.transcript, voice=args.voice)


def cmd_voices(args: argparse.Namespace) -> int:
    from tts_model.runtime import synthesizer as runtime

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


def cmd_serve(args: argparse.Namespace) -> int:
    from baton.server.config import config_from_args

    try:
        config = config_from_args(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    try:
        from baton.server.main import run
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as err:
        raise UsageError(f"baton serve needs {err.name}; install the serve extra: pip install "
                         "'batonvoice[serve]'") from None
    return run(config)


# ---------------------------------------------------------------------------------------------------------
def _is_user_error(err: BaseException) -> bool:
    return isinstance(err, (UserError, *BUILTIN_USER_ERRORS, *_soundfile_errors()))


def _soundfile_errors() -> tuple[type[BaseException], ...]:
    """libsndfile's error (a file it cannot open, decode or write) once soundfile is loaded; before that,
    nothing can have raised it, and importing it here would slow every command's start."""
    soundfile = sys.modules.get("soundfile")
    return (soundfile.LibsndfileError,) if soundfile is not None else ()


# Conditions of the machine, not bugs: a full disk, a read-only file system, no permission, an I/O error.
SYSTEM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}


def _is_system_error(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in SYSTEM_ERRNOS


def _silence_stdout() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if isinstance(err, UnicodeDecodeError):
        return "the input is not UTF-8 text; save it as UTF-8 and try again"
    if _is_system_error(err) and not isinstance(err, UserError):  # OutputError's message says it all
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        return (f"{err.strerror or text}{where}; free some space, or write to another place with -o"
                if err.errno in (errno.ENOSPC, errno.EDQUOT) else
                f"{err.strerror or text}{where}; check the permissions and the disk of that path")
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
        _silence_stdout()
        return EXIT_ERROR
    except Exception as err:  # the top-level boundary: one line, never a traceback
        if os.environ.get("BATON_DEBUG"):
            raise
        if isinstance(err, UsageError):
            sys.stderr.write(f"baton: error: {_one_line(err)}\n")
            return EXIT_USAGE
        if _is_user_error(err) or _is_system_error(err):
            if _is_system_error(err):
                _silence_stdout()  # a full disk on '-o -': the exit-time flush of stdout would fail again
            sys.stderr.write(f"baton: error: {_one_line(err)}\n")
        else:
            sys.stderr.write(f"baton: error: internal error ({type(err).__name__}: {_one_line(err)}); "
                             "please report it with BATON_DEBUG=1 set to include the traceback\n")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
