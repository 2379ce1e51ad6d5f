"""Speaker-relative emotion: the prosody summary of a stretch of speech and the running reference of one speaker.

The stream keeps, per channel, a running reference of how that speaker normally sounds (mean and spread of these
features over earlier, non-overlapping 3 s windows of the same channel) and hands the model the current window's
features beside it. The job computes both in Java (`io.meritstream.speaker`) from the audio itself, upstream of the
model; training draws references from other utterances of the same speaker. The two implementations must agree:
`merit.fixtures` writes a parity fixture from this module and the Java test checks it.

Analysis (kept cheap, ≈ 1 ms per 3 s window in Java): the 16 kHz window is low-passed with [1, 2, 1] / 4 and decimated
to 8 kHz; 25 ms frames (200 samples) every 20 ms (160), mean removed, periodic Hann window, 512-point FFT. Per frame:
level (dB of the mean power), spectral tilt (dB of the power above 2 kHz over the power below, DC left out), centroid,
and F0 from the autocorrelation (the inverse FFT of the power spectrum, divided by the window's own autocorrelation, at most
1) between 60 and 400 Hz: the shortest lag that is a local maximum within 0.85 of the best, with parabolic refinement. Active frames are within 30 dB of the loudest frame and above
-55 dBFS; voiced frames are active frames whose normalised autocorrelation peak reaches 0.45.

Features (FEATURE_NAMES, in this order), over the active / voiced frames of the stretch:
    f0 mean, std and range (10th to 90th percentile, nearest rank) in semitones re 100 Hz; f0 slope in semitones / s;
    level mean and std in dB; tilt mean in dB; centroid mean in kHz; voiced share of the active frames; voiced onsets
    per active second (a speaking-rate cue). No active frame: all zero; fewer than 5 voiced: the f0 features zero.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

SAMPLE_RATE = 16000
RATE = 8000  # analysis rate after the [1, 2, 1] / 4 decimation
FRAME = 200
HOP = 160
NFFT = 512
LAG_MIN = RATE // 400  # 400 Hz
LAG_MAX = int(math.ceil(RATE / 60.0))  # 60 Hz
VOICING_THRESHOLD = 0.45
OCTAVE_RATIO = 0.85
ACTIVE_FLOOR_DB = -55.0
ACTIVE_RANGE_DB = 30.0
TILT_SPLIT_BIN = int(2000 * NFFT / RATE)  # first bin at or above 2 kHz
MIN_VOICED_FOR_F0 = 5
FEATURE_NAMES: Tuple[str, ...] = (
    "f0_mean_st", "f0_std_st", "f0_range_st", "f0_slope_st_per_s", "level_mean_db", "level_std_db", "tilt_mean_db",
    "centroid_mean_khz", "voiced_share", "voiced_onsets_per_s")
NUM_FEATURES = len(FEATURE_NAMES)
# A window enters the reference only with at least 1 s of active and 0.3 s of voiced speech, and with a level that
# moves like speech: on the held-out calls, windows of channel noise alone (brown, crackle, music) were all "active"
# and partly "voiced", with a level std of 1.8-3.6 dB; every window with 0.7 s of speech or more had 5.6 dB or more.
MIN_ACTIVE_FRAMES = 50
MIN_VOICED_FRAMES = 15
MIN_LEVEL_STD_DB = 5.0
SEGMENT_SECONDS = 3.0  # one reference segment = one non-overlapping window of the stream
DEFAULT_HALF_LIFE_S = 300.0
VERSION = 1

_WINDOW = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)  # periodic Hann


def _window_autocorrelation() -> np.ndarray:
    r = np.fft.irfft(np.abs(np.fft.rfft(_WINDOW, NFFT)) ** 2, NFFT)
    return r / r[0]


_WINDOW_AC = _window_autocorrelation()


def decimate(x: np.ndarray) -> np.ndarray:
    """16 kHz -> 8 kHz: y[n] = (x[2n-1] + 2 x[2n] + x[2n+1]) / 4, the edge samples repeated."""
    x = np.asarray(x, np.float64)
    if x.size == 0:
        return x
    padded = np.concatenate([x[:1], x, x[-1:]])
    n = x.size // 2
    centre = 1 + 2 * np.arange(n)
    return 0.25 * padded[centre - 1] + 0.5 * padded[centre] + 0.25 * padded[centre + 1]


def frame_features(x16: np.ndarray) -> dict:
    """Per-frame analysis of 16 kHz audio: level_db, tilt_db, centroid_khz, f0_st (nan when unvoiced), active, voiced."""
    x = decimate(x16)
    n_frames = 0 if x.size < FRAME else 1 + (x.size - FRAME) // HOP
    if n_frames == 0:
        empty = np.zeros(0)
        return {"level_db": empty, "tilt_db": empty, "centroid_khz": empty, "f0_st": empty,
                "active": np.zeros(0, bool), "voiced": np.zeros(0, bool)}
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n_frames)[:, None]
    frames = x[idx]  # [F, 200]
    level_db = 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1e-10)
    centred = (frames - frames.mean(axis=1, keepdims=True)) * _WINDOW
    power = np.abs(np.fft.rfft(centred, NFFT, axis=1)) ** 2  # [F, 257]
    lo = power[:, 1:TILT_SPLIT_BIN].sum(axis=1)
    hi = power[:, TILT_SPLIT_BIN:].sum(axis=1)
    tilt_db = 10.0 * np.log10((hi + 1e-12) / (lo + 1e-12))
    freqs_khz = np.arange(power.shape[1]) * (RATE / NFFT) / 1000.0
    total = power[:, 1:].sum(axis=1)
    centroid = (power[:, 1:] * freqs_khz[1:]).sum(axis=1) / np.maximum(total, 1e-12)
    ac = np.fft.irfft(power, NFFT, axis=1)  # [F, 512]
    energy = ac[:, 0]
    lags = np.arange(LAG_MIN, LAG_MAX + 1)
    # Clipped at 1: at lags near the frame length the window correction divides by small numbers and amplifies noise.
    norm = np.minimum(
        ac[:, LAG_MIN - 1:LAG_MAX + 2] / np.maximum(energy, 1e-20)[:, None] / _WINDOW_AC[LAG_MIN - 1:LAG_MAX + 2], 1.0)
    inner = norm[:, 1:-1]  # lags LAG_MIN..LAG_MAX
    # The shortest lag that is a local maximum within OCTAVE_RATIO of the best one: a periodic signal correlates
    # almost as well at two and three periods, and the window correction favours the longer lags.
    local_max = (inner >= norm[:, :-2]) & (inner >= norm[:, 2:])
    candidate = local_max & (inner >= OCTAVE_RATIO * inner.max(axis=1, keepdims=True))
    k = np.where(candidate.any(axis=1), np.argmax(candidate, axis=1), np.argmax(inner, axis=1))
    peak = inner[np.arange(n_frames), k]
    a = norm[np.arange(n_frames), k]  # lag - 1
    c = norm[np.arange(n_frames), k + 2]  # lag + 1
    denom = a - 2 * peak + c
    delta = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
    delta = np.clip(delta, -0.5, 0.5)
    f0 = RATE / (lags[k] + delta)
    active = (level_db >= max(ACTIVE_FLOOR_DB, float(level_db.max()) - ACTIVE_RANGE_DB)) & (energy > 0)
    voiced = active & (peak >= VOICING_THRESHOLD)
    f0_st = np.where(voiced, 12.0 * np.log2(f0 / 100.0), np.nan)
    return {"level_db": level_db, "tilt_db": tilt_db, "centroid_khz": centroid, "f0_st": f0_st, "active": active,
            "voiced": voiced}


def _nearest_rank(sorted_values: np.ndarray, q: float) -> float:
    return float(sorted_values[int(math.floor(q * (sorted_values.size - 1) + 0.5))])


def summarise(ff: dict) -> Tuple[np.ndarray, int, int]:
    """Frame features -> (feature vector [NUM_FEATURES] float64, active frames, voiced frames)."""
    out = np.zeros(NUM_FEATURES)
    active, voiced = ff["active"], ff["voiced"]
    n_active, n_voiced = int(active.sum()), int(voiced.sum())
    if n_active == 0:
        return out, 0, 0
    lv = ff["level_db"][active]
    out[4], out[5] = lv.mean(), lv.std()
    out[6] = ff["tilt_db"][active].mean()
    out[7] = ff["centroid_khz"][active].mean()
    out[8] = n_voiced / n_active
    starts = voiced & ~np.concatenate([[False], voiced[:-1]])
    out[9] = int(starts.sum()) / (n_active * HOP / RATE)
    if n_voiced >= MIN_VOICED_FOR_F0:
        st = ff["f0_st"][voiced]
        t = np.flatnonzero(voiced) * (HOP / RATE)
        out[0], out[1] = st.mean(), st.std()
        s = np.sort(st)
        out[2] = _nearest_rank(s, 0.9) - _nearest_rank(s, 0.1)
        tc = t - t.mean()
        out[3] = float((tc * (st - out[0])).sum() / (tc * tc).sum())
    return out, n_active, n_voiced


def prosody(x16: np.ndarray) -> np.ndarray:
    """The feature vector of one stretch of 16 kHz speech, float64 [NUM_FEATURES]."""
    return summarise(frame_features(x16))[0]


def prosody_and_validity(x16: np.ndarray) -> Tuple[np.ndarray, bool]:
    """The features and whether the stretch holds enough speech to enter a speaker's reference."""
    vec, n_active, n_voiced = summarise(frame_features(x16))
    return vec, enough_speech(vec, n_active, n_voiced)


def enough_speech(vec: np.ndarray, n_active: int, n_voiced: int) -> bool:
    return bool(n_active >= MIN_ACTIVE_FRAMES and n_voiced >= MIN_VOICED_FRAMES and vec[5] >= MIN_LEVEL_STD_DB)


class SpeakerReference:
    """Exponentially weighted mean and standard deviation of a speaker's segment features (West's weighted update,
    each earlier segment's weight halved every `half_life_s` seconds of segments). The Java twin is
    `io.meritstream.speaker.SpeakerReference`; both must give the same numbers (parity fixture)."""

    def __init__(self, half_life_s: float = DEFAULT_HALF_LIFE_S, segment_s: float = SEGMENT_SECONDS,
                 dim: int = NUM_FEATURES):
        if half_life_s <= 0:
            raise ValueError(f"half_life_s must be > 0, got {half_life_s}")
        self.decay = 0.5 ** (segment_s / half_life_s)
        self.weight = 0.0
        self.segments = 0
        self.mean = np.zeros(dim)
        self.scatter = np.zeros(dim)

    def update(self, features: np.ndarray) -> None:
        self.weight *= self.decay
        self.scatter *= self.decay
        self.weight += 1.0
        self.segments += 1
        d = features - self.mean
        self.mean = self.mean + d / self.weight
        self.scatter = self.scatter + d * (features - self.mean)

    def std(self) -> np.ndarray:
        if self.weight <= 0:
            return np.zeros_like(self.mean)
        return np.sqrt(np.maximum(self.scatter / self.weight, 0.0))

    def model_inputs(self) -> Tuple[np.ndarray, float]:
        """(speaker_ref [2 * NUM_FEATURES] = mean then std, speaker_ref_weight); weight 0 = no reference."""
        return np.concatenate([self.mean, self.std()]).astype(np.float32), float(self.weight)


def reference_inputs(segments: Sequence[np.ndarray], half_life_s: float = DEFAULT_HALF_LIFE_S
                     ) -> Tuple[np.ndarray, float]:
    """The model inputs of a reference built from `segments` in order (none: zeros and weight 0)."""
    ref = SpeakerReference(half_life_s)
    for s in segments:
        ref.update(np.asarray(s, np.float64))
    return ref.model_inputs()


def no_reference(dim: int = NUM_FEATURES) -> Tuple[np.ndarray, float]:
    return np.zeros(2 * dim, np.float32), 0.0


def references_for(items: Sequence[dict], vectors: np.ndarray, valid: np.ndarray, n: int, seed: int,
                   only_emotion: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Utterance-level evaluation with references: for each item, a reference of `n` random other items of the same
    `speaker` (seeded; never an item of the same utterance, so no mixture of the item itself), from those whose
    features are `valid`; `only_emotion` restricts them to one emotion (the skewed-reference check). -> speaker_ref
    [len, 2P] float32 and weights [len] float32 (0 where the speaker has no other usable item or n is 0)."""
    refs = np.zeros((len(items), 2 * vectors.shape[1]), np.float32)
    weights = np.zeros(len(items), np.float32)
    if n <= 0:
        return refs, weights
    by_speaker: dict = {}
    for j, it in enumerate(items):
        if valid[j] and (only_emotion is None or it.get("emotion") == only_emotion):
            by_speaker.setdefault(it.get("speaker"), []).append(j)
    for i, it in enumerate(items):
        pool = [j for j in by_speaker.get(it.get("speaker"), []) if items[j].get("utt") != it.get("utt")]
        if not pool:
            continue
        rng = np.random.default_rng([seed, i])
        pick = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
        refs[i], weights[i] = reference_inputs([vectors[pool[k]] for k in pick])
    return refs, weights


def feature_scale(vectors: np.ndarray) -> Tuple[list, list]:
    """Per-feature mean and 1 / std of a set of training vectors (kept inside the graph to bring inputs to ~unit
    range); a feature that never varies gets scale 1."""
    v = np.asarray(vectors, np.float64)
    std = v.std(axis=0)
    return [round(float(m), 6) for m in v.mean(axis=0)], [round(1.0 / s if s > 1e-6 else 1.0, 6) for s in std]

