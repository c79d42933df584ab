"""The one object users meet: conductor + synthesizer. The CLI, the demo, ``baton eval`` and dialogue all
build a :class:`Pipeline` and never re-implement its stages.

Stages, each callable on its own (like Piper's ``phonemize -> ids -> audio``)::

    pipe = Pipeline.load()                              # I/O happens here, never in __init__
    plan = pipe.plan("angrily: I told you not to touch that!")
    speech = pipe.speak("I told you not to touch that!", plan=plan.replace_segments(...))
    for piece in pipe.stream("A long text. With many sentences."): ...

A plan that names a voice (the document form's ``"voice"``) is rendered with that voice: the pipeline's own
one, or another installed voice, loaded on first use and kept. A plan naming a voice that is not installed
is refused with the installed ones listed; it is never rendered with some other voice under its name.

Long input is rendered sentence by sentence (groups of plan segments that end a sentence), with one seed
for every group, so the voice stays the same across the text and audio can start before the end is known.

This module imports no torch and no onnxruntime at import time: the synthesizer is loaded in
:meth:`Pipeline.load`.
"""

from __future__ import annotations

import math
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

from baton.baseline import DEFAULT_BASELINE, VoiceBaseline
from baton.conductors.base import Conductor
from baton.plan import Plan, PlanError, Segment, load_plan, text_words
from plan_contract import UserError

# A sentence ends at . ! ? or an ellipsis, optionally followed by closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*\s*$")
MAX_SEGMENTS_PER_GROUP = 8
"""A sentence longer than this many segments is still cut, so one synthesis call stays short."""
PARAGRAPH_PAUSE_FACTOR = 3.0
"""Pause after a paragraph, as a multiple of the voice's median phrase pause."""


@dataclass(frozen=True)
class RenderLimits:
    """How far from its neutral baseline a voice can be pushed and still produce speech.

    The plan contract's ranges (baton.plan.NUMERIC_FIELDS) are physical; these are per voice: 700 Hz is a
    valid pitch, but not one a 200 Hz voice can render.
    """

    pitch_st: tuple[float, float] = (-12.0, 16.0)
    """Segment pitch_mean relative to the baseline pitch [semitones]. RAVDESS's strongest emotions reach
    about +15.7 st (upper quartile of strong fear/anger, baton/data/prosody_table.json); an octave down is
    already below any speaking voice's floor."""
    energy_db: tuple[float, float] = (-40.0, 24.0)
    """Segment energy_rms relative to the baseline RMS [dB]. RAVDESS's strong anger is +21.6 dB over the same
    actor's neutral (median); the shipped voices render their neutral 10 dB under their recordings
    (voice.json ``output_level_db``) and limit peaks, which reaches +24 dB."""
    rate_ratio: tuple[float, float] = (0.2, 4.0)
    """Segment speaking rate (syllables / duration) relative to the baseline rate [ratio]."""


DEFAULT_LIMITS = RenderLimits()


class Synthesizer(Protocol):
    """What the pipeline needs from tts_model.runtime.synthesizer.Synthesizer (docs/design/interfaces.md)."""

    voice_id: str
    sample_rate: int
    baseline: dict

    def synthesize(self, segments: list[dict], seed: int | None = None) -> Iterator[Any]: ...


@dataclass(frozen=True)
class AudioPiece:
    """Audio of one plan segment, as streamed. ``audio``: float32, shape (n,), [-1, 1]."""

    segment_index: int
    audio: np.ndarray
    sample_rate: int
    predicted: dict[str, Any]
    """The controls the model used for this segment (plan values and predicted ones)."""
    elapsed_s: float
    """Seconds from the start of the call until this piece was ready."""
    final: bool = True
    """False for a leading piece of a segment (``stream(quick_start=True)`` splits the first one); the next
    piece continues the same segment."""


@dataclass(frozen=True)
class Speech:
    """A rendered plan. ``audio``: float32, shape (n_samples,), [-1, 1] at ``sample_rate`` Hz."""

    plan: Plan
    audio: np.ndarray
    sample_rate: int
    pieces: tuple[AudioPiece, ...]
    time_to_first_audio_s: float
    """Seconds from the start of rendering until the first segment's audio was ready (planning excluded)."""
    synthesis_s: float
    """Seconds spent rendering all segments (planning excluded)."""
    seed: int
    """The seed passed to the synthesizer for every sentence group (the shipped voices are deterministic and
    ignore it; a sampling synthesizer would get one seed for the whole text)."""
    segment_bounds_s: tuple[tuple[float, float], ...] = field(default=())
    """(start, end) of each plan segment's audio in ``audio`` [s], pause after it included."""

    @property
    def chunks(self) -> tuple[AudioPiece, ...]:
        """Alias of ``pieces`` (the name docs/design/interfaces.md uses)."""
        return self.pieces

    @property
    def duration_s(self) -> float:
        return self.audio.size / self.sample_rate

    @property
    def real_time_factor(self) -> float:
        """Synthesis time / audio duration (below 1 is faster than real time)."""
        return self.synthesis_s / self.duration_s if self.audio.size else math.nan

    def rendered_plan(self) -> Plan:
        """The plan with every field the model filled in (``predicted``), for display and editing."""
        segments = []
        for seg, piece in zip(self.plan.segments, self.pieces):
            values = {k: v for k, v in piece.predicted.items() if k in seg.controls() and v is not None}
            segments.append(seg.with_values(**{k: float(v) for k, v in values.items()}))
        return self.plan.replace_segments(segments)


class Pipeline:
    """Conductor + synthesizer. Inject both (tests, custom parts) or build with :meth:`load`."""

    def __init__(self, conductor: Conductor, synthesizer: Synthesizer | None = None,
                 limits: RenderLimits = DEFAULT_LIMITS):
        self.conductor = conductor
        self.synthesizer = synthesizer
        self.limits = limits
        self._other_voices: dict[str, Synthesizer] = {}
        """Voices that plans named besides ``synthesizer``, by id, loaded on first use."""

    @classmethod
    def load(cls, voice: str | None = None, conductor: str = "embedded", *, plan_only: bool = False,
             skip_stages: Sequence[str] = (), **conductor_options: Any) -> "Pipeline":
        """Load a voice (id or directory; None = the default shipped voice) and build a conductor by name.

        ``plan_only``: skip loading the voice (planning then uses the voice's baseline only if a voice is
        named, else DEFAULT_BASELINE). ``skip_stages``: render-chain stages to leave out of the voice's chain
        (tts_model.runtime.chain.STAGES; docs/render_chain.md). Raises SynthesisError / ConductorError with
        one-line messages.
        """
        from baton.conductors import get_conductor

        synth = None
        if not plan_only or voice is not None:
            synth = load_synthesizer(voice, skip_stages)
        return cls(get_conductor(conductor, **conductor_options), synth)

    # ------------------------------------------------------------------------------------------------
    @property
    def voice_id(self) -> str | None:
        return None if self.synthesizer is None else self.synthesizer.voice_id

    @property
    def sample_rate(self) -> int:
        self._need_synth()
        return int(self.synthesizer.sample_rate)

    @property
    def baseline(self) -> VoiceBaseline:
        """The loaded voice's neutral baseline (DEFAULT_BASELINE without a voice)."""
        return DEFAULT_BASELINE if self.synthesizer is None else _baseline(self.synthesizer)

    def synthesizer_for(self, plan: Plan) -> Synthesizer:
        """The voice that renders ``plan``: the one its ``voice`` names (None = this pipeline's voice).

        Another installed voice is loaded on first use and kept. Raises :class:`PlanError` (field 'voice') when
        the plan names a voice that is not installed, listing the installed ones and how to choose one."""
        self._need_synth()
        if plan.voice is None or plan.voice == self.voice_id:
            return self.synthesizer
        synth = self._other_voices.get(plan.voice)
        if synth is None:
            synth = self._other_voices[plan.voice] = _load_plan_voice(plan.voice, self.voice_id)
        return synth

    def plan(self, text: str, instruction: str | None = None, *, prefix: bool = True,
             markup: bool = True) -> Plan:
        """Plan ``text`` (any input form baton.syntax understands: "angrily: ...", SSML, [tags], *word*).

        ``prefix=False``: never take an "instruction: " prefix from the text (e.g. a file's first line);
        ``markup=False``: read the text exactly as written (see :func:`baton.syntax.parse`)."""
        from baton import syntax

        if not isinstance(text, str) or not text.strip():
            raise PlanError("the text is empty; give some words to speak")
        script = syntax.parse(text, instruction, prefix=prefix, markup=markup)
        plan = syntax.compose(script, self.conductor, self.baseline)
        if self.voice_id is not None and plan.voice is None:
            plan = Plan(segments=plan.segments, voice=self.voice_id)
        return _paragraph_pauses(plan, text, instruction, self.baseline, prefix=prefix, markup=markup)

    def check_plan(self, plan: Plan, text: str | None = None, instruction: str | None = None, *,
                   prefix: bool = True, markup: bool = True) -> Plan:
        """Validate a (hand-edited) plan against ``text`` (markup and instruction prefix removed, as
        baton.syntax reads it) and against what the voice it names (:meth:`synthesizer_for`) can render.
        Returns ``plan``."""
        if text is not None:
            from baton import syntax

            plan.check_text(syntax.parse(text, instruction, prefix=prefix, markup=markup).text)
        baseline = self.baseline if self.synthesizer is None else _baseline(self.synthesizer_for(plan))
        check_renderable(plan, baseline, self.limits)
        return plan

    def stream(self, text: str | None = None, instruction: str | None = None, plan: Plan | None = None,
               seed: int | None = None, progress: Callable[[int, int], None] | None = None, *,
               prefix: bool = True, markup: bool = True, quick_start: bool = False) -> Iterator[AudioPiece]:
        """Yield audio per plan segment as soon as it is ready (``text`` or ``plan`` needed).

        ``progress(done_segments, total_segments)`` is called after every sentence group. ``prefix`` and
        ``markup``: as in :meth:`plan`. ``quick_start``: the first segment arrives in several pieces, the
        first from a small vocoder window (time to first audio 0.13 s instead of 0.26 s at 1 thread, median,
        docs/speed.md); the early pieces' level is estimated, the segment's total is exact
        (tts_model.runtime.quick_start). For players; files are rendered without it.
        """
        plan, seed = self._prepare(text, instruction, plan, seed, prefix, markup)
        yield from self._render(self.synthesizer_for(plan), plan, seed, time.perf_counter(), progress,
                                quick_start)

    def speak(self, text: str | None = None, instruction: str | None = None, plan: Plan | None = None,
              seed: int | None = None, progress: Callable[[int, int], None] | None = None, *,
              prefix: bool = True, markup: bool = True) -> Speech:
        """Plan (unless ``plan`` is given) and render. Returns :class:`Speech`. ``prefix`` and ``markup``:
        as in :meth:`plan`."""
        plan, seed = self._prepare(text, instruction, plan, seed, prefix, markup)
        synth = self.synthesizer_for(plan)
        start = time.perf_counter()
        pieces = tuple(self._render(synth, plan, seed, start, progress))
        total_s = time.perf_counter() - start
        sample_rate = int(synth.sample_rate)
        bounds, offset = [], 0
        for piece in pieces:
            bounds.append((offset / sample_rate, (offset + piece.audio.size) / sample_rate))
            offset += piece.audio.size
        audio = (np.concatenate([p.audio for p in pieces]) if pieces else np.zeros(0)).astype(np.float32)
        return Speech(plan=plan, audio=audio, sample_rate=sample_rate, pieces=pieces,
                      time_to_first_audio_s=pieces[0].elapsed_s if pieces else math.nan,
                      synthesis_s=total_s, seed=seed, segment_bounds_s=tuple(bounds))

    # ------------------------------------------------------------------------------------------------
    def _need_synth(self) -> None:
        if self.synthesizer is None:
            raise PlanError("no voice is loaded; build the pipeline with Pipeline.load(voice=...) to render audio")

    def _prepare(self, text: str | None, instruction: str | None, plan: Plan | None,
                 seed: int | None, prefix: bool = True, markup: bool = True) -> tuple[Plan, int]:
        self._need_synth()
        if plan is None:
            if text is None:
                raise PlanError("nothing to speak; pass text or a plan")
            plan = self.plan(text, instruction, prefix=prefix, markup=markup)
        elif not isinstance(plan, Plan):
            plan = load_plan(plan)
        self.check_plan(plan, text, instruction, prefix=prefix, markup=markup)
        if seed is None:
            # One seed for the whole text, drawn once, so that a synthesizer that samples would give every
            # sentence group the same voice. The shipped voices are deterministic and ignore it.
            seed = random.SystemRandom().randrange(2**31)
        return plan, int(seed)

    @staticmethod
    def _render(synth: Synthesizer, plan: Plan, seed: int, start: float,
                progress: Callable[[int, int], None] | None, quick_start: bool = False) -> Iterator[AudioPiece]:
        total = len(plan.segments)
        for first, group in sentence_groups(plan.segments):
            dicts = [_segment_dict(s) for s in group]
            # Quick start only for the first group: later groups render while the earlier audio plays.
            chunks = synth.synthesize(dicts, seed=seed, quick_start=True) if quick_start and first == 0 \
                else synth.synthesize(dicts, seed=seed)
            for chunk in chunks:
                audio = np.asarray(chunk.audio, dtype=np.float32).reshape(-1)
                yield AudioPiece(segment_index=first + int(chunk.segment_index), audio=audio,
                                 sample_rate=int(synth.sample_rate),
                                 predicted=dict(chunk.predicted), elapsed_s=time.perf_counter() - start,
                                 final=bool(getattr(chunk, "final", True)))
            if progress is not None:
                progress(first + len(group), total)


def load_synthesizer(voice: str | None = None, skip_stages: Sequence[str] = ()) -> Synthesizer:
    """Load a voice by id or directory (None = :func:`default_voice_id`) with tts_model.runtime.synthesizer,
    without the render-chain stages ``skip_stages``."""
    from pathlib import Path

    from tts_model.runtime import synthesizer as runtime

    if voice is not None and Path(voice).is_dir():
        return runtime.Synthesizer.load(Path(voice), skip_stages=skip_stages)
    return runtime.Synthesizer.load(runtime.find_voice(default_voice_id() if voice is None else voice),
                                    skip_stages=skip_stages)


def _baseline(synth: Synthesizer) -> VoiceBaseline:
    base = synth.baseline
    return base if isinstance(base, VoiceBaseline) else VoiceBaseline.from_dict(base)


def _load_plan_voice(voice: str, current: str | None) -> Synthesizer:
    """Load the installed voice ``voice`` that a plan names; PlanError with the fix when it is not installed."""
    from tts_model.runtime import synthesizer as runtime

    installed = runtime.list_voices()
    if voice not in installed:
        raise PlanError(
            f"value {voice!r} names a voice that is not installed (installed: {', '.join(installed) or 'none'}); "
            f"set the plan's \"voice\" to one of them, delete it to use '{current}', or choose the voice with "
            "--voice ID (Python: Pipeline.load(voice=ID), plan.with_voice(ID))", field_name="voice")
    return load_synthesizer(voice)


def default_voice_id() -> str:
    """The voice used when none is named: the first installed one. Raises SynthesisError when there is none."""
    from tts_model.runtime import synthesizer as runtime

    voices = runtime.list_voices()
    if not voices:
        raise runtime.SynthesisError(
            "no voice is installed; reinstall batonvoice, or set BATON_VOICE_PATH to a folder of voices")
    return _voice_id(voices[0])


def _voice_id(entry: Any) -> str:
    """list_voices() entries may be ids, paths or records with ``voice_id``/``id``."""
    for attr in ("voice_id", "id", "name"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    if isinstance(entry, dict):
        return str(entry.get("voice_id") or entry.get("id"))
    return str(entry)


def sentence_groups(segments: Sequence[Segment]) -> Iterator[tuple[int, list[Segment]]]:
    """Cut segments into runs that end a sentence (or reach MAX_SEGMENTS_PER_GROUP): (first index, run)."""
    group: list[Segment] = []
    first = 0
    for i, seg in enumerate(segments):
        group.append(seg)
        if _SENTENCE_END.search(seg.word) or len(group) >= MAX_SEGMENTS_PER_GROUP:
            yield first, group
            first, group = i + 1, []
    if group:
        yield first, group


_ROUNDING_ST_DB = 0.01
"""Plans store 4 significant digits (baton.plan), so a value planned exactly at a limit may read back up to
~0.004 st / dB past it; this margin keeps such a plan renderable."""


def check_renderable(plan: Plan, baseline: VoiceBaseline, limits: RenderLimits = DEFAULT_LIMITS) -> None:
    """Raise PlanError (segment, field, value, valid range) for values this voice cannot render."""
    lo_st, hi_st = limits.pitch_st
    lo_db, hi_db = limits.energy_db
    lo_r, hi_r = limits.rate_ratio
    for i, seg in enumerate(plan.segments):
        if seg.pitch_mean is not None:
            st = 12.0 * math.log2(seg.pitch_mean / baseline.pitch_mean_hz)
            if not lo_st - _ROUNDING_ST_DB <= st <= hi_st + _ROUNDING_ST_DB:
                raise PlanError(
                    f"value {seg.pitch_mean:g} Hz is {st:+.1f} semitones from this voice's "
                    f"{baseline.pitch_mean_hz:g} Hz baseline; this voice renders "
                    f"{baseline.pitch_hz(lo_st):.0f} to {baseline.pitch_hz(hi_st):.0f} Hz",
                    segment=i, field_name="pitch_mean")
        if seg.energy_rms is not None:
            db = 20.0 * math.log10(seg.energy_rms / baseline.energy_rms)
            if not lo_db - _ROUNDING_ST_DB <= db <= hi_db + _ROUNDING_ST_DB:
                raise PlanError(
                    f"value {seg.energy_rms:g} is {db:+.1f} dB from this voice's {baseline.energy_rms:g} "
                    f"baseline RMS; this voice renders {baseline.rms(lo_db):.2g} to "
                    f"{min(1.0, baseline.rms(hi_db)):.2g}", segment=i, field_name="energy_rms")
        if seg.duration is not None:
            syllables = sum(count_syllables(w) for w in seg.words)
            ratio = syllables / seg.duration / baseline.speaking_rate_sps
            if not lo_r <= ratio <= hi_r:
                shortest = syllables / (baseline.speaking_rate_sps * hi_r)
                longest = syllables / (baseline.speaking_rate_sps * lo_r)
                raise PlanError(
                    f"value {seg.duration:g} s for {syllables} syllable(s) is {ratio:.2f} x this voice's "
                    f"speaking rate; valid: {shortest:.2f} to {longest:.2f} s", segment=i,
                    field_name="duration")


_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Rough English syllable count (vowel groups, silent final e); at least 1. Digits count one each."""
    w = word.lower()
    digits = sum(c.isdigit() for c in w)
    letters = re.sub(r"[^a-z]", "", w)
    n = len(_VOWEL_GROUPS.findall(letters))
    if letters.endswith("e") and not letters.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    return max(1, n + digits)


def _segment_dict(seg: Segment) -> dict[str, Any]:
    out: dict[str, Any] = {"word": seg.word, **seg.controls(), **seg.render_options()}
    out["emphasis"] = list(seg.emphasis)
    return out


def _paragraph_pauses(plan: Plan, text: str, instruction: str | None, baseline: VoiceBaseline, *,
                      prefix: bool = True, markup: bool = True) -> Plan:
    """Lengthen the pause after a segment that ends a paragraph (a blank line in ``text``), unless the plan
    already sets one at least that long. Applied only when every paragraph parses on its own and the word
    counts line up with the plan (SSML spanning paragraphs, for instance, is left alone)."""
    from baton import syntax

    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paragraphs) < 2:
        return plan
    counts = []
    for i, paragraph in enumerate(paragraphs):
        try:
            script = syntax.parse(paragraph, instruction, prefix=prefix and i == 0, markup=markup)
        except syntax.MarkupError:
            return plan
        counts.append(len(text_words(script.text)))
    if sum(counts) != len(plan.words):
        return plan
    ends = set(np.cumsum(counts[:-1]).tolist())
    pause = baseline.pause_s * PARAGRAPH_PAUSE_FACTOR
    segments, count = [], 0
    for seg in plan.segments:
        count += len(seg.words)
        if count in ends and (seg.pause_after or 0.0) < pause:
            seg = seg.with_values(pause_after=pause)
        segments.append(seg)
    return plan.replace_segments(segments)


AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


class AudioFormatError(UserError, ValueError):
    """An output file name whose extension names no supported audio format."""


def save_audio(path: "str | Any", audio: np.ndarray, sample_rate: int) -> None:
    """Write ``audio`` (float32 (n,), [-1, 1]) as 16-bit PCM WAV or FLAC, chosen by the file extension."""
    from pathlib import Path

    import soundfile

    path = Path(path)
    fmt = AUDIO_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AudioFormatError(f"output '{path}': unsupported audio format '{path.suffix or '(none)'}'; "
                               "use a .wav or .flac file name")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output folder '{path.parent}' does not exist; create it first")
    clipped = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    soundfile.write(str(path), clipped, int(sample_rate), format=fmt, subtype="PCM_16")


__all__ = ["Pipeline", "Speech", "AudioPiece", "RenderLimits", "DEFAULT_LIMITS", "load_synthesizer",
           "sentence_groups", "check_renderable", "count_syllables", "save_audio", "AUDIO_FORMATS",
           "AudioFormatError"]
