"""Mixing speech with noise at an SNR measured on active speech, and the JSONL manifest format.

SNR definition (used by the generator, the MSP-Podcast loader and the tests alike):
    SNR = 10·log10( mean(clean² over active-speech samples) / mean(noise² over the whole mixture) )
where active samples come from the energy VAD `audio.active_mask` on the clean signal. Measuring speech on its active
part only means pauses do not lower the speech level and so do not make the stated SNR easier than it sounds.

Manifest: one JSON object per line,
    {"noisy": "noisy/test/test-00012_m3.wav", "clean": "clean/test/test-00012.wav", "emotion": "angry",
     "snr_db": -5.0, "noise": "music", "speaker": "espeak:en-us+m2", ...}
with paths relative to the manifest's folder. Extra keys (utt, text, noise_seen, gain_db, split, prosody) are
informative; readers must ignore keys they do not know.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from .audio import EMOTIONS, active_mask, db_to_gain

REQUIRED_KEYS = ("noisy", "clean", "emotion", "snr_db", "noise", "speaker")
# A clean (noise-free) test condition: noise "none" and this SNR, which reports print as "clean".
CLEAN_SNR_DB = 99.0
CLEAN_NOISE = "none"


def scale_noise_to_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Returns `noise` scaled so that the mixture clean + noise has `snr_db` by the definition above."""
    if noise.shape != clean.shape:
        raise ValueError(f"noise length {noise.shape} != clean length {clean.shape}")
    m = active_mask(clean)
    p_speech = float(np.mean(np.square(clean[m], dtype=np.float64))) if m.any() else 0.0
    p_noise = float(np.mean(np.square(noise, dtype=np.float64)))
    if p_speech <= 0 or p_noise <= 0:
        raise ValueError("cannot set an SNR with silent speech or silent noise")
    return (noise * math.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))).astype(np.float32)


def measure_snr(clean: np.ndarray, noisy: np.ndarray) -> float:
    """SNR of a stored pair (noise = noisy - clean), by the definition above."""
    noise = np.asarray(noisy, dtype=np.float64) - clean
    m = active_mask(clean)
    return 10 * math.log10(np.mean(np.square(clean[m], dtype=np.float64)) / max(np.mean(noise ** 2), 1e-30))


def mix(clean: np.ndarray, noise: np.ndarray, snr_db: float, gain_db: float = 0.0,
        peak: float = 0.99) -> tuple[np.ndarray, np.ndarray, float]:
    """Mixes at `snr_db`, then applies the overall mixture gain `gain_db` to both clean and noisy (the pair stays
    aligned, the SNR unchanged); if the noisy peak would exceed `peak` both are scaled down together.
    Returns (clean_out, noisy_out, applied_gain_db)."""
    n = scale_noise_to_snr(clean, noise, snr_db)
    g = db_to_gain(gain_db)
    noisy = (clean + n) * g
    m = float(np.max(np.abs(noisy)))
    if m > peak:
        g *= peak / m
    return (clean * g).astype(np.float32), ((clean + n) * g).astype(np.float32), 20 * math.log10(g)


def fit_length(noise_source: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random `n`-sample stretch of `noise_source`, looped when it is shorter."""
    if noise_source.size == 0:
        raise ValueError("empty noise")
    if noise_source.size < n:
        reps = int(math.ceil(n / noise_source.size)) + 1
        noise_source = np.tile(noise_source, reps)
    off = int(rng.integers(0, noise_source.size - n + 1))
    return noise_source[off:off + n]


def validate_record(rec: dict) -> None:
    """Raises ValueError when a manifest record breaks the format."""
    for k in REQUIRED_KEYS:
        if k not in rec:
            raise ValueError(f"manifest record lacks {k!r}: {rec}")
    if rec["emotion"] not in EMOTIONS:
        raise ValueError(f"emotion {rec['emotion']!r} not in {EMOTIONS}")
    for k in ("noisy", "clean"):
        if os.path.isabs(rec[k]):
            raise ValueError(f"{k} path must be relative to the manifest: {rec[k]}")
    if not isinstance(rec["snr_db"], (int, float)):
        raise ValueError(f"snr_db must be a number: {rec['snr_db']!r}")


def write_manifest(path: str, records: list[dict]) -> None:
    for r in records:
        validate_record(r)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, sort_keys=False) + "\n")
    os.replace(tmp, path)


def read_manifest(path: str, absolute: bool = True) -> list[dict]:
    """Reads a JSONL manifest; with `absolute`, the noisy/clean paths are resolved against the manifest's folder."""
    base = os.path.dirname(os.path.abspath(path))
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            validate_record(rec)
            if absolute:
                rec["noisy"] = os.path.join(base, rec["noisy"])
                rec["clean"] = os.path.join(base, rec["clean"])
            out.append(rec)
    return out
