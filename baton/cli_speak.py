"""``baton speak``: plan, check the destination, and write the audio as it is rendered.

The order matters for the user's time: the output path is checked before anything is loaded, the free
space once the plan is known, and the audio is written sentence group by sentence group
(:mod:`baton.audio_out`), so a wrong ``-o`` costs nothing and an interrupt keeps what was rendered.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from baton import cli


def speak(args: argparse.Namespace) -> int:
    """``baton speak``: see the module docstring."""
    from baton import audio_out

    to_stdout = args.output == "-"
    out = None if to_stdout else Path(args.output)
    if out is not None:
        audio_out.check_output_path(out)  # before any work: a wrong -o costs nothing
    _warn_seed(args)
    text = cli._read_text(args, required=args.plan is None)
    if args.plan is not None and args.instruction:
        raise cli.UsageError("--instruction has no effect with --plan (the plan already fixes the prosody); "
                             "drop one of them")
    info = sys.stderr if to_stdout else sys.stdout
    reading = cli._reading(args)
    plan = None
    if args.plan is not None:
        plan = _load_plan_file(args.plan, None)
        if args.voice is None and plan.voice is not None:
            from tts_model.runtime import synthesizer as runtime

            if plan.voice in runtime.list_voices():
                args.voice = plan.voice  # the voice the plan names; one not installed: check_plan says the fix
    pipe = cli._pipeline(args)
    if plan is None:
        plan = pipe.plan(text, args.instruction, **reading)
    elif args.voice is not None or plan.voice is None:
        plan = plan.with_voice(pipe.voice_id)  # --voice chooses the voice; a bare list gets the one used
    plan = pipe.check_plan(plan, text, args.instruction, **reading)
    cli._report_instruction(args, text, info)
    if args.show_plan:
        print(plan.table(), file=info, flush=True)
    if out is not None:
        audio_out.check_free_space(out, plan, pipe.sample_rate)
    bar = _progress(len(plan.segments), args.quiet)
    progress = None if bar is None else (lambda done, total: bar.update(done - bar.n))
    if to_stdout:
        writer = audio_out.WavWriter(sys.stdout.buffer, pipe.sample_rate, "standard output")
    else:
        writer = audio_out.open_writer(out, pipe.sample_rate)
    start = time.perf_counter()
    try:
        # To standard output (a player reading a pipe): the first audio from a small first window.
        pieces = pipe.stream(plan=plan, progress=progress, quick_start=True) if to_stdout \
            else pipe.stream(plan=plan, progress=progress)
        for piece in pieces:
            writer.write(piece.audio)
    except BaseException:
        _close_partial(writer, out, args.quiet)
        raise
    finally:
        if bar is not None:
            bar.close()
    writer.close()
    if not args.quiet and out is not None:
        seconds = writer.duration_s
        rtf = (time.perf_counter() - start) / seconds if seconds else float("nan")
        print(f"wrote {out} ({seconds:.2f} s of audio, {len(plan.segments)} segments, RTF {rtf:.2f})",
              file=sys.stderr)
    return 0


def _close_partial(writer, out: Path | None, quiet: bool) -> None:
    """After an error or Ctrl-C: finish the file so that what was rendered stays playable, and say so."""
    try:
        writer.close()
    except OSError:
        return  # the write itself failed (e.g. a full disk): the error being raised says why
    if out is None:
        return
    if writer.n_samples == 0:
        out.unlink(missing_ok=True)
    elif not quiet:
        sys.stderr.write(f"baton: kept the first {writer.duration_s:.1f} s of audio in {out} (a complete "
                         f"{out.suffix.lower().lstrip('.').upper()} file)\n")


def _warn_seed(args: argparse.Namespace) -> None:
    if getattr(args, "seed", None) is not None and not args.quiet:
        sys.stderr.write("baton: note: --seed has no effect and will be removed: the voice is deterministic "
                         "(the same text and plan always give the same audio); drop the option\n")


def _load_plan_file(path: Path, voice_id: str | None):
    from baton.plan import PlanError, load_plan

    if not path.is_file():
        raise FileNotFoundError(f"plan file '{path}' does not exist; write one with "
                                "'baton plan --json \"...\" > plan.json'")
    try:
        return load_plan(path, voice=voice_id)
    except PlanError:
        if _looks_like_table(path):
            raise PlanError(f"file '{path}' holds the table that 'baton plan' prints, not JSON; write the "
                            "plan with 'baton plan --json \"...\" > plan.json'") from None
        raise


def _looks_like_table(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8-sig", errors="replace")[:2000]
    except OSError:
        return False
    return any(line.lstrip().startswith("#") and "words" in line and "F0 Hz" in line for line in head.splitlines())


def _progress(total_segments: int, quiet: bool):
    """A tqdm bar on stderr for inputs of more than one sentence group; None when not worth showing."""
    if quiet or total_segments < 4:
        return None
    from tqdm import tqdm

    return tqdm(total=total_segments, unit="seg", desc="speaking", file=sys.stderr, disable=None, leave=False)
