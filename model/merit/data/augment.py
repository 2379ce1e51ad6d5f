"""Augmentation that breaks voice identity and channel colouring but keeps the cues emotion is recognised from.

Why: the generated corpus has a few dozen synthetic voices and one clean "studio" channel, so a model can learn to
recognise the *voice* (or the channel) and read the emotion off that instead of the prosody. Every augmentation here
randomises something that belongs to the speaker, the room or the line — absolute timbre, spectral colouring, absolute
level, vocal-tract size — while keeping what carries emotion: the relative pitch, level and rate contours *within* an
utterance (a rise stays a rise, a loud word stays louder than its neighbours, a fast stretch stays faster).

The augmentations (all on float32 mono numpy arrays at 16 kHz, `audio.SAMPLE_RATE`):

* tilt_db — a first-order shelf around a 1.5 kHz pivot, `tilt_db` of gain at 8 kHz relative to 0 Hz: a brighter or
  duller voice / microphone. One pole, one zero: the cheapest EQ there is, and it cannot ring.
* eq_bands — up to three peaking bands (RBJ cookbook biquads, ±6 dB): resonances of a handset, a headset, a body;
  moves the fixed formant-like colouring a voice ID could latch on to.
* vtlp — vocal-tract-length perturbation by resampling: every frequency is multiplied by `vtlp` (formants, and also
  F0), and the duration is divided by it (so tempo rises by the same factor) — like a smaller (vtlp > 1) or larger
  (vtlp < 1) speaker speaking the same way. The pitch and rate contours are scaled as a whole, never reshaped, so
  relative prosody is kept. Factors are ratios of small integers (e.g. 16/15, 11/12) so polyphase resampling is exact
  and cheap.
* reverb_rt60 — a synthetic room: a direct-path impulse followed by exponentially decaying noise (60 dB decay in RT60
  seconds), with a direct-to-reverberant ratio of 0–10 dB drawn per utterance. The direct path is first, so the
  output stays aligned with the input.
* telephone — a G.711 line: 300–3400 Hz band-pass, down to 8 kHz, μ-law (μ = 255) or A-law (A = 87.6) companding
  with 8-bit codes, back up to 16 kHz. Companding keeps ≈ 38 dB SNR over a wide range of levels, which is why the
  telephone network uses it, and also why it does not flatten level contours.
* gain_db — overall level (−12…+10 dB). Absolute level depends on the microphone distance and the line; the
  within-utterance level contour (the emotion cue) is untouched because one gain applies to the whole signal.
* clip — mild hard clipping of the noisy input at a fraction (0.5–0.9) of its peak: an overdriven line or ADC.

Where each one goes (see `augment_speech` and `augment_channel`): the speaker and room side (tilt, eq, vtlp, reverb)
is applied to clean speech *before* noise is added and becomes the enhancement target — the enhancer removes noise,
it is not asked to undo a voice or a room. The line side (telephone, gain, clip) is applied *after* mixing, to the
aligned (clean, noisy) pair, as a real call would: the noise passes the same line as the speech.

Determinism: `draw_channel_augment` and the reverb's impulse response use only the `np.random.Generator` passed in.
The IIR filters are causal, low order, with poles well inside the unit circle; resampling is linear-phase FIR (no
delay) and reverb is FFT convolution;
one `augment_speech` + `augment_channel` call on 3 s costs ≈ 2 ms for a typical draw, ≈ 10 ms with everything on.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal

from .audio import SAMPLE_RATE, db_to_gain, rms

SR = SAMPLE_RATE
TILT_PIVOT_HZ = 1500.0
TILT_RANGE_DB = 6.0
EQ_GAIN_DB = 6.0
EQ_FREQ_HZ = (150.0, 6000.0)
EQ_Q = (0.7, 3.0)
VTLP_RANGE = (0.88, 1.14)
RT60_RANGE_S = (0.15, 0.7)
DRR_RANGE_DB = (0.0, 10.0)
GAIN_RANGE_DB = (-12.0, 10.0)
CLIP_RANGE = (0.5, 0.9)
TELEPHONE_BAND_HZ = (300.0, 3400.0)
TELEPHONE_SR = 8000
MU = 255.0
A_LAW = 87.6
PEAK = 0.99  # as merit.data.mix.mix: PCM16 writes clip at full scale


def _vtlp_grid(max_int: int = 25) -> tuple[float, ...]:
    """Every factor p/q ≠ 1 within VTLP_RANGE with p, q ≤ `max_int`: ratios of small integers keep `resample_poly`
    exact and cheap (its filter length grows with the larger of the two integers)."""
    ratios = {Fraction(p, q) for p in range(1, max_int + 1) for q in range(1, max_int + 1)}
    return tuple(sorted(float(r) for r in ratios if VTLP_RANGE[0] <= r <= VTLP_RANGE[1] and r != 1))


VTLP_GRID = _vtlp_grid()  # 0.882 (15/17) … 0.96 (24/25), 1.042 (25/24) … 1.136 (25/22)


@dataclass(frozen=True)
class ChannelAugment:
    """One draw of every augmentation; the neutral value of each field means "not applied"."""
    tilt_db: float = 0.0  # shelf gain at 8 kHz relative to 0 Hz, pivot 1.5 kHz; 0 = none
    eq_bands: tuple = ()  # peaking bands (freq_hz, gain_db, q), 0–3 of them
    vtlp: float = 1.0  # frequencies × vtlp, duration ÷ vtlp; 1.0 = none
    reverb_rt60: float = 0.0  # seconds; 0 = none
    telephone: str = ""  # "" | "mulaw" | "alaw"
    gain_db: float = 0.0  # overall gain of the (clean, noisy) pair
    clip: float = 0.0  # hard clip of noisy at this fraction of its peak; 0 = none

    def speech_side(self) -> bool:
        """True when `augment_speech` changes anything."""
        return self.tilt_db != 0.0 or bool(self.eq_bands) or self.vtlp != 1.0 or self.reverb_rt60 > 0.0


@dataclass(frozen=True)
class AugmentProbabilities:
    """Each augmentation's chance of being applied in `draw_channel_augment`."""
    tilt: float = 0.8
    eq: float = 0.5
    vtlp: float = 0.7
    reverb: float = 0.3
    telephone: float = 0.3
    gain: float = 1.0
    clip: float = 0.1


def draw_channel_augment(rng: np.random.Generator,
                         probabilities: AugmentProbabilities | None = None) -> ChannelAugment:
    """Draws one `ChannelAugment`. Every value is drawn whether or not it is applied, so the rng consumes the same
    number of draws for any probabilities: changing one probability does not reshuffle the others."""
    p = AugmentProbabilities() if probabilities is None else probabilities
    on = rng.random(7) < np.array([p.tilt, p.eq, p.vtlp, p.reverb, p.telephone, p.gain, p.clip])
    tilt = float(rng.uniform(-TILT_RANGE_DB, TILT_RANGE_DB))
    n_bands = int(rng.integers(1, 4))
    bands = tuple((float(math.exp(rng.uniform(math.log(EQ_FREQ_HZ[0]), math.log(EQ_FREQ_HZ[1])))),
                   float(rng.uniform(-EQ_GAIN_DB, EQ_GAIN_DB)), float(rng.uniform(*EQ_Q))) for _ in range(3))
    # uniform over the range, then snapped to the grid: a plain choice among the grid's values would favour factors
    # near 1, where ratios of small integers lie densest
    v = float(rng.uniform(*VTLP_RANGE))
    vtlp = min(VTLP_GRID, key=lambda r: abs(r - v))
    rt60 = float(rng.uniform(*RT60_RANGE_S))
    tel = "mulaw" if rng.random() < 0.5 else "alaw"
    gain = float(rng.uniform(*GAIN_RANGE_DB))
    clip = float(rng.uniform(*CLIP_RANGE))
    return ChannelAugment(tilt_db=tilt if on[0] else 0.0, eq_bands=bands[:n_bands] if on[1] else (),
                          vtlp=vtlp if on[2] else 1.0, reverb_rt60=rt60 if on[3] else 0.0,
                          telephone=tel if on[4] else "", gain_db=gain if on[5] else 0.0,
                          clip=clip if on[6] else 0.0)


# ---------------------------------------------------------------- speaker and room side
def tilt_sos(tilt_db: float, sr: int = SR, pivot_hz: float = TILT_PIVOT_HZ) -> np.ndarray:
    """First-order shelf as one second-order section: 0 dB at DC, `tilt_db` at Nyquist (8 kHz), half of it at the pivot.

    Analog prototype H(s) = G·(s + wz)/(s + wp) with wp/wz = G and √(wz·wp) = pivot, bilinear-transformed with the
    pivot prewarped: the bilinear transform maps s = ∞ to Nyquist, so the gain there is exactly G.
    """
    g = db_to_gain(tilt_db)
    w = 2 * sr * math.tan(math.pi * pivot_hz / sr)
    wz, wp = w / math.sqrt(g), w * math.sqrt(g)
    z, p, k = signal.bilinear_zpk([-wz], [-wp], g, sr)
    b, a = signal.zpk2tf(z, p, k)
    return np.array([[b[0], b[1], 0.0, 1.0, a[1], 0.0]])


def peaking_sos(freq_hz: float, gain_db: float, q: float, sr: int = SR) -> np.ndarray:
    """RBJ Audio-EQ-Cookbook peaking biquad as one normalised second-order section."""
    a_ = 10.0 ** (gain_db / 40.0)
    w0 = 2 * math.pi * min(freq_hz, 0.45 * sr) / sr
    alpha = math.sin(w0) / (2 * q)
    c = math.cos(w0)
    b = np.array([1 + alpha * a_, -2 * c, 1 - alpha * a_])
    a = np.array([1 + alpha / a_, -2 * c, 1 - alpha / a_])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


@functools.lru_cache(maxsize=None)
def _resample_filter(up: int, down: int) -> np.ndarray:
    """The low-pass `resample_poly` would design for (up, down) — same length, cut-off and Kaiser window — designed
    once: `firwin` costs more than the filtering itself at these lengths."""
    max_rate = max(up, down)
    h = signal.firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    h.setflags(write=False)
    return h


def _resample(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """`signal.resample_poly` along the last axis with a cached filter."""
    return signal.resample_poly(x, up, down, axis=-1, window=_resample_filter(up, down))


def vtlp_resample(x: np.ndarray, vtlp: float) -> np.ndarray:
    """Multiplies every frequency by `vtlp` and divides the length by it (a 1 kHz tone at vtlp 1.1 comes out at 1.1 kHz
    and 1/1.1 as long): resampling by 1/vtlp and playing the result at the original rate."""
    r = Fraction(vtlp).limit_denominator(64)
    return _resample(x, r.denominator, r.numerator)


def room_impulse_response(rt60: float, rng: np.random.Generator, sr: int = SR,
                          drr_db: float | None = None) -> np.ndarray:
    """Synthetic RIR: 1 at t = 0 (direct path), then Gaussian noise under exp(-6.9·t/rt60) (−60 dB at rt60) from 2 ms
    on (the first reflections' delay), scaled so that direct / reverberant energy = `drr_db` (drawn 0–10 dB if None).
    Cut at rt60: past −60 dB the tail is inaudible and only costs convolution time."""
    if drr_db is None:
        drr_db = float(rng.uniform(*DRR_RANGE_DB))
    n = max(int(rt60 * sr), 2)
    start = min(int(0.002 * sr), n - 1)
    t = np.arange(n - start) / sr
    tail = rng.standard_normal(t.size) * np.exp(-6.9078 * t / rt60)
    tail *= math.sqrt(10.0 ** (-drr_db / 10.0) / max(float(np.sum(tail * tail)), 1e-30))
    h = np.zeros(n)
    h[0] = 1.0
    h[start:] = tail
    return h


def augment_speech(x: np.ndarray, aug: ChannelAugment, rng: np.random.Generator) -> np.ndarray:
    """The speaker and room side, applied to clean speech before noise is added: tilt and EQ (one sosfilt cascade),
    VTLP, then reverb (its impulse response drawn from `rng`). The result is the enhancement target.

    The output RMS equals the input RMS: absolute level is `gain_db`'s business (applied later to the pair), and a
    single gain leaves the within-utterance level contour alone. After VTLP the length is len(x)/vtlp (rounded up);
    callers crop. Reverb keeps the length (the tail past the end is cut) and the alignment (direct path first).
    A neutral augment returns an unchanged copy.
    """
    x = np.asarray(x, dtype=np.float32)
    if not aug.speech_side():
        return x.copy()
    y = x.astype(np.float64)
    sections = ([tilt_sos(aug.tilt_db)] if aug.tilt_db != 0.0 else []) + [peaking_sos(*b) for b in aug.eq_bands]
    if sections:
        y = signal.sosfilt(np.concatenate(sections), y)
    if aug.vtlp != 1.0:
        y = vtlp_resample(y, aug.vtlp)
    if aug.reverb_rt60 > 0.0:
        # float32 FFTs: twice as fast, and far more precise than the float32 output needs
        h = room_impulse_response(aug.reverb_rt60, rng).astype(np.float32)
        y = signal.fftconvolve(y.astype(np.float32), h)[:y.size].astype(np.float64)
    r_in, r_out = rms(x), rms(y)
    if r_out > 0:
        y *= r_in / r_out
    return y.astype(np.float32)


# ---------------------------------------------------------------- line side
def mulaw_roundtrip(x: np.ndarray, mu: float = MU) -> np.ndarray:
    """μ-law compress, quantise to 8-bit codes (sign + 127 levels, zero exact), expand. Input clipped to ±1 first,
    as a codec's ADC would."""
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / math.log1p(mu)
    y = np.round(y * 127.0) / 127.0
    return np.sign(y) * np.expm1(np.abs(y) * math.log1p(mu)) / mu


def alaw_roundtrip(x: np.ndarray, a: float = A_LAW) -> np.ndarray:
    """A-law compress (linear below 1/A, logarithmic above), quantise to 8-bit codes, expand."""
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    ax = np.abs(x)
    k = 1.0 + math.log(a)
    y = np.where(ax < 1.0 / a, a * ax / k, (1.0 + np.log(np.maximum(a * ax, 1.0))) / k)
    y = np.round(y * 127.0) / 127.0
    out = np.where(y < 1.0 / k, y * k / a, np.exp(y * k - 1.0) / a)
    return np.sign(x) * out


_TEL_SOS = signal.butter(4, TELEPHONE_BAND_HZ, "bandpass", fs=TELEPHONE_SR, output="sos")


def telephone(x: np.ndarray, law: str) -> np.ndarray:
    """16 kHz → 8 kHz, 300–3400 Hz band-pass (4th-order Butterworth, causal), G.711 `law` round trip, → 16 kHz.
    Along the last axis (a stacked (clean, noisy) pair goes through in one call); same length out. Deterministic and
    sample-wise identical for identical inputs, so an aligned pair stays aligned."""
    if law not in ("mulaw", "alaw"):
        raise ValueError(f"unknown telephone law {law!r}; expected 'mulaw' or 'alaw'")
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    y = _resample(x, 1, 2)
    y = signal.sosfilt(_TEL_SOS, y, axis=-1)
    y = mulaw_roundtrip(y) if law == "mulaw" else alaw_roundtrip(y)
    return _resample(y, 2, 1)[..., :n]  # 2·ceil(n/2) ≥ n samples


def augment_channel(clean: np.ndarray, noisy: np.ndarray, aug: ChannelAugment) -> tuple[np.ndarray, np.ndarray]:
    """The line side, applied after mixing to the aligned (clean, noisy) pair: telephone on both, then `gain_db` on
    both (one factor; scaled down together if the noisy peak would pass 0.99, as `mix.mix` does), then clipping on
    noisy only at `aug.clip` × its peak after gain. The clean target is not clipped: clipping is a distortion the
    enhancer should undo. Returns float32 arrays of the input length."""
    if clean.shape != noisy.shape:
        raise ValueError(f"clean {clean.shape} and noisy {noisy.shape} differ")
    c = np.asarray(clean, dtype=np.float64)
    y = np.asarray(noisy, dtype=np.float64)
    if aug.telephone:
        c, y = telephone(np.stack([c, y]), aug.telephone)
    g = db_to_gain(aug.gain_db)
    m = float(np.max(np.abs(y))) * g if y.size else 0.0
    if m > PEAK:
        g *= PEAK / m
    c, y = c * g, y * g
    if aug.clip > 0.0 and y.size:
        t = aug.clip * float(np.max(np.abs(y)))
        y = np.clip(y, -t, t)
    return c.astype(np.float32), y.astype(np.float32)
