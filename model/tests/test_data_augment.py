"""Voice/channel augmentation: determinism, level, and that each augmentation does what it claims to the spectrum,
the timing, the line and the room."""
import math

import numpy as np
import pytest
from scipy import signal

from merit.data import augment as A
from merit.data.audio import band_energy_db, rms, rms_db

SR = 16000
OFF = A.AugmentProbabilities(tilt=0, eq=0, vtlp=0, reverb=0, telephone=0, gain=0, clip=0)
ALL = A.AugmentProbabilities(tilt=1, eq=1, vtlp=1, reverb=1, telephone=1, gain=1, clip=1)


def speechlike(seed=0, seconds=3.0):
    """Harmonic bursts with real pauses and a rising pitch, at a speech-like level (≈ -26 dBFS)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = np.zeros_like(t)
    for start, end in [(0.3, 1.1), (1.5, 2.2), (2.5, 2.8)]:
        sel = (t >= start) & (t < end)
        f0 = rng.uniform(90, 220) * (1 + 0.3 * (t[sel] - start))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x[sel] = sum(np.sin(k * phase) / k for k in range(1, 20))
    return (0.05 * x + 1e-4 * rng.standard_normal(t.size)).astype(np.float32)


def tone(freq, seconds=2.0, amp=0.1):
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_freq(x):
    """Frequency of the strongest FFT bin, refined by parabolic interpolation on the log magnitude."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) + 1e-12
    k = int(np.argmax(spec))
    a, b, c = np.log(spec[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SR / x.size


# ---------------------------------------------------------------- drawing
def test_draw_is_deterministic_and_varies_with_the_seed():
    a = [A.draw_channel_augment(np.random.default_rng(s)) for s in range(20)]
    b = [A.draw_channel_augment(np.random.default_rng(s)) for s in range(20)]
    assert a == b
    assert len(set(a)) == 20


def test_draw_respects_probabilities_and_ranges():
    assert A.draw_channel_augment(np.random.default_rng(0), OFF) == A.ChannelAugment()
    for s in range(200):
        aug = A.draw_channel_augment(np.random.default_rng(s), ALL)
        assert -6 <= aug.tilt_db <= 6 and aug.tilt_db != 0
        assert 1 <= len(aug.eq_bands) <= 3
        for f, g, q in aug.eq_bands:
            assert 100 <= f <= 7000 and -6 <= g <= 6 and q > 0
        assert 0.88 <= aug.vtlp <= 1.14 and aug.vtlp != 1.0 and aug.vtlp in A.VTLP_GRID
        assert 0.15 <= aug.reverb_rt60 <= 0.7
        assert aug.telephone in ("mulaw", "alaw")
        assert -12 <= aug.gain_db <= 10
        assert 0.5 <= aug.clip <= 0.9
    # the default probabilities: every augmentation is sometimes on and (except gain) sometimes off
    draws = [A.draw_channel_augment(np.random.default_rng(s)) for s in range(400)]
    rate = lambda pred: np.mean([pred(d) for d in draws])  # noqa: E731
    assert abs(rate(lambda d: d.tilt_db != 0) - 0.8) < 0.08
    assert abs(rate(lambda d: bool(d.eq_bands)) - 0.5) < 0.08
    assert abs(rate(lambda d: d.vtlp != 1.0) - 0.7) < 0.08
    assert abs(rate(lambda d: d.reverb_rt60 > 0) - 0.3) < 0.08
    assert abs(rate(lambda d: d.telephone != "") - 0.3) < 0.08
    assert rate(lambda d: d.gain_db != 0) == 1.0
    assert 0.04 < rate(lambda d: d.clip > 0) < 0.18


def test_vtlp_grid_holds_small_integer_ratios():
    from fractions import Fraction
    for v in A.VTLP_GRID:
        r = Fraction(v).limit_denominator(64)
        assert abs(float(r) - v) < 1e-12 and max(r.numerator, r.denominator) <= 25


def test_drawn_filters_are_stable():
    for s in range(100):
        aug = A.draw_channel_augment(np.random.default_rng(s), ALL)
        sos = np.concatenate([A.tilt_sos(aug.tilt_db)] + [A.peaking_sos(*b) for b in aug.eq_bands])
        for sec in sos:
            assert np.all(np.abs(np.roots(sec[3:])) < 0.999)


# ---------------------------------------------------------------- speech side
def test_augment_speech_is_deterministic_for_a_seed():
    x = speechlike()
    aug = A.draw_channel_augment(np.random.default_rng(3), ALL)
    a = A.augment_speech(x, aug, np.random.default_rng(7))
    b = A.augment_speech(x, aug, np.random.default_rng(7))
    c = A.augment_speech(x, aug, np.random.default_rng(8))  # another room impulse response
    assert a.dtype == np.float32 and np.isfinite(a).all()
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_neutral_augment_is_the_identity():
    x = speechlike(1)
    y = A.augment_speech(x, A.ChannelAugment(), np.random.default_rng(0))
    assert np.array_equal(x, y) and y is not x
    c, n = A.augment_channel(x, x + 0.01 * tone(700, 3.0), A.ChannelAugment())
    assert np.array_equal(c, x)
    assert np.allclose(n, x + 0.01 * tone(700, 3.0), atol=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_augment_speech_keeps_the_rms(seed):
    x = speechlike(seed)
    aug = A.draw_channel_augment(np.random.default_rng(seed), ALL)
    y = A.augment_speech(x, aug, np.random.default_rng(seed))
    assert abs(rms_db(y) - rms_db(x)) < 0.1


def test_augment_speech_keeps_the_relative_level_contour():
    """A quiet part stays quieter than a loud part by the same amount (level is an emotion cue)."""
    x = speechlike(2)
    x[int(1.5 * SR):int(2.2 * SR)] *= 0.25  # the second burst 12 dB down
    aug = A.ChannelAugment(tilt_db=4.0, eq_bands=((1200.0, 5.0, 1.0),))
    y = A.augment_speech(x, aug, np.random.default_rng(0))
    loud, quiet = slice(int(0.4 * SR), int(1.0 * SR)), slice(int(1.6 * SR), int(2.1 * SR))
    before = rms_db(x[loud]) - rms_db(x[quiet])
    after = rms_db(y[loud]) - rms_db(y[quiet])
    assert abs(after - before) < 1.5


@pytest.mark.parametrize("tilt_db", [6.0, -6.0])
def test_tilt_shifts_high_band_against_low_band(tilt_db):
    x = np.random.default_rng(0).standard_normal(4 * SR).astype(np.float32) * 0.1
    y = A.augment_speech(x, A.ChannelAugment(tilt_db=tilt_db), np.random.default_rng(0))

    def rise(s):
        return band_energy_db(s, 6000, 8000) - band_energy_db(s, 100, 500)

    # the shelf reaches tilt_db at 8 kHz and ≈ 0.3 dB less at 6 kHz; the 100–500 Hz band moves ≈ 0.2 dB
    change = rise(y) - rise(x)
    assert abs(change - tilt_db * 0.95) < 0.6


def test_peaking_band_boosts_its_centre_only():
    x = np.random.default_rng(1).standard_normal(4 * SR).astype(np.float32) * 0.1
    y = A.augment_speech(x, A.ChannelAugment(eq_bands=((2000.0, 6.0, 2.0),)), np.random.default_rng(0))
    centre = band_energy_db(y, 1900, 2100) - band_energy_db(x, 1900, 2100)
    far = band_energy_db(y, 6000, 7000) - band_energy_db(x, 6000, 7000)
    assert 5.0 < centre - far < 6.5


@pytest.mark.parametrize("vtlp", [1.1, 1 / 1.1])
def test_vtlp_scales_frequency_up_and_length_down(vtlp):
    """Convention: frequencies × vtlp, duration ÷ vtlp (vtlp > 1: a shorter vocal tract, higher and faster)."""
    x = tone(1000.0, 2.0)
    y = A.augment_speech(x, A.ChannelAugment(vtlp=vtlp), np.random.default_rng(0))
    assert abs(y.size - x.size / vtlp) <= 1
    assert abs(peak_freq(y) - 1000.0 * vtlp) < 2.0


def test_reverb_lengthens_the_decay():
    rng = np.random.default_rng(4)
    x = np.zeros(int(1.5 * SR), dtype=np.float32)
    end = int(0.5 * SR)
    x[:end] = 0.1 * rng.standard_normal(end)
    win = slice(end + int(0.2 * SR), end + int(0.25 * SR))  # 200–250 ms after the burst
    dry = A.augment_speech(x, A.ChannelAugment(), np.random.default_rng(0))
    wet = A.augment_speech(x, A.ChannelAugment(reverb_rt60=0.5), np.random.default_rng(0))
    assert wet.size == x.size
    assert rms(dry[win]) == 0.0
    # 200 ms into a 0.5 s RT60 the tail is ≈ 24 dB down, plus a direct-to-reverberant ratio of at most 10 dB
    assert rms_db(wet[win]) - rms_db(x[:end]) > -45.0
    # the direct path comes first: the output is not delayed
    xc = signal.correlate(wet[:end], x[:end], mode="full", method="fft")
    assert int(np.argmax(np.abs(xc))) - (end - 1) == 0


def test_reverb_decay_rate_matches_rt60():
    h = A.room_impulse_response(0.6, np.random.default_rng(0), drr_db=5.0)
    assert h[0] == 1.0
    assert abs(10 * math.log10(1.0 / np.sum(h[1:] ** 2)) - 5.0) < 1e-6
    # Schroeder backward integration: -5 dB to -35 dB spans half of RT60
    edc = 10 * np.log10(np.cumsum(h[::-1] ** 2)[::-1] / np.sum(h[1:] ** 2))
    t5, t35 = np.argmax(edc < -5) / SR, np.argmax(edc < -35) / SR
    assert abs(2 * (t35 - t5) - 0.6) < 0.06


# ---------------------------------------------------------------- line side
@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_telephone_band(law):
    keep = slice(SR // 4, None)  # past the filters' start-up
    x1, x5 = tone(1000.0), tone(5000.0)
    y1, y5 = A.telephone(x1, law), A.telephone(x5, law)
    assert y1.shape == x1.shape and y5.shape == x5.shape
    assert abs(rms_db(y1[keep]) - rms_db(x1[keep])) < 1.0
    assert rms_db(y5[keep]) - rms_db(x5[keep]) < -30.0
    # white noise: above 3.6 kHz only the codec's own quantisation noise is left
    w = np.random.default_rng(0).standard_normal(2 * SR) * 0.05
    yw = A.telephone(w, law)
    assert band_energy_db(yw, 3800, 8000) - band_energy_db(w, 3800, 8000) < -20.0
    assert abs(band_energy_db(yw, 800, 2500) - band_energy_db(w, 800, 2500)) < 1.5


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_companding_snr_is_high_and_nearly_level_independent(law):
    fn = A.mulaw_roundtrip if law == "mulaw" else A.alaw_roundtrip
    t = np.arange(SR) / SR

    def snr(amp):
        x = amp * np.sin(2 * np.pi * 1013 * t)
        return 10 * np.log10(np.mean(x ** 2) / np.mean((fn(x) - x) ** 2))

    assert 34.0 < snr(0.1) < 41.0  # a speech-level tone (-23 dBFS)
    # a uniform 8-bit quantiser would lose 20 dB of SNR for a 20 dB quieter signal; companding loses a few
    assert snr(0.1) - snr(0.01) < 6.0
    assert np.array_equal(fn(np.zeros(10)), np.zeros(10))


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_augment_channel_keeps_a_pair_aligned(law):
    clean = speechlike(3)
    aug = A.ChannelAugment(telephone=law, gain_db=5.0)
    c, y = A.augment_channel(clean, clean.copy(), aug)
    assert c.shape == clean.shape and y.shape == clean.shape and c.dtype == np.float32 and y.dtype == np.float32
    assert np.max(np.abs(y - c)) < 1e-7
    # with noise, the clean output is the same as with none: the pair goes through one line, one gain
    noisy = clean + 0.02 * np.random.default_rng(0).standard_normal(clean.size).astype(np.float32)
    c2, y2 = A.augment_channel(clean, noisy, aug)
    assert np.array_equal(c, c2)
    assert np.corrcoef(y2, c2)[0, 1] > 0.8


def test_gain_is_one_factor_and_the_peak_guard_scales_both():
    clean = speechlike(4)
    noisy = clean + 0.01 * tone(300.0, 3.0)
    c, y = A.augment_channel(clean, noisy, A.ChannelAugment(gain_db=6.0))
    assert np.allclose(c, clean * 10 ** (6 / 20), rtol=1e-5, atol=1e-8)
    assert np.allclose(y, noisy * 10 ** (6 / 20), rtol=1e-5, atol=1e-8)
    loud = noisy * (0.9 / np.max(np.abs(noisy)))
    c, y = A.augment_channel(loud * 0.8, loud, A.ChannelAugment(gain_db=10.0))
    assert abs(np.max(np.abs(y)) - 0.99) < 1e-5
    assert np.allclose(c, 0.8 * y, rtol=1e-5, atol=1e-7)


def test_clipping_touches_only_noisy():
    clean = speechlike(5)
    noisy = clean + 0.01 * np.random.default_rng(1).standard_normal(clean.size).astype(np.float32)
    base_c, base_y = A.augment_channel(clean, noisy, A.ChannelAugment(gain_db=-3.0))
    c, y = A.augment_channel(clean, noisy, A.ChannelAugment(gain_db=-3.0, clip=0.6))
    assert np.array_equal(c, base_c)
    limit = 0.6 * np.max(np.abs(base_y))
    assert np.max(np.abs(y)) <= limit * (1 + 1e-6)
    changed = np.abs(y - base_y) > 1e-7
    assert changed.any() and np.all(np.abs(base_y[changed]) > limit * (1 - 1e-6))
    assert np.array_equal(y[~changed], base_y[~changed])


def test_full_chain_output_is_finite_and_sized():
    x = speechlike(6)
    for s in range(10):
        rng = np.random.default_rng(s)
        aug = A.draw_channel_augment(rng, ALL)
        s_ = A.augment_speech(x, aug, rng)[:x.size]
        s_ = np.pad(s_, (0, x.size - s_.size))
        n = 0.05 * rng.standard_normal(x.size).astype(np.float32)
        c, y = A.augment_channel(s_, s_ + n, aug)
        assert c.shape == y.shape == x.shape
        assert np.isfinite(c).all() and np.isfinite(y).all() and np.max(np.abs(y)) <= 0.99 + 1e-6
