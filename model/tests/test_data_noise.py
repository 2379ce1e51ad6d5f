"""Generated noise: unit level, determinism, and the spectral / temporal character each type claims."""
import numpy as np
import pytest
from scipy import signal, stats

from merit.data import noise

SR = 16000
N = SR * 8


def psd(x):
    return signal.welch(x, SR, nperseg=8192)


def slope_db_per_octave(x, lo=100.0, hi=4000.0):
    f, p = psd(x)
    sel = (f >= lo) & (f <= hi)
    return float(np.polyfit(np.log2(f[sel]), 10 * np.log10(p[sel]), 1)[0])


@pytest.mark.parametrize("kind", [k for k in noise.NOISE_TYPES if k != "babble"])
def test_unit_rms_finite_and_deterministic(kind):
    a = noise.make_noise(kind, SR * 3, np.random.default_rng(5))
    b = noise.make_noise(kind, SR * 3, np.random.default_rng(5))
    c = noise.make_noise(kind, SR * 3, np.random.default_rng(6))
    assert a.shape == (SR * 3,) and a.dtype == np.float32 and np.isfinite(a).all()
    assert abs(np.sqrt(np.mean(a.astype(np.float64) ** 2)) - 1) < 1e-3
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("kind,expected", [("white", 0.0), ("pink", -3.01), ("brown", -6.02)])
def test_coloured_noise_slopes(kind, expected):
    x = noise.make_noise(kind, N, np.random.default_rng(0))
    assert abs(slope_db_per_octave(x) - expected) < 0.4


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_peaks_at_mains_and_harmonics(mains):
    x = noise.hum(N, np.random.default_rng(1), mains=mains)
    f, p = psd(x)
    band = (f > 20) & (f < 1000)
    peaks, _ = signal.find_peaks(10 * np.log10(p[band]), prominence=20)
    pf = f[band][peaks]
    # the strongest line is the fundamental, and the other lines sit on its multiples
    assert abs(f[band][np.argmax(p[band])] - mains) < 3
    assert len(pf) >= 4
    assert np.all(np.abs(pf / mains - np.round(pf / mains)) < 0.05)


def test_hum_picks_50_or_60_by_itself():
    for s in range(4):
        x = noise.make_noise("hum", N, np.random.default_rng(s))
        f, p = psd(x)
        assert min(abs(f[np.argmax(p)] - 50), abs(f[np.argmax(p)] - 60)) < 3


def test_engine_is_low_frequency_and_amplitude_modulated():
    x = noise.make_noise("engine", N, np.random.default_rng(2))
    f, p = psd(x)
    assert p[f < 300].sum() / p.sum() > 0.95
    env = np.sqrt(np.convolve(x.astype(np.float64) ** 2, np.ones(1600) / 1600, mode="valid"))  # 100 ms RMS
    assert env.max() / env.min() > 2.0  # AM depth ≥ 0.3 → max/min ≥ 1.3/0.7


def test_crackle_is_impulsive_and_telephone_band():
    x = noise.make_noise("crackle", N, np.random.default_rng(3))
    assert stats.kurtosis(x) > 5.0               # Gaussian noise has 0
    f, p = psd(x)
    assert p[(f > 300) & (f < 3400)].sum() > p[f < 200].sum() * 10


def test_tones_are_tonal():
    for s in range(3):
        x = noise.make_noise("tones", N, np.random.default_rng(s))
        f, p = psd(x)
        flatness = np.exp(np.mean(np.log(p[1:] + 1e-20))) / np.mean(p[1:])
        assert flatness < 0.05                   # a few strong lines over a faint hiss; white noise is ≈ 0.6


@pytest.mark.parametrize("kind,lines", [("ringback", (440, 480)), ("busy", (480, 620))])
def test_call_progress_tones_sit_on_their_frequencies(kind, lines):
    x = noise.tones(N, np.random.default_rng(0), kinds=[kind])
    f, p = psd(x)
    top2 = sorted(f[np.argsort(p)[-2:]])
    assert np.allclose(top2, lines, atol=3)


def test_music_is_harmonic_and_changes_over_time():
    x = noise.make_noise("music", N, np.random.default_rng(4))
    f, p = psd(x)
    flatness = np.exp(np.mean(np.log(p[1:] + 1e-20))) / np.mean(p[1:])
    assert flatness < 0.05
    # chords change: spectra of the first and the last second differ
    a = np.abs(np.fft.rfft(x[:SR]))
    b = np.abs(np.fft.rfft(x[-SR:]))
    assert np.corrcoef(a, b)[0, 1] < 0.9


def test_babble_is_speech_band_with_syllabic_modulation():
    x = noise.make_noise("babble", SR * 4, np.random.default_rng(5), split="dev")
    f, p = psd(x)
    assert p[(f > 60) & (f < 5000)].sum() / p.sum() > 0.9
    assert abs(np.sqrt(np.mean(x.astype(np.float64) ** 2)) - 1) < 1e-3
    # several overlapped talkers: few near-silent 20 ms frames, unlike one talker
    frames = x[: x.size // 320 * 320].reshape(-1, 320)
    e = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    assert np.mean(e < -20) < 0.05


def test_babble_voices_differ_between_train_and_test():
    train = {sid for sid, _, _ in noise.babble_pool("train")}
    test = {sid for sid, _, _ in noise.babble_pool("test")}
    assert train and test and not train & test


def test_seen_unseen_split_is_a_partition():
    assert set(noise.SEEN_NOISE) | set(noise.UNSEEN_NOISE) == set(noise.NOISE_TYPES)
    assert not set(noise.SEEN_NOISE) & set(noise.UNSEEN_NOISE)
    with pytest.raises(ValueError, match="unknown noise"):
        noise.make_noise("rain", 100, np.random.default_rng(0))
