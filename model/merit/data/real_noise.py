"""Recorded noise from two Debian packages: contact-centre music on hold and short instrument / ambience samples.

Why: every type in `noise.py` is synthesised, and a model trained only on synthetic noise can learn the generators'
tell-tale regularities. These recordings are real audio that a contact-centre call may carry (music on hold leaking
into a line, a radio or a television, knocks, clicks, bells, scratches in the room), shipped by Debian so that
every machine can install them by package name:

* `asterisk-moh-opsound-wav` — /usr/share/asterisk/moh/*.wav: five music-on-hold pieces, 8 kHz mono (already
  telephone band: after resampling to 16 kHz nothing lies above 4 kHz).
* `sonic-pi-samples` — /usr/share/sonic-pi/samples/*.flac: 165 short samples, 44.1 kHz, named by category
  (ambi_, bass_, bd_, drum_, elec_, glitch_, guit_, loop_, mehackit_, misc_, perc_, sn_, tabla_, vinyl_).

Seen / held-out split (fixed here, disjoint; the held-out kinds are only ever used in test conditions):

* moh: seen = the three Macroform pieces (cold_day, robot_dity, the_simplicity); held out = manolo_camp's
  morning_coffee and reno_project's system — held-out *composers*, so "unseen" means another style, not just another
  stretch of a seen piece.
* samples, by category: seen = ambi, bass, drum, elec, loop, perc, tabla; held out = bd, glitch, guit, mehackit,
  misc, sn, vinyl. Both sides have drums/percussion and tonal sounds, but the held-out side adds kinds absent from
  training: guitar, robot / phone voices and glitches, vinyl noise, animal and body sounds.

`make_real_noise` returns unit-RMS float32 at 16 kHz like the generators in `noise.py`, so `mix.mix` sets its SNR.
Decoded files are cached per path in memory (the trainer draws one clip per training example).
"""
from __future__ import annotations

import functools
import glob
import os

import numpy as np

from .audio import SAMPLE_RATE, active_rms, read_wav, rms
from .mix import fit_length

SR = SAMPLE_RATE
MOH_DIR = "/usr/share/asterisk/moh"
SAMPLES_DIR = "/usr/share/sonic-pi/samples"
PACKAGES = {"moh": "asterisk-moh-opsound-wav", "samples": "sonic-pi-samples"}
INSTALL_HINT = "apt-get install asterisk-moh-opsound-wav sonic-pi-samples (or run scripts/setup)"

REAL_SEEN = ("moh", "samples")  # noise types usable in training
REAL_UNSEEN = ("moh-heldout", "samples-heldout")  # only in test conditions
REAL_KINDS = REAL_SEEN + REAL_UNSEEN

MOH_SEEN = ("macroform-cold_day.wav", "macroform-robot_dity.wav", "macroform-the_simplicity.wav")
MOH_HELDOUT = ("manolo_camp-morning_coffee.wav", "reno_project-system.wav")
SAMPLES_SEEN = ("ambi", "bass", "drum", "elec", "loop", "perc", "tabla")
SAMPLES_HELDOUT = ("bd", "glitch", "guit", "mehackit", "misc", "sn", "vinyl")

FLOOR_DB = -40.0  # the faint floor under a sample bed, relative to the bed
BED_SOURCES = (3, 8)  # samples per bed, inclusive
BED_LEVEL_DB = 6.0  # each sample's level within ±6 dB


class RealNoiseMissing(FileNotFoundError):
    """A package's noise files are not on this machine."""


def _check_kind(kind: str) -> None:
    if kind not in REAL_KINDS:
        raise ValueError(f"unknown real noise type {kind!r}; expected one of {REAL_KINDS}")


def _missing(source: str, detail: str) -> RealNoiseMissing:
    return RealNoiseMissing(f"{detail}: the Debian package {PACKAGES[source]} is not installed; {INSTALL_HINT}")


def _category(path: str) -> str:
    return os.path.basename(path).split("_", 1)[0]


def available() -> bool:
    """True when both packages' folders are present with their files (every listed MOH piece, and samples of every
    category of the split)."""
    if not all(os.path.isfile(os.path.join(MOH_DIR, f)) for f in MOH_SEEN + MOH_HELDOUT):
        return False
    cats = {_category(p) for p in glob.glob(os.path.join(SAMPLES_DIR, "*.flac"))}
    return cats >= set(SAMPLES_SEEN + SAMPLES_HELDOUT)


@functools.lru_cache(maxsize=None)
def real_noise_files(kind: str) -> tuple[str, ...]:
    """The sorted, fixed file list of `kind` (see the split in the module docstring). Raises `RealNoiseMissing`,
    naming the package to install, when its files are absent."""
    _check_kind(kind)
    if kind.startswith("moh"):
        names = MOH_SEEN if kind == "moh" else MOH_HELDOUT
        paths = tuple(os.path.join(MOH_DIR, f) for f in names)
        absent = [p for p in paths if not os.path.isfile(p)]
        if absent:
            raise _missing("moh", f"music-on-hold files missing ({', '.join(absent)})")
        return paths
    cats = SAMPLES_SEEN if kind == "samples" else SAMPLES_HELDOUT
    paths = tuple(sorted(p for p in glob.glob(os.path.join(SAMPLES_DIR, "*.flac")) if _category(p) in cats))
    empty = [c for c in cats if not any(_category(p) == c for p in paths)]
    if empty:
        raise _missing("samples", f"no {SAMPLES_DIR}/{{{','.join(empty)}}}_*.flac files")
    return paths


@functools.lru_cache(maxsize=None)
def load(path: str) -> np.ndarray:
    """A file decoded once as float32 mono at 16 kHz; read-only, since every caller shares the cached array."""
    x = read_wav(path, expect_sr=SR)
    x.setflags(write=False)
    return x


@functools.lru_cache(maxsize=None)
def _levels(path: str) -> tuple[float, float]:
    """(RMS, active-speech-VAD RMS) of a cached file: measured once, a whole piece is millions of samples."""
    x = load(path)
    return rms(x), active_rms(x)


def _unit(x: np.ndarray) -> np.ndarray:
    r = rms(x)
    return (x / r if r > 0 else x).astype(np.float32)


def _moh(files: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """A random stretch of a random piece (looped when the piece is shorter than `n`). Pieces have fades and
    pauses; a stretch more than 20 dB below its piece's level is redrawn (a few times, then kept) so that unit RMS
    does not turn a fade-out into loud hiss."""
    path = files[int(rng.integers(len(files)))]
    x, ref = load(path), _levels(path)[0]
    for _ in range(4):
        seg = fit_length(x, n, rng)
        if rms(seg) >= 0.1 * ref:
            break
    return _unit(seg.astype(np.float64) + 1e-4 * ref * rng.standard_normal(n))


def _place(src: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`src` at a random offset within n samples, at least half of it (or half of the n samples) inside; a short
    sample is, half of the time, repeated after random gaps (0–1 s) to the end, like a loop or a rhythm."""
    out = np.zeros(n)
    size = src.size
    inside = max(1, min(size, n) // 2)
    start = int(rng.integers(-(size - inside) if size > inside else 0, n - inside + 1))
    repeat = rng.random() < 0.5
    while start < n:
        lo, hi = max(start, 0), min(start + size, n)
        if hi > lo:
            out[lo:hi] += src[lo - start:hi - start]
        if not repeat:
            break
        start += size + int(rng.uniform(0.0, 1.0) * SR)
    return out


def _bed(files: tuple[str, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """3–8 random samples of the split, each at its own level (±6 dB around unit active RMS: samples decay into
    silence, so their level is measured where they sound), placed at random offsets; plus a faint white floor
    (-40 dB) so the bed is never digitally silent between hits."""
    bed = np.zeros(n)
    for _ in range(int(rng.integers(BED_SOURCES[0], BED_SOURCES[1] + 1))):
        path = files[int(rng.integers(len(files)))]
        level = 10.0 ** (rng.uniform(-BED_LEVEL_DB, BED_LEVEL_DB) / 20.0) / max(_levels(path)[1], 1e-9)
        bed += level * _place(load(path), n, rng)
    bed = _unit(bed).astype(np.float64)
    return _unit(bed + 10.0 ** (FLOOR_DB / 20.0) * rng.standard_normal(n))


def make_real_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of recorded noise `kind` (one of REAL_KINDS) at 16 kHz, unit RMS, float32.

    moh / moh-heldout: a random stretch of a music-on-hold piece. samples / samples-heldout: a bed of 3–8 random
    samples of that split over a faint floor. Deterministic for a given `rng` state.
    """
    _check_kind(kind)
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    files = real_noise_files(kind)
    return _moh(files, n, rng) if kind.startswith("moh") else _bed(files, n, rng)
