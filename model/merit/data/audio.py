"""Small audio helpers shared by the corpus, noise, mixing and call generators.

Everything works on float32 mono numpy arrays at 16 kHz (SAMPLE_RATE). Kept free of torch so the data tools start fast.
"""
from __future__ import annotations

import math
import wave
from fractions import Fraction

import numpy as np
from scipy import signal

try:
    import soundfile as sf
except ImportError:  # e.g. a torch-only GPU image: PCM WAV files through the standard library's `wave` instead
    sf = None

SAMPLE_RATE = 16000
EMOTIONS = ("angry", "sad", "happy", "neutral")  # the paper's class order A, S, H, N


def read_wav(path, expect_sr: int | None = SAMPLE_RATE) -> np.ndarray:
    """Reads a WAV file as float32 mono; resamples to `expect_sr` when the file has another rate."""
    if sf is not None:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    else:
        x, sr = _read_pcm_wav(path)
    x = x.mean(axis=1)
    if expect_sr is not None and sr != expect_sr:
        x = resample(x, sr, expect_sr)
    return x.astype(np.float32)


def write_wav(path, x: np.ndarray, sr: int = SAMPLE_RATE, subtype: str = "PCM_16") -> None:
    """Writes mono float audio; PCM16 clips at full scale, so callers keep peaks below 1 (see `limit_peak`)."""
    if sf is not None:
        sf.write(str(path), np.asarray(x, dtype=np.float32), sr, subtype=subtype)
        return
    if subtype != "PCM_16":
        raise RuntimeError(f"writing {subtype} WAV needs the soundfile package (only PCM_16 without it)")
    pcm = np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sr)
        f.writeframes(pcm.tobytes())


def wav_frames(path) -> int:
    """The number of sample frames of a WAV file, without reading its samples."""
    if sf is not None:
        return int(sf.info(str(path)).frames)
    with wave.open(str(path), "rb") as f:
        return f.getnframes()


def _read_pcm_wav(path) -> tuple[np.ndarray, int]:
    """[frames, channels] float32 in [-1, 1) and the rate of an 8/16/24/32-bit PCM WAV (soundfile's scaling)."""
    try:
        with wave.open(str(path), "rb") as f:
            ch, width, sr, raw = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.readframes(f.getnframes())
    except wave.Error as e:
        raise RuntimeError(f"{path}: {e}; reading this WAV needs the soundfile package (PCM only without it)") from e
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    else:
        dtype = {2: "<i2", 4: "<i4"}[width]
        x = (np.frombuffer(raw, dtype).astype(np.float64) / float(1 << (8 * width - 1))).astype(np.float32)
    return x.reshape(-1, ch), sr


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (exact rational ratio, e.g. 22050 → 16000 = 320/441)."""
    if sr_in == sr_out:
        return np.asarray(x, dtype=np.float32)
    frac = Fraction(sr_out, sr_in)
    return signal.resample_poly(x, frac.numerator, frac.denominator).astype(np.float32)


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def rms_db(x: np.ndarray) -> float:
    return 20.0 * math.log10(max(rms(x), 1e-12))


def frame_energy_db(x: np.ndarray, frame: int = 320, hop: int = 160) -> np.ndarray:
    """Energy in dB of 20 ms frames with a 10 ms hop (the last partial frame is dropped)."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < frame:
        return np.full(1, 20.0 * math.log10(max(rms(x), 1e-12)))
    # A strided view instead of an index matrix: the same sums (bit for bit), without copying every sample twice.
    e = np.mean(np.lib.stride_tricks.sliding_window_view(x * x, frame)[::hop], axis=1)
    return 10.0 * np.log10(np.maximum(e, 1e-20))


def active_mask(x: np.ndarray, threshold_db: float = 40.0, frame: int = 320, hop: int = 160,
                floor_db: float = -70.0) -> np.ndarray:
    """Simple energy VAD: a sample is active when its 20 ms frame is within `threshold_db` of the loudest frame.

    Relative to the loudest frame so that the level cue of an utterance (angry loud, sad quiet) does not change which
    samples count as speech; the absolute floor keeps digital silence out. Returns a boolean mask per sample.
    """
    x = np.asarray(x)
    e = frame_energy_db(x, frame, hop)
    act_frames = (e > e.max() - threshold_db) & (e > floor_db)
    mask = np.zeros(x.size, dtype=bool)
    for i in np.flatnonzero(act_frames):
        mask[i * hop:i * hop + frame] = True
    if x.size >= frame and act_frames.size and act_frames[-1]:
        mask[(act_frames.size - 1) * hop:] = True
    return mask


def active_rms(x: np.ndarray, **vad) -> float:
    """RMS over the samples the energy VAD marks as active speech (all samples if none are)."""
    m = active_mask(x, **vad)
    return rms(x[m]) if m.any() else rms(x)


def limit_peak(x: np.ndarray, peak: float = 0.99) -> tuple[np.ndarray, float]:
    """Scales `x` down (never up) so that |x| ≤ peak; returns the scaled signal and the gain applied."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    g = peak / m if m > peak else 1.0
    return (x * g).astype(np.float32), g


def estimate_f0(x: np.ndarray, sr: int = SAMPLE_RATE, fmin: float = 60.0, fmax: float = 400.0,
                frame: int = 640, hop: int = 160, voicing: float = 0.5) -> np.ndarray:
    """Frame-wise F0 (Hz) by normalised autocorrelation; unvoiced frames are dropped.

    A plain estimator, good enough to check that acted prosody moves pitch the right way (tests, call inspection).
    Uses 40 ms frames (≥ 2 periods at 60 Hz) and parabolic interpolation of the autocorrelation peak.
    """
    x = np.asarray(x, dtype=np.float64)
    lo, hi = int(sr / fmax), int(sr / fmin)
    if x.size < frame:
        return np.zeros(0)
    act = active_mask(x, threshold_db=30.0)
    f0 = []
    win = np.hanning(frame)
    for start in range(0, x.size - frame + 1, hop):
        if not act[start + frame // 2]:
            continue
        seg = x[start:start + frame]
        seg = (seg - seg.mean()) * win
        spec = np.fft.rfft(seg, 2 * frame)
        ac = np.fft.irfft(np.abs(spec) ** 2)[:frame]
        # normalise by the window's own autocorrelation so long lags are not penalised
        wac = np.correlate(win, win, "full")[frame - 1:]
        ac = ac / np.maximum(wac, 1e-9)
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        seg_ac = ac[lo:hi]
        best = float(seg_ac.max())
        if best < voicing:
            continue
        # the first peak close to the best one: a periodic signal also peaks at 2T, 3T (octave errors)
        cand = np.flatnonzero((seg_ac >= 0.9 * best)
                              & (seg_ac >= np.roll(seg_ac, 1)) & (seg_ac >= np.roll(seg_ac, -1)))
        k = lo + int(cand[0]) if cand.size else lo + int(np.argmax(seg_ac))
        if 1 <= k < frame - 1:
            a, b, c = ac[k - 1], ac[k], ac[k + 1]
            den = a - 2 * b + c
            k = k + (0.5 * (a - c) / den if den != 0 else 0.0)
        f0.append(sr / k)
    return np.asarray(f0)


def band_energy_db(x: np.ndarray, lo: float, hi: float, sr: int = SAMPLE_RATE) -> float:
    """Mean power (dB) in [lo, hi) Hz from a Welch PSD."""
    f, p = signal.welch(x, sr, nperseg=1024)
    sel = (f >= lo) & (f < hi)
    return float(10 * np.log10(np.mean(p[sel]) + 1e-20))
