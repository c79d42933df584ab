"""tts_model.runtime.audio: constants, mel filterbank, log-mel format (frames, dtype, values)."""

from __future__ import annotations

import numpy as np
import pytest

from tts_model.runtime import audio


def test_constants_derive_exactly():
    assert (audio.SAMPLE_RATE, audio.N_FFT, audio.WIN_LENGTH, audio.HOP_LENGTH) == (22050, 1024, 1024, 256)
    assert (audio.N_MELS, audio.F_MIN, audio.F_MAX) == (80, 0.0, 8000.0)
    assert audio.N_FREQS == 513
    assert audio.PAD_SAMPLES == 384
    assert audio.FRAME_S == pytest.approx(256 / 22050)
    assert audio.LOG_MEL_SILENCE == pytest.approx(np.log(1e-5))


def test_exact_div_rejects_remainder():
    assert audio.exact_div(1024, 256) == 4
    with pytest.raises(ValueError, match="not divisible"):
        audio.exact_div(1000, 256)


@pytest.mark.parametrize("n", [0, 255, 256, 257, 384 + 1, 22050, 22050 * 3 + 17])
def test_log_mel_shape_dtype_and_frame_formula(n):
    rng = np.random.default_rng(n)
    mel = audio.log_mel((0.1 * rng.standard_normal(n)).astype(np.float32))
    assert mel.dtype == np.float32
    assert mel.shape == (n // 256, 80) == (audio.n_frames(n), audio.N_MELS)
    assert audio.n_samples(audio.n_frames(n)) <= n < audio.n_samples(audio.n_frames(n) + 1)


def test_frame_second_helpers_round_trip():
    assert audio.frames_to_seconds(86) == pytest.approx(86 * 256 / 22050)
    assert audio.seconds_to_frames(audio.frames_to_seconds(123)) == 123
    np.testing.assert_allclose(audio.frames_to_seconds(np.arange(3)), np.arange(3) * audio.FRAME_S)
    with pytest.raises(ValueError):
        audio.n_frames(-1)


def test_silence_sits_at_the_log_floor():
    mel = audio.log_mel(np.zeros(22050, dtype=np.float32))
    np.testing.assert_allclose(mel, audio.LOG_MEL_SILENCE)


def test_sine_peaks_in_the_mel_bin_of_its_frequency():
    t_s = np.arange(22050) / 22050
    mel = audio.log_mel((0.5 * np.sin(2 * np.pi * 1000.0 * t_s)).astype(np.float32))
    peak_bin = int(np.argmax(mel[10:-10].mean(axis=0)))
    centres_hz = audio._mel_to_hz_slaney(np.linspace(audio._hz_to_mel_slaney(0.0),
                                                      audio._hz_to_mel_slaney(8000.0), 82))[1:-1]
    assert abs(centres_hz[peak_bin] - 1000.0) < 60.0


def test_doubling_amplitude_adds_log2_to_every_loud_bin():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(8000)).astype(np.float32)
    difference = audio.log_mel(2 * x) - audio.log_mel(x)
    np.testing.assert_allclose(difference, np.log(2.0), atol=1e-3)


def test_mel_filterbank_matches_librosa_slaney():
    librosa = pytest.importorskip("librosa")
    reference = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0)
    np.testing.assert_allclose(audio.mel_filterbank(), reference, rtol=1e-5, atol=1e-8)


def test_log_mel_matches_the_hifigan_training_recipe_in_torch():
    """Equivalence with a torch implementation of hifi-gan's mel_spectrogram(center=False)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = (0.2 * rng.standard_normal(5000)).astype(np.float32)
    padded = torch.nn.functional.pad(torch.from_numpy(x)[None, None], (384, 384), mode="reflect")[0]
    spec = torch.stft(padded, 1024, hop_length=256, win_length=1024, window=torch.hann_window(1024),
                      center=False, return_complex=True)
    magnitude = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    basis = torch.from_numpy(audio.mel_filterbank())
    expected = torch.log(torch.clamp(basis @ magnitude, min=1e-5))[0].T.numpy()
    np.testing.assert_allclose(audio.log_mel(x), expected, atol=2e-3)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 1000), np.float32), "1-D"),
    (np.zeros(1000, np.int16), "float"),
    (np.array([0.0, np.nan] * 500, np.float32), "NaN"),
])
def test_log_mel_rejects_bad_input_with_one_line(bad, message):
    with pytest.raises(ValueError, match=message) as info:
        audio.log_mel(bad)
    assert "\n" not in str(info.value)
