"""BatonTTS at run time: text + plan segments -> audio, with onnxruntime only (no torch import).

``Synthesizer.load(voice_dir)`` opens a voice directory (``voice.json``, ``acoustic.onnx``, and the vocoder
that :func:`tts_model.runtime.vocoder.resolve_vocoder` finds). ``synthesize(segments)`` runs the front-end and the
acoustic model over the whole text at once (it is non-autoregressive and cheap), then vocodes segment by
segment and yields each segment's audio as soon as it is ready, so a caller can start playback early.
Every user error is a :class:`SynthesisError` whose message is one line naming the problem and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from plan_contract import PITCH_RANGE, RENDER_FIELDS, UserError
from tts_model.runtime.blas import one_blas_thread
from tts_model.runtime.chain import GAIN_LIMITS, ChainError, ControlsState, MelState, SegmentState, check_skip
from tts_model.runtime.config import CONTROL_NAMES, ConfigError, VoiceConfig
from tts_model.runtime.controls import check_control, denormalize_controls, normalize_controls
from tts_model.runtime.exemplars import ExemplarBank, ExemplarError
from tts_model.text.frontend import ARPABET, PAUSE, PHONEME_TO_ID, Frontend, FrontendError, spoken_text_word
from tts_model.runtime.limiter import limit_peaks
from tts_model.runtime import quick_start as quick
from tts_model.runtime.voice_quality import QUALITIES

_PITCH = CONTROL_NAMES.index("pitch_mean")

VOICES_DIR = Path(__file__).resolve().parent.parent / "voices"
VOICE_PATH_ENV = "BATON_VOICE_PATH"
CONTEXT_FRAMES = 16
"""Mel frames of context given to the vocoder on each side of a window (cut from its output)."""
MIN_WINDOW_FRAMES = 172
"""After the first segment, segments are vocoded together in windows of at least this many frames (~2 s)."""
GAIN_PASSES = 6
"""The limiter takes some of a loud segment's RMS; the gain is corrected this many times to make it up."""
GAIN_RAMP_SAMPLES = 256
"""The gain moves linearly from the previous segment's value over this many samples (no clicks)."""
PEAK_LIMIT = 0.99
"""No sample leaves the runtime above this: louder peaks are limited (tts_model.runtime.limiter), never clipped."""
_ARPABET = set(ARPABET)
MODEL_ENERGY_DB = (-12.0, 9.0)
"""Segment energy the acoustic model is told, relative to its recordings' baseline [dB]: the LJSpeech training
segments span -9.0 to +8.4 dB (1st-99th percentile -4.9 to +5.4), so requests beyond are rendered by gain."""
PITCH_RANGE_MAX_ST = PITCH_RANGE.maximum


def check_render_range(value: object, segment: int) -> float | None:
    """A segment's ``pitch_range`` [st] as float (None: not given); ValueError for anything outside 0..24."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(value) <= PITCH_RANGE_MAX_ST:
        raise ValueError(f"segment {segment}: 'pitch_range' is {value!r}; give semitones from 0 to "
                         f"{PITCH_RANGE_MAX_ST:g} or leave it out")
    return float(value)


class SynthesisError(UserError, RuntimeError):
    """A user-facing synthesis failure; ``str(err)`` is one line naming the problem and the fix."""


@dataclass(frozen=True)
class SynthChunk:
    """One segment's audio. audio: float32 (n_samples,) in [-1, 1] at the voice's sample rate;
    predicted: the controls the model used for this segment, in plan units (given values verbatim,
    predicted ones filled in)."""

    audio: np.ndarray
    segment_index: int
    predicted: dict[str, float]
    final: bool = True
    """False for a leading piece of a segment that quick start split (tts_model.runtime.quick_start); the
    segment's last piece is True. Without quick start every chunk is a whole segment."""


def voice_search_path() -> list[Path]:
    """Directories searched for voices: ``$BATON_VOICE_PATH`` entries first, then the shipped voices."""
    extra = [Path(p) for p in os.environ.get(VOICE_PATH_ENV, "").split(os.pathsep) if p]
    return [*extra, VOICES_DIR]


def list_voices() -> list[str]:
    """Ids (directory names) of every voice directory (one holding ``voice.json``) on the search path."""
    found: list[str] = []
    for root in voice_search_path():
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if (child / "voice.json").is_file() and child.name not in found:
                    found.append(child.name)
    return found


RETIRED_VOICES = {"ljspeech-fast": "its distilled vocoder is now the default voice 'ljspeech', with a newer acoustic "
                                    "model, and HiFi-GAN V1 is 'ljspeech-v1'"}
"""Voice ids that shipped once and are gone: what replaced them, for the not-found error."""


def find_voice(voice_id: str) -> Path:
    """The directory of voice ``voice_id`` (a name on the search path, or a path to a voice directory)."""
    direct = Path(voice_id)
    if (direct / "voice.json").is_file():
        return direct
    for root in voice_search_path():
        candidate = root / voice_id
        if (candidate / "voice.json").is_file():
            return candidate
    available = ", ".join(list_voices()) or "none installed"
    if voice_id in RETIRED_VOICES:
        raise SynthesisError(f"voice '{voice_id}' is no longer shipped: {RETIRED_VOICES[voice_id]}; available: "
                             f"{available}")
    raise SynthesisError(f"voice '{voice_id}' not found; available: {available} (add directories to "
                         f"${VOICE_PATH_ENV} or pass a voice directory path)")


def _file_fix(voice_dir: Path, relative: str, field: str, own_fix: str) -> str:
    """What to do about a missing or corrupt voice file named by voice.json ``field`` (``relative`` to
    ``voice_dir``): ``own_fix`` for the voice's own file; for one it shares with another voice folder (e.g.
    ljspeech-v1 uses ../ljspeech/acoustic.onnx and ../ljspeech/exemplars.npz), keep the folders together."""
    if Path(relative).parent == Path("."):
        return own_fix
    return (f"this voice shares it with the voice folder {(voice_dir / relative).parent} (voice.json '{field}'), "
            "so keep the two folders side by side, or reinstall")


def _session(path: Path, threads: int | None, what: str, fix: str) -> Any:
    import onnxruntime as ort

    if not path.is_file():
        raise SynthesisError(f"{what} file {path} is missing; {fix}")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the vocoder's (vocoder.py)
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types for unreadable files
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise SynthesisError(f"{what} file {path} is corrupt or not an ONNX model ({first}); {fix}") from error


@dataclass(frozen=True)
class Synthesizer:
    """A loaded voice. Build with :meth:`load`; the constructor does no I/O."""

    voice_id: str
    voice_dir: Path
    config: VoiceConfig
    acoustic: Any
    """onnxruntime.InferenceSession of acoustic.onnx (graph contract in tts_model.train.export)."""
    vocoder: Any
    """tts_model.runtime.vocoder.OnnxVocoder."""
    frontend: Frontend
    exemplars: Any = None
    """tts_model.runtime.exemplars.ExemplarBank when the voice's render chain has an ``exemplars`` stage (and the bank
    was read), else None."""

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def baseline(self) -> dict[str, float]:
        """The voice's neutral medians as it renders them: the recordings' ``energy_rms`` lowered by
        ``output_level_db`` (VoiceConfig), everything else as measured."""
        base = dict(self.config.baseline)
        base["energy_rms"] = float(base["energy_rms"]) * self.output_gain
        return base

    @property
    def output_gain(self) -> float:
        """Linear gain from the acoustic model's level (its recordings') to the voice's output level."""
        return float(10.0 ** (float(self.config.output_level_db) / 20.0))

    @classmethod
    def load(cls, voice_dir: Path | str, threads: int | None = None, use_exemplars: bool = True,
             skip_stages: Sequence[str] = ()) -> "Synthesizer":
        """Open a voice directory (or a voice id on the search path). ``skip_stages``: names of render-chain stages
        (tts_model.runtime.chain.STAGES) to leave out of the voice's chain, to hear or measure what each does.
        ``use_exemplars=False`` leaves the voice's exemplar bank unread and off (for recipes/build_exemplars.py,
        which replaces it). Raises SynthesisError."""
        from tts_model.runtime.vocoder import OnnxVocoder, VocoderError, resolve_vocoder

        try:
            skip = check_skip(skip_stages)
        except ChainError as err:
            raise SynthesisError(str(err)) from None
        voice_dir = Path(voice_dir)
        if not (voice_dir / "voice.json").is_file():
            voice_dir = find_voice(str(voice_dir))
        fix = f"re-export the voice into {voice_dir} (python -m tts_model.train.export) or reinstall it"
        try:
            config = VoiceConfig.load(voice_dir / "voice.json").without_stages(*skip)
        except (ConfigError, TypeError, ValueError) as err:
            raise SynthesisError(f"voice config {voice_dir / 'voice.json'} is invalid ({err}); {fix}") from None
        acoustic = _session(voice_dir / config.acoustic_file, threads, "acoustic model",
                            _file_fix(voice_dir, config.acoustic_file, "acoustic_file", fix))
        names = [i.name for i in acoustic.get_inputs()]
        if names != ["phoneme_ids", "segment_ids", "emphasis", "controls", "control_mask"]:
            raise SynthesisError(f"acoustic model {voice_dir / config.acoustic_file} has inputs {names}, not a "
                                 f"BatonTTS acoustic model; {fix}")
        try:
            vocoder = OnnxVocoder.load(resolve_vocoder(voice_dir, config.vocoder_file), threads=threads)
        except VocoderError as err:
            raise SynthesisError(str(err)) from None
        bank = None
        exemplars = config.stage("exemplars")
        if exemplars is not None and use_exemplars:
            try:
                bank = ExemplarBank.load(voice_dir / exemplars.file, n_mels=config.n_mels)
            except ExemplarError as err:
                own_fix = (f"rebuild it with python -m recipes.build_exemplars --voice {voice_dir} --write, load "
                           "the voice with skip_stages=('exemplars',) (or remove that stage from voice.json's "
                           "render_chain) to render without it, or reinstall the voice")
                where = _file_fix(voice_dir, exemplars.file, "render_chain 'exemplars' file", own_fix)
                raise SynthesisError(f"{err}; {where}") from None
        for stage in config.render_chain:
            if hasattr(stage, "warm"):
                stage.warm()
        return cls(voice_id=config.voice_id, voice_dir=voice_dir, config=config, acoustic=acoustic,
                   vocoder=vocoder, frontend=Frontend(), exemplars=bank)

    def _run_stages(self, phase: str, state: Any) -> None:
        """The voice's render-chain stages of ``phase`` (controls, mel or audio) on ``state``, in listed order."""
        for stage in self.config.render_chain:
            if stage.phase == phase:
                stage.apply(state)

    # ------------------------------------------------------------------------------------------------
    def prepare(self, segments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Front-end + control normalisation for ``segments`` -> the acoustic model's inputs plus bookkeeping
        (``given``: per segment the checked plan values, ``n_phones``). Raises SynthesisError."""
        if isinstance(segments, (str, bytes)) or not isinstance(segments, Sequence) or not segments:
            raise SynthesisError("segments must be a non-empty list of dicts with a 'word' field; pass the plan's "
                                 "segments (Plan.to_list())")
        ids: list[int] = []
        segment_ids: list[int] = []
        emphasis: list[float] = []
        given: list[dict[str, float | None]] = []
        n_phones: list[int] = []
        for s, seg in enumerate(segments):
            if not isinstance(seg, Mapping) or not isinstance(seg.get("word"), str):
                raise SynthesisError(f"segment {s} has no 'word' text; every segment needs its words as a string")
            unknown = set(seg) - {"word", "emphasis", *CONTROL_NAMES, *RENDER_FIELDS}
            if unknown:
                raise SynthesisError(f"segment {s} has unknown field(s) {sorted(unknown)}; valid: word, emphasis, "
                                     f"{', '.join(CONTROL_NAMES)}, {', '.join(RENDER_FIELDS)}")
            try:
                check_render_range(seg.get("pitch_range"), s)
            except ValueError as err:
                raise SynthesisError(str(err)) from None
            quality = seg.get("voice_quality")
            if quality is not None and quality not in QUALITIES:
                raise SynthesisError(f"segment {s}: 'voice_quality' is {quality!r}; valid: {', '.join(QUALITIES)}")
            try:
                values = {name: check_control(name, seg.get(name), s) for name in CONTROL_NAMES}
                phonemized = self.frontend.phonemize(seg["word"])
            except (ValueError, FrontendError) as err:
                raise SynthesisError(f"segment {s}: {err}" if isinstance(err, FrontendError) else str(err)) from None
            stressed = {spoken_text_word(w) for w in (seg.get("emphasis") or [])}
            for phoneme, word in zip(phonemized.phonemes, phonemized.word_index):
                ids.append(PHONEME_TO_ID[phoneme])
                segment_ids.append(s)
                emphasis.append(1.0 if word >= 0 and phonemized.words[word] in stressed else 0.0)
            ids.append(PHONEME_TO_ID[PAUSE])
            segment_ids.append(s)
            emphasis.append(0.0)
            given.append(values)
            n_phones.append(sum(p in _ARPABET for p in phonemized.phonemes))
        # The model knows energy relative to its recordings' level; the plan's is the voice's output level. Past
        # the loudness range it was trained on it renders distorted speech (at +24 dB the F0 fell 3 st and a third
        # of the voiced frames went), so it is told at most MODEL_ENERGY_DB; the gain stage does the rest.
        low, high = (float(self.config.baseline["energy_rms"]) * 10.0 ** (d / 20.0) for d in MODEL_ENERGY_DB)
        model_given = [{**v, "energy_rms": None if v["energy_rms"] is None
                        else min(max(v["energy_rms"] / self.output_gain, low), high)} for v in given]
        controls, mask = normalize_controls(model_given, n_phones, self.config.baseline,
                                            self.config.model.control_norm)
        return {"phoneme_ids": np.asarray([ids], dtype=np.int64),
                "segment_ids": np.asarray([segment_ids], dtype=np.int64),
                "emphasis": np.asarray([emphasis], dtype=np.float32),
                "controls": controls[None], "control_mask": mask[None], "given": given, "n_phones": n_phones}

    def render_mel(self, segments: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Acoustic model and the chain's controls and mel stages: -> (log-mel float32 (F, 80), frames per segment
        int (S,), predicted controls). The controls stages (pitch calibration) adjust the model's input; the mel
        stages (exemplars, harmonics, centroid tilt; tts_model.runtime.chain) run on its output in the order
        voice.json lists them. Timing and the predicted controls do not depend on any of them."""
        state = self.model_mel(segments)
        self._run_stages("mel", state)
        return state.mel, state.seg_frames, list(state.predicted)

    def model_mel(self, segments: Sequence[Mapping[str, Any]]) -> MelState:
        """:meth:`render_mel` before the mel stages: the acoustic model's output (after the controls stages) as
        the :class:`MelState` the mel stages work on. Raises SynthesisError."""
        inputs = self.prepare(segments)
        feeds = {k: inputs[k] for k in ("phoneme_ids", "segment_ids", "emphasis", "controls", "control_mask")}
        controls = ControlsState(controls=inputs["controls"][0], pitch_index=_PITCH)
        self._run_stages("controls", controls)
        feeds["controls"] = controls.controls[None]
        mel, durations, filled, pitch_st = self.acoustic.run(["mel", "durations", "filled_controls", "pitch_st"],
                                                             feeds)
        if controls.pitch_added is not None:  # the mel stages work at the planned pitch, not the calibrated one
            added_st = self.config.model.control_norm.pitch_st_scale * controls.pitch_added
            pitch_st = pitch_st - added_st[inputs["segment_ids"][0]][None]
        seg_frames = np.bincount(inputs["segment_ids"][0], weights=durations[0],
                                 minlength=len(segments)).astype(np.int64)
        predicted = denormalize_controls(filled[0], inputs["n_phones"], self.config.baseline,
                                         self.config.model.control_norm)
        for values, pred in zip(inputs["given"], predicted):
            pred["energy_rms"] = float(pred["energy_rms"]) * self.output_gain
            pred.update({k: v for k, v in values.items() if v is not None})
        if not np.all(np.isfinite(mel)):
            raise SynthesisError("the acoustic model produced non-finite values; the voice file is damaged, "
                                 "re-export it")
        state = MelState(mel=mel[0], phoneme_ids=inputs["phoneme_ids"][0], durations=durations[0],
                         pitch_st=pitch_st[0], seg_frames=seg_frames,
                         spoken_frames=self.spoken_frames(seg_frames, predicted), predicted=predicted,
                         baseline=self.config.baseline, bank=self.exemplars)
        return state

    def spoken_frames(self, seg_frames: np.ndarray, predicted: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Frames of each segment before its trailing pause (``render_mel``'s frames per segment and predicted
        controls -> int64 (S,), never negative)."""
        pause = np.array([round(p["pause_after"] * self.sample_rate / self.config.hop_length) for p in predicted],
                         dtype=np.int64)
        return np.maximum(np.asarray(seg_frames, dtype=np.int64) - pause, 0)

    def synthesize(self, segments: Sequence[Mapping[str, Any]], seed: int | None = None,
                   quick_start: bool = False) -> Iterator[SynthChunk]:
        """Yield one :class:`SynthChunk` per segment, in order. ``seed`` is accepted for API stability; this
        model is deterministic. Validation and the acoustic model run before the first chunk is yielded, so
        errors surface on the first ``next()``. Each segment's audio goes through the chain's audio stages
        (pitch range, voice quality, segment gain; tts_model.runtime.chain) and then the output step
        (:meth:`_level`): the voice's output gain or the segment gain, ramped, peaks limited to PEAK_LIMIT.
        ``quick_start``: the first segment comes in several chunks, the first from a small vocoder window, for
        a shorter time to first audio; the early chunks' level is estimated, the segment's total is exact
        (tts_model.runtime.quick_start)."""
        del seed
        with one_blas_thread():  # the NumPy mel stages run faster on one BLAS thread (tts_model.runtime.blas)
            state = self.model_mel(segments)  # validates every segment, pitch_range too
        seg_frames, predicted = state.seg_frames, state.predicted
        ends = np.cumsum(seg_frames)
        starts = ends - seg_frames
        hop = self.vocoder.hop_length
        first, previous_gain = 0, self.output_gain
        lone = 0  # the window that holds one segment only
        spoken = int(state.spoken_frames[0])
        split = quick.first_window(segments[0], int(seg_frames[0]), spoken) if quick_start else None
        if split is not None:
            # the mel stages run on the first piece's phonemes first, on the whole utterance after it has left
            previous_gain, mel = yield from self._quick_first(state, segments[0], split, int(ends[0]))
            first = lone = 1  # then segment 1 alone: a 2 s window stalled players after a short segment 0
        else:
            with one_blas_thread():
                self._run_stages("mel", state)
            mel = state.mel
        while first < len(segments):
            # Vocoder windows: segment 0 alone (short time to first audio), then runs of segments of at least
            # MIN_WINDOW_FRAMES, so the CONTEXT_FRAMES computed twice at each window edge stay a small share.
            last = first + 1
            if first != lone:
                while last < len(segments) and ends[last - 1] - starts[first] < MIN_WINDOW_FRAMES:
                    last += 1
            begin, end = int(starts[first]), int(ends[last - 1])
            lo, hi = max(begin - CONTEXT_FRAMES, 0), min(end + CONTEXT_FRAMES, mel.shape[0])
            window = (self.vocoder.vocode(mel[lo:hi], trim_start_frames=begin - lo, trim_end_frames=hi - end)
                      if end > begin else np.zeros(0, dtype=np.float32))
            for s in range(first, last):
                audio = window[(int(starts[s]) - begin) * hop:(int(ends[s]) - begin) * hop]
                state = SegmentState(audio=audio, segment=segments[s], index=s, sample_rate=self.sample_rate,
                                     spoken=max(audio.size - int(round(predicted[s]["pause_after"]
                                                                       * self.sample_rate)), 0),
                                     output_gain=self.output_gain, gain=self.output_gain)
                self._run_stages("audio", state)  # pitch range, voice quality, segment gain
                scaled = self._level(state, previous_gain)
                previous_gain = state.gain
                yield SynthChunk(audio=np.clip(scaled, -PEAK_LIMIT, PEAK_LIMIT).astype(np.float32),
                                 segment_index=s, predicted=predicted[s])
            first = last

    def _level(self, state: SegmentState, previous_gain: float) -> np.ndarray:
        """The output step after the chain: ``state.audio`` times ``state.gain`` (moving linearly from
        ``previous_gain`` over GAIN_RAMP_SAMPLES), peaks limited to PEAK_LIMIT. With a ``target_rms`` (segment_gain)
        the gain is corrected up to GAIN_PASSES times for the RMS the limiter took; ``state.gain`` ends as used."""
        audio, gain, target = state.audio, state.gain, state.target_rms
        for _ in range(GAIN_PASSES if target is not None else 1):
            scaled = audio * np.float32(gain)
            ramp = min(GAIN_RAMP_SAMPLES, audio.size)
            scaled[:ramp] = audio[:ramp] * np.linspace(previous_gain, gain, ramp, dtype=np.float32)
            limited = limit_peaks(scaled, PEAK_LIMIT)
            got = _rms(limited[:state.spoken])
            done = limited is scaled or target is None or got <= 0.0 \
                or abs(20.0 * np.log10(float(target) / got)) < 0.05
            scaled = limited
            if done:  # nothing was limited (the gain is as exact as before), or the target is met
                break
            gain = min(gain * float(target) / got, self.output_gain * GAIN_LIMITS[1])
        state.gain = gain
        return scaled

    def _quick_first(self, state: MelState, segment: Mapping[str, Any], split: int,
                     end: int) -> Iterator[SynthChunk]:
        """Segment 0 in pieces of doubling length from ``split`` frames (quick_start.piece_bounds), each at the
        gain that spreads the energy the segment still owes over it and the predicted rest; the last piece's
        gain is exact, so the whole spoken segment meets the plan's ``energy_rms`` (tts_model.runtime.quick_start).
        ``state``: the acoustic model's output before the mel stages. The first piece's mel comes from the mel
        stages with the exemplar projection on its phonemes only (quick_start.first_piece_mel); then they run
        on the whole utterance (as :meth:`render_mel`) for the rest. Returns (the last gain, which the next segment ramps from; the
        utterance's log-mel after the mel stages)."""
        from tts_model.runtime.audio import mel_filterbank

        hop = self.vocoder.hop_length
        spoken, predicted, basis = int(state.spoken_frames[0]), state.predicted[0], mel_filterbank()
        with one_blas_thread():  # the first piece and segment 0's spoken frames, for its energy profile
            mel = quick.first_piece_mel([s for s in self.config.render_chain if s.phase == "mel"], state,
                                        max(split + CONTEXT_FRAMES, spoken))
        power = quick.frame_power(mel[:spoken], basis)
        # the level is the chain's segment_gain stage's job: without that stage, the output gain throughout
        target = segment.get("energy_rms") if self.config.stage("segment_gain") is not None else None
        exact = target is not None and np.isfinite(float(target))
        low, high = (self.output_gain * g for g in GAIN_LIMITS)
        bounds = quick.piece_bounds(split, end)
        gain, emitted, raw_so_far = self.output_gain, 0.0, 0.0
        for i, (a, b) in enumerate(bounds):
            if i == 1:
                with one_blas_thread():
                    self._run_stages("mel", state)
                mel = state.mel
                power = quick.frame_power(mel[:spoken], basis)
            lo, hi = max(a - CONTEXT_FRAMES, 0), min(b + CONTEXT_FRAMES, mel.shape[0])
            audio = self.vocoder.vocode(mel[lo:hi], trim_start_frames=a - lo, trim_end_frames=hi - b)
            n_spoken = max(min(b, spoken) - a, 0) * hop
            raw_piece = float(np.sum(np.square(audio[:n_spoken], dtype=np.float64)))
            raw_so_far += raw_piece
            new = gain
            if exact:
                estimate = quick.piece_gain(float(target), spoken * hop, emitted, raw_so_far,
                                            float(power[:min(b, spoken)].sum()), float(power[min(b, spoken):].sum()),
                                            raw_piece, low, high)
                new = gain if estimate is None else estimate
            ramp = min(GAIN_RAMP_SAMPLES if i == 0 else quick.SEAM_RAMP_SAMPLES, audio.size)
            scaled = audio * np.float32(new)
            scaled[:ramp] = audio[:ramp] * np.linspace(gain, new, ramp, dtype=np.float32)
            out = np.clip(limit_peaks(scaled, PEAK_LIMIT), -PEAK_LIMIT, PEAK_LIMIT).astype(np.float32)
            emitted += float(np.sum(np.square(out[:n_spoken], dtype=np.float64)))
            gain = new
            yield SynthChunk(audio=out, segment_index=0, predicted=predicted, final=i == len(bounds) - 1)
        return gain, mel

    def synthesize_all(self, segments: Sequence[Mapping[str, Any]], seed: int | None = None) -> np.ndarray:
        """The whole utterance as one float32 array (n_samples,)."""
        chunks = [c.audio for c in self.synthesize(segments, seed=seed)]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


__all__ = ["Synthesizer", "SynthChunk", "SynthesisError", "list_voices", "find_voice", "voice_search_path",
           "VOICES_DIR", "VOICE_PATH_ENV"]
