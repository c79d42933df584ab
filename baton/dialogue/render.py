"""Scene -> voiced lines: plan every line with the Pipeline's conductor, offset it by the cast voice, render
it with the same Pipeline, measure it back with feature_extract, and mix the lines with turn gaps.

Nothing here re-implements a Pipeline stage: planning is ``Pipeline.plan``, rendering ``Pipeline.speak``;
this module only chooses the instruction (baton.dialogue.delivery) and applies relative offsets.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from baton.baseline import VoiceBaseline
from baton.dialogue.cast import CastVoice
from baton.dialogue.delivery import Delivery, Offsets, line_delivery, llm_instruction
from baton.dialogue.messages import clean_speech, has_words
from baton.dialogue.scenes import Character, Line, Scene
from baton.plan import Plan, text_words

TURN_GAP_S = 0.35
"""Silence between two speakers [s]. Conversation-analysis studies put the typical gap between turns at
about 0.2 s across languages (Stivers et al. 2009, PNAS 106:10587); synthetic turns without overlap or
backchannels sound rushed at that, so a little more."""
SAME_SPEAKER_GAP_S = 0.2
NARRATION_GAP_S = 0.6
PAUSE_DIRECTION_EXTRA_S = 0.35
"""Extra silence before a line whose stage direction asks for a pause ("pausing strategically")."""
ASIDE = "whispering, softly"
"""Instruction for a thought spoken as an aside (--whisper-thoughts): the embedded conductor's whisper style
(about -15 dB, brighter) plus softly; every segment of an aside is rendered with ``voice_quality: whisper``
(no voicing)."""


@dataclass(frozen=True)
class DialogueOptions:
    whisper_thoughts: bool = False
    """Speak inner thoughts as a whispered aside before the line (default: never spoken)."""
    narration: bool = True
    """Speak 'Environment' lines with the narrator's voice (False: skip them)."""
    measure: bool = True
    """Measure every rendered line with feature_extract."""
    max_lines: int | None = None
    """Only the first N spoken lines (for quick looks and tests)."""
    progress: bool = True


@dataclass
class RenderedLine:
    index: int
    """Position of the message in the scene."""
    speaker: str
    kind: str
    """'speech', 'narration' or 'aside' (a whispered thought)."""
    text: str
    delivery: Delivery
    instruction: str
    plan: Plan
    audio: np.ndarray
    """float32, shape (n,), [-1, 1]."""
    sample_rate: int
    start_s: float = 0.0
    """Where the line starts in the mixed audio."""
    emotion_point: float | None = None
    measured: list[dict[str, Any]] | None = None
    measure_error: str | None = None
    planned_summary: dict[str, float] = field(default_factory=dict)
    measured_summary: dict[str, float] = field(default_factory=dict)
    conductor_source: str | None = None
    """For LLM conductors: 'llm', 'llm-repaired', 'llm-reask' or 'fallback'."""

    @property
    def duration_s(self) -> float:
        return self.audio.size / self.sample_rate


@dataclass
class DialogueResult:
    scene: Scene
    cast: dict[str, CastVoice]
    lines: list[RenderedLine]
    mixed: np.ndarray
    sample_rate: int
    skipped: list[str] = field(default_factory=list)


def offset_plan(plan: Plan, offsets: Offsets, baseline: VoiceBaseline, pitch_st_range: tuple[float, float],
                energy_db_range: tuple[float, float]) -> Plan:
    """``plan`` shifted by ``offsets``; a field the conductor left out is filled from the baseline first.
    Pitch and energy stay within the given ranges relative to the baseline [st], [dB]."""
    pitch_factor = 2.0 ** (offsets.pitch_st / 12.0)
    segments = []
    lo_hz, hi_hz = baseline.pitch_hz(pitch_st_range[0]), baseline.pitch_hz(pitch_st_range[1])
    lo_rms, hi_rms = baseline.rms(energy_db_range[0]), min(1.0, baseline.rms(energy_db_range[1]))
    for seg in plan.segments:
        pitch = (seg.pitch_mean or baseline.pitch_mean_hz) * pitch_factor
        energy = (seg.energy_rms or baseline.energy_rms) * 10.0 ** (offsets.energy_db / 20.0)
        centroid = (seg.spectral_centroid or baseline.spectral_centroid_hz) * offsets.centroid_ratio
        values: dict[str, Any] = {"pitch_mean": min(max(pitch, lo_hz), hi_hz),
                                  "energy_rms": min(max(energy, lo_rms), hi_rms),
                                  "spectral_centroid": min(max(centroid, 200.0), 7000.0)}
        if seg.pitch_slope is not None:
            values["pitch_slope"] = seg.pitch_slope * pitch_factor
        syllables = _syllables(seg.word)
        duration = seg.duration if seg.duration is not None else syllables / baseline.speaking_rate_sps
        values["duration"] = min(max(duration / offsets.rate_ratio, 0.05), 30.0)
        if seg.pause_after is not None:
            values["pause_after"] = seg.pause_after / offsets.rate_ratio
        segments.append(seg.with_values(**values))
    return plan.replace_segments(segments)


def _syllables(text: str) -> int:
    from baton.pipeline import count_syllables

    return sum(count_syllables(w) for w in text_words(text))


def summarise(segments: list[Any], baseline: VoiceBaseline) -> dict[str, float]:
    """Line-level prosody relative to the voice baseline from plan or measured segments (Segment objects or
    dicts): duration-weighted mean pitch [st], energy [dB] of the duration-weighted mean power, centroid
    [ratio], speaking rate [ratio] (syllables over spoken time), and pitch spread across segments [st]."""
    rows = [s.to_dict() if hasattr(s, "to_dict") else dict(s) for s in segments]
    out: dict[str, float] = {}

    def values(key: str) -> tuple[np.ndarray, np.ndarray]:
        v = np.array([r.get(key) if r.get(key) is not None else math.nan for r in rows], dtype=float)
        w = np.array([r.get("duration") or 1.0 for r in rows], dtype=float)
        ok = np.isfinite(v) & (v > 0)
        return v[ok], w[ok]

    p, w = values("pitch_mean")
    if p.size:
        st = 12.0 * np.log2(p / baseline.pitch_mean_hz)
        out["pitch_st"] = float(np.average(st, weights=w))
        out["pitch_spread_st"] = float(st.max() - st.min()) if st.size > 1 else 0.0
    e, w = values("energy_rms")
    if e.size:
        out["energy_db"] = float(10.0 * np.log10(np.average(e ** 2, weights=w) / baseline.energy_rms ** 2))
    c, w = values("spectral_centroid")
    if c.size:
        out["centroid_ratio"] = float(np.average(c, weights=w) / baseline.spectral_centroid_hz)
    durations = [r.get("duration") for r in rows]
    if all(d is not None and math.isfinite(d) for d in durations) and sum(durations) > 0:
        syllables = sum(_syllables(r["word"]) for r in rows)
        out["rate_ratio"] = float(syllables / sum(durations) / baseline.speaking_rate_sps)
    return {k: round(v, 3) for k, v in out.items()}


def measure_line(audio: np.ndarray, sample_rate: int, text: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    """feature_extract's measured plan of a rendered line, or (None, reason) when alignment fails."""
    import feature_extract

    try:
        segments = feature_extract.extract_plan(audio, sample_rate, text)
    except Exception as err:  # alignment of a poor rendering: report it on the line, keep the scene going
        return None, f"{type(err).__name__}: {' '.join(str(err).split())}"
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in s.items()}
            for s in segments], None


def plan_line(pipe: Any, scene: Scene, character: Character, text: str, delivery: Delivery,
              voice: CastVoice, instruction: str | None = None) -> tuple[Plan, str, str | None]:
    """Plan one line through ``pipe.plan`` and offset it by the cast voice and the delivery's offsets.
    Returns (plan, instruction sent, LLM report source or None)."""
    if instruction is None:
        instruction = delivery.instruction
        if getattr(pipe.conductor, "name", "embedded") != "embedded":
            instruction = llm_instruction(scene, character, delivery)
    plan = pipe.plan(text, instruction or None, prefix=False, markup=False)
    report = getattr(pipe.conductor, "last_report", None)
    limits = pipe.limits
    plan = offset_plan(plan, voice.offsets.plus(delivery.offsets), pipe.baseline,
                       (limits.pitch_st[0] + 2.0, min(limits.pitch_st[1], 12.0)), (-30.0, 12.0))
    return pipe.check_plan(plan), instruction, None if report is None else report.source


def render_scene(pipe: Any, scene: Scene, cast: dict[str, CastVoice], options: DialogueOptions = DialogueOptions(),
                 on_line: Callable[[int, int], None] | None = None,
                 on_rendered: Callable[[int, "RenderedLine"], None] | None = None) -> DialogueResult:
    """Render every spoken line of ``scene`` (and asides, narration per ``options``) and mix them.
    ``on_line(done, total)`` reports progress; ``on_rendered(n, line)`` gets each line as soon as it is ready."""
    baseline = pipe.baseline
    todo: list[tuple[Line, str, str]] = []  # (line, kind, text)
    skipped: list[str] = []
    for line in scene.lines:
        if line.is_narration and not options.narration:
            skipped.append(f"message {line.index} (narration, --no-narration)")
            continue
        if options.whisper_thoughts and not line.is_narration:
            for thought in line.thoughts:
                if has_words(clean_speech(thought)):
                    todo.append((line, "aside", clean_speech(thought)))
        if line.speech:
            todo.append((line, "narration" if line.is_narration else "speech", line.speech))
        elif not line.is_narration:
            skipped.append(f"message {line.index} ({line.speaker}): no spoken words")
    if options.max_lines is not None:
        spoken = 0
        kept = []
        for item in todo:
            if item[1] != "aside":
                spoken += 1
            if spoken > options.max_lines:
                break
            kept.append(item)
        todo = kept
    rendered: list[RenderedLine] = []
    previous: dict[str, float] = {}
    for number, (line, kind, text) in enumerate(todo):
        character = scene.character(line.speaker)
        delivery = line_delivery(character, line, previous.get(line.speaker))
        if line.emotion_point is not None and kind != "aside":
            previous[line.speaker] = line.emotion_point
        voice = cast[line.speaker]
        plan, instruction, source = plan_line(pipe, scene, character, text, delivery, voice,
                                              ASIDE if kind == "aside" else None)
        if kind == "aside":  # whispered whatever the conductor wrote (an LLM may leave the field out)
            plan = plan.replace_segments([s.with_values(voice_quality="whisper") for s in plan.segments])
        speech = pipe.speak(plan=plan, seed=voice.seed)
        item = RenderedLine(line.index, line.speaker, kind, text, delivery, instruction, plan, speech.audio,
                            speech.sample_rate, emotion_point=line.emotion_point, conductor_source=source)
        item.planned_summary = summarise(list(plan.segments), baseline)
        if options.measure:
            item.measured, item.measure_error = measure_line(speech.audio, speech.sample_rate, text)
            if item.measured:
                item.measured_summary = summarise(item.measured, baseline)
        rendered.append(item)
        if on_rendered is not None:
            on_rendered(number, item)
        if on_line is not None:
            on_line(number + 1, len(todo))
    mixed, sample_rate = mix(rendered, pipe.sample_rate)
    return DialogueResult(scene, cast, rendered, mixed, sample_rate, skipped)


def gap_before(previous: RenderedLine | None, current: RenderedLine) -> float:
    """Silence before ``current`` [s] (see TURN_GAP_S)."""
    if previous is None:
        return 0.0
    if current.kind == "narration" or previous.kind == "narration":
        gap = NARRATION_GAP_S
    elif current.speaker == previous.speaker:
        gap = SAME_SPEAKER_GAP_S
    else:
        gap = TURN_GAP_S
    if current.kind != "aside" and any("paus" in d.lower() for d in current.delivery.directions):
        gap += PAUSE_DIRECTION_EXTRA_S
    return gap


def mix(lines: list[RenderedLine], sample_rate: int) -> tuple[np.ndarray, int]:
    """Concatenate the lines with turn gaps; sets each line's ``start_s``. Scaled down only if it would clip."""
    pieces: list[np.ndarray] = []
    position = 0
    previous = None
    for line in lines:
        gap = int(round(gap_before(previous, line) * sample_rate))
        if gap:
            pieces.append(np.zeros(gap, dtype=np.float32))
            position += gap
        line.start_s = position / sample_rate
        pieces.append(line.audio.astype(np.float32))
        position += line.audio.size
        previous = line
    pieces.append(np.zeros(int(0.2 * sample_rate), dtype=np.float32))
    mixed = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    peak = float(np.max(np.abs(mixed))) if mixed.size else 0.0
    if peak > 0.99:
        mixed = mixed * (0.99 / peak)
    return mixed.astype(np.float32), sample_rate


def tqdm_progress(total_hint: str = "lines", quiet: bool = False) -> Callable[[int, int], None] | None:
    """A tqdm bar on stderr updated per rendered line (None when quiet)."""
    if quiet:
        return None
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, unit="line", desc="voicing", file=sys.stderr, disable=None, leave=False)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


__all__ = ["DialogueOptions", "DialogueResult", "RenderedLine", "render_scene", "plan_line", "offset_plan",
           "summarise", "measure_line", "mix", "gap_before", "TURN_GAP_S", "tqdm_progress"]
