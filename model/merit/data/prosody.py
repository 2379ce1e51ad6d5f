"""The emotion-as-prosody table of shared/DATA.md and how each engine is driven to act it.

Every value is relative to the voice's own default: pitch mean / pitch range / rate as fractions (+0.20 = +20 %), level
and spectral tilt in dB (tilt = a high shelf above 2 kHz). Each utterance draws its values uniformly inside its class's
ranges so that no single cue decides the class.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

# (low, high) per cue; the table of DATA.md. Tilt of neutral is exactly 0, of happy exactly +2 dB.
PROSODY_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "neutral": {"pitch": (-0.05, 0.05), "range": (-0.10, 0.10), "rate": (-0.05, 0.05), "level_db": (-1.0, 1.0),
                "tilt_db": (0.0, 0.0)},
    "happy": {"pitch": (0.20, 0.35), "range": (0.50, 0.90), "rate": (0.05, 0.15), "level_db": (1.0, 3.0),
              "tilt_db": (2.0, 2.0)},
    "angry": {"pitch": (0.05, 0.15), "range": (0.20, 0.40), "rate": (0.10, 0.25), "level_db": (5.0, 8.0),
              "tilt_db": (5.0, 8.0)},
    "sad": {"pitch": (-0.20, -0.10), "range": (-0.60, -0.40), "rate": (-0.30, -0.15), "level_db": (-7.0, -4.0),
            "tilt_db": (-8.0, -5.0)},
}
CUES = ("pitch", "range", "rate", "level_db", "tilt_db")


@dataclasses.dataclass(frozen=True)
class Prosody:
    emotion: str
    pitch: float      # relative change of the mean F0
    range: float      # relative change of the F0 range
    rate: float       # relative change of the speaking rate (+ = faster)
    level_db: float   # gain relative to the voice's default level
    tilt_db: float    # high-shelf gain above 2 kHz

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def sample_prosody(emotion: str, rng: np.random.Generator, strength: float = 1.0) -> Prosody:
    """Draws each cue uniformly in its class range. `strength` in (0, 1] draws from the upper `strength` fraction of
    each range measured away from neutral (1 = the whole range); the call generator uses it for a clearly acted angry
    stretch, the corpus always uses 1."""
    if emotion not in PROSODY_TABLE:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {sorted(PROSODY_TABLE)}")
    vals = {}
    for cue in CUES:
        lo, hi = PROSODY_TABLE[emotion][cue]
        if strength < 1.0 and emotion != "neutral":
            # the end of the range farther from 0 is the stronger one
            far, near = (hi, lo) if abs(hi) >= abs(lo) else (lo, hi)
            near = far + (near - far) * strength
            lo, hi = min(far, near), max(far, near)
        vals[cue] = float(rng.uniform(lo, hi)) if hi > lo else float(lo)
    return Prosody(emotion=emotion, **vals)


# espeak-ng SSML <prosody pitch="+x%"> does not move the mean F0 by x %: measured here with merit.data.audio.estimate_f0
# on en-us+m3, en+f2 and en-gb-scotland+m1 (the three agree within 1 %), the mean F0 moves by these factors:
_ESPEAK_PITCH_PCT = np.array([-40.0, -20.0, 0.0, 20.0, 40.0, 70.0])
_ESPEAK_PITCH_MULT = np.array([0.835, 0.909, 1.0, 1.103, 1.222, 1.432])
# and <prosody range="+y%"> changes the F0 range by ≈ y % (capped at +100 %) but also lifts the mean by ≈ 0.123·y.
_ESPEAK_RANGE_MEAN_SLOPE = 0.123


def espeak_ssml_values(p: Prosody) -> dict[str, str]:
    """SSML prosody attribute values that make espeak-ng act `p` (pitch, range, rate; level and tilt go to sox)."""
    want_mult = (1.0 + p.pitch) / (1.0 + _ESPEAK_RANGE_MEAN_SLOPE * p.range)
    pct = float(np.interp(math.log(want_mult), np.log(_ESPEAK_PITCH_MULT), _ESPEAK_PITCH_PCT))
    return {"pitch": f"{pct:+.1f}%", "range": f"{100 * p.range:+.1f}%", "rate": f"{100 * p.rate:+.1f}%"}


# flite's own defaults: kal/kal16 set int_f0_target_mean 95, stddev 11 and duration_stretch 1.1 in their voice
# registration; the clustergen voices (awb, slt, rms) carry f0_mean / f0_stddev in their cg_db struct, read here from
# the Debian libraries (libflite_cmu_us_*.so.2.2): slt 172/27, awb 132/25, rms 98/24. rms ignores both F0 settings
# (only duration_stretch works), so it cannot act pitch and is used only inside babble noise, never as a speaker.
FLITE_DEFAULTS = {
    "kal": {"f0_mean": 95.0, "f0_stddev": 11.0, "duration_stretch": 1.1},
    "kal16": {"f0_mean": 95.0, "f0_stddev": 11.0, "duration_stretch": 1.1},
    "awb": {"f0_mean": 132.0, "f0_stddev": 25.0, "duration_stretch": 1.0},
    "slt": {"f0_mean": 172.0, "f0_stddev": 27.0, "duration_stretch": 1.0},
    "rms": {"f0_mean": 98.0, "f0_stddev": 24.0, "duration_stretch": 1.0},
}


def flite_setf(voice: str, p: Prosody) -> list[str]:
    """`--setf` arguments that make flite act `p` relative to `voice`'s defaults."""
    d = FLITE_DEFAULTS[voice]
    return ["--setf", f"int_f0_target_mean={d['f0_mean'] * (1 + p.pitch):.2f}",
            "--setf", f"int_f0_target_stddev={d['f0_stddev'] * (1 + p.range):.2f}",
            "--setf", f"duration_stretch={d['duration_stretch'] / (1 + p.rate):.4f}"]
