"""Emotion profiles: what an emotion does to a plan beyond the prosody table's level shifts.

The measured table (:mod:`baton.prosody_table`, RAVDESS medians relative to the same actor's neutral) gives
each emotion's pitch level, loudness, rate, overall slope, centroid and F0-range change. A listener also hears
the *shape*: where the pitch goes at the end of a sentence and on stressed words, how long the pauses are,
and the voice quality. Those are conventions from the speech-emotion literature
(/work/shared/notes/emotion-prosody-literature.md, section 7.1; the table in docs/conductor.md):

* questions and surprise rise at the end (Cahn's surprise: "steeply rising contour"; Murray & Arnott);
* anger falls hard on stressed words ("abrupt on stressed syllables", Murray & Arnott; HAMLET raises stressed
  vowels) and at the end; its voice is tense;
* sadness narrows (the table's F0 range is -1.3 st) and falls ("downward inflections"), with longer pauses
  (Fairbanks: grief has the most pause time, 47 %; Cahn: hesitation pauses);
* fear has hesitant pauses (Banse & Scherer's anxiety);

Voice quality is chosen by measurement, not by the literature's adjectives: RAVDESS's sad and fearful speech
keeps its harmonics-to-noise ratio and tilt (HNR -0.2 / +0.3 dB, alpha ratio +0.8 / +4.3 dB at strong
intensity, baton/data/prosody_table.json ``voice_quality``), and a breathy render of them measured -3.6 / -4.5
dB HNR and +8 dB alpha (docs/emotion.md), so both stay modal; strong anger's alpha ratio rises 6.3 dB [4.3, 9.1],
which the tense voice gives (+7.5), while normal anger's +2.9 dB [0.7, 5.2] is closer to modal than to tense
(+8.1), so anger is tense from level 1.5 ("very angry").
* happiness keeps smooth upward inflections on stressed words and a shallower final fall (Juslin & Laukka);
* calm falls gently with longer pauses (Juslin & Laukka's tenderness); disgust has "wide downward terminal
  inflections" (Murray & Arnott).

Values are given at intensity level 1 (RAVDESS normal) as offsets from the neutral rules; they scale with the
level (:func:`profile_for`). Voice quality applies from ``QUALITY_MIN_LEVEL`` ("a bit sad" stays modal).
"""

from __future__ import annotations

from dataclasses import dataclass

from baton.plan import VOICE_QUALITIES

NEUTRAL_SEGMENT_RANGE_ST = 4.6
"""The shipped voice's own F0 spread (10th-90th percentile) inside neutral segments [st]: the median over 24
segments (quartiles 3.5-5.9), benchmarks/segment_pitch_range.py, 2 vCPU dev box, 2026-12-04."""
QUALITY_MIN_LEVEL = 0.75
"""Below this intensity level ("slightly", "a bit") an emotion keeps the modal voice."""


@dataclass(frozen=True)
class Profile:
    """An emotion's shape on top of the table's level shifts (at intensity level 1)."""

    voice_quality: str = "modal"
    """One of VOICE_QUALITIES, written on every segment."""
    final_slope_st_per_s: float = 0.0
    """Added to a statement's last-segment slope (the neutral rule falls at -4 st/s); > 0 turns it up."""
    emphasis_slope_st_per_s: float = 0.0
    """Slope on emphasised words (< 0: falls hard on them)."""
    emphasis_pitch_st: float = 0.0
    """Extra pitch on emphasised words."""
    pause_scale: float = 1.0
    """Multiplier of phrase and sentence pauses."""
    quality_min_level: float = 0.75
    """The voice quality applies from this intensity level (below it the voice stays modal)."""

    def __post_init__(self) -> None:
        if self.voice_quality not in VOICE_QUALITIES:
            raise ValueError(f"voice quality {self.voice_quality!r} is not valid; valid: {', '.join(VOICE_QUALITIES)}")


NEUTRAL = Profile()
PROFILES: dict[str, Profile] = {
    "neutral": NEUTRAL,
    "happy": Profile(final_slope_st_per_s=2.0, emphasis_slope_st_per_s=6.0, emphasis_pitch_st=1.0, pause_scale=0.9),
    "sad": Profile(final_slope_st_per_s=-3.0, pause_scale=1.4),
    "angry": Profile(voice_quality="tense", quality_min_level=1.5, final_slope_st_per_s=-5.0,
                     emphasis_slope_st_per_s=-14.0, emphasis_pitch_st=1.0, pause_scale=0.8),
    "fearful": Profile(final_slope_st_per_s=1.0, pause_scale=1.2),
    "surprised": Profile(final_slope_st_per_s=12.0, emphasis_slope_st_per_s=8.0, emphasis_pitch_st=2.0,
                         pause_scale=0.8),
    "calm": Profile(final_slope_st_per_s=1.0, pause_scale=1.25),
    "disgust": Profile(final_slope_st_per_s=-6.0, emphasis_slope_st_per_s=-6.0, pause_scale=1.1),
}


def level_factor(level: float) -> float:
    """How much of a profile's offsets apply at intensity ``level``: proportional up to 1, then half as fast
    (strong = 1.5 times normal; the shapes are conventions, not measurements, so they are not extrapolated far)."""
    level = max(0.0, min(level, 2.6))
    return level if level <= 1.0 else 1.0 + 0.5 * (level - 1.0)


def profile_for(emotion: str, level: float, *, style: str | None = None, restrained: bool = False) -> Profile:
    """The profile of ``emotion`` at ``level``, scaled; ``style="whisper"`` sets the voice quality to whisper.
    A restrained emotion ("furious but trying to stay polite") keeps its voice quality and half its shape."""
    base = PROFILES.get(emotion, NEUTRAL)
    k = level_factor(level) * (0.5 if restrained else 1.0)
    quality = base.voice_quality if level >= max(QUALITY_MIN_LEVEL, base.quality_min_level) else "modal"
    if style == "whisper":
        quality = "whisper"
    return Profile(voice_quality=quality, final_slope_st_per_s=k * base.final_slope_st_per_s,
                   emphasis_slope_st_per_s=k * base.emphasis_slope_st_per_s,
                   emphasis_pitch_st=k * base.emphasis_pitch_st,
                   pause_scale=base.pause_scale ** k)


__all__ = ["Profile", "PROFILES", "NEUTRAL", "VOICE_QUALITIES", "NEUTRAL_SEGMENT_RANGE_ST", "QUALITY_MIN_LEVEL", "profile_for", "level_factor"]
