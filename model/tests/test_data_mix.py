"""Mixing at an SNR measured on active speech, the stored pair, and the manifest format."""
import json
import os

import numpy as np
import pytest

from merit.data import audio, mix, noise


def speechlike(seed=0, sr=16000):
    """Bursts of voiced-like signal separated by real pauses (so active-speech SNR ≠ whole-signal SNR)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(3.0 * sr)) / sr
    x = np.zeros_like(t)
    for start, end in [(0.3, 1.1), (1.5, 2.2), (2.5, 2.8)]:
        sel = (t >= start) & (t < end)
        f0 = rng.uniform(90, 220)
        x[sel] = sum(np.sin(2 * np.pi * f0 * k * t[sel]) / k for k in range(1, 12))
    return (0.05 * x + 1e-5 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("kind", ["white", "pink", "hum", "tones", "crackle", "music"])
@pytest.mark.parametrize("snr", [-5.0, 0.0, 5.0, 12.0])
def test_mix_reaches_requested_snr_after_pcm16_roundtrip(tmp_path, kind, snr):
    clean = speechlike(1)
    n = noise.make_noise(kind, clean.size, np.random.default_rng(2))
    c, y, g = mix.mix(clean, n, snr, gain_db=4.0)
    audio.write_wav(tmp_path / "c.wav", c)
    audio.write_wav(tmp_path / "y.wav", y)
    got = mix.measure_snr(audio.read_wav(tmp_path / "c.wav"), audio.read_wav(tmp_path / "y.wav"))
    assert abs(got - snr) < 0.5
    assert np.abs(y).max() <= 0.99 + 1e-6


def test_snr_is_on_active_speech_not_the_whole_signal():
    clean = speechlike(3)
    n = noise.make_noise("white", clean.size, np.random.default_rng(4))
    c, y, _ = mix.mix(clean, n, 0.0)
    whole = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean((y - c).astype(np.float64) ** 2))
    # pauses are ≈ 40 % of the signal: whole-signal SNR must be clearly lower than the active-speech SNR of 0 dB
    assert whole < -1.5
    assert abs(mix.measure_snr(c, y)) < 0.05


def test_gain_moves_both_and_limiter_keeps_pair_exact():
    clean = speechlike(5)
    n = noise.make_noise("pink", clean.size, np.random.default_rng(6))
    c0, y0, g0 = mix.mix(clean, n, 5.0, gain_db=0.0)
    c1, y1, g1 = mix.mix(clean, n, 5.0, gain_db=-6.0)
    assert abs(g0) < 1e-9 and abs(g1 + 6.0) < 1e-6
    assert np.allclose(c1, c0 * 10 ** (-6 / 20), atol=1e-6)
    # a huge gain trips the limiter; the pair still has the same SNR and the noisy peak is at the limit
    c2, y2, g2 = mix.mix(clean, n, 5.0, gain_db=30.0)
    assert g2 < 30.0 and abs(np.abs(y2).max() - 0.99) < 1e-4
    assert abs(mix.measure_snr(c2, y2) - 5.0) < 0.01


def test_mix_rejects_bad_input():
    with pytest.raises(ValueError):
        mix.scale_noise_to_snr(np.ones(10, np.float32), np.ones(11, np.float32), 0.0)
    with pytest.raises(ValueError):
        mix.scale_noise_to_snr(np.zeros(1000, np.float32), np.ones(1000, np.float32), 0.0)


def test_fit_length_loops_short_noise():
    rng = np.random.default_rng(0)
    src = np.arange(10, dtype=np.float32)
    out = mix.fit_length(src, 25, rng)
    assert out.size == 25
    assert np.all(np.diff(out)[np.diff(out) != -9] == 1)  # a contiguous stretch of the looped source


def test_manifest_roundtrip_and_validation(tmp_path):
    rec = {"noisy": "noisy/a.wav", "clean": "clean/a.wav", "emotion": "sad", "snr_db": -5.0, "noise": "pink",
           "speaker": "espeak:en+f1", "extra": 1}
    path = str(tmp_path / "m.jsonl")
    mix.write_manifest(path, [rec])
    lines = open(path).read().splitlines()
    assert json.loads(lines[0]) == rec
    back = mix.read_manifest(path)
    assert back[0]["noisy"] == os.path.join(str(tmp_path), "noisy/a.wav")
    assert mix.read_manifest(path, absolute=False)[0] == rec
    for bad in ({**rec, "emotion": "bored"}, {**rec, "noisy": "/abs/a.wav"}, {k: v for k, v in rec.items()
                                                                             if k != "speaker"},
                {**rec, "snr_db": "5"}):
        with pytest.raises(ValueError):
            mix.write_manifest(path, [bad])


def test_vad_marks_speech_not_pauses():
    x = speechlike(7)
    m = audio.active_mask(x)
    t = np.arange(x.size) / 16000
    assert m[(t > 0.4) & (t < 1.0)].mean() > 0.95
    assert m[(t > 1.2) & (t < 1.4)].mean() < 0.05
