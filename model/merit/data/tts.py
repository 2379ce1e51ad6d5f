"""Speech synthesis of one acted utterance: espeak-ng or flite for the words and prosody, sox for level and tilt.

All engines are run as subprocesses (nothing is downloaded); the result is float32 mono at 16 kHz.
"""
from __future__ import annotations

import io
import os
import subprocess
import tempfile
from xml.sax.saxutils import escape

import numpy as np
import soundfile as sf

from .audio import SAMPLE_RATE, active_mask
from .prosody import Prosody, espeak_ssml_values, flite_setf
from .voices import Speaker

# Headroom: espeak-ng is run at half amplitude (-a 50; at its default 100 some variants clip inside the engine) and
# every voice gets -6 dB more, so an angry +8 dB utterance still peaks well below full scale.
HEADROOM_DB = -6.0
ESPEAK_AMPLITUDE = 50
FLITE_GAIN_DB = -6.0  # flite's voices run ≈ 6 dB hotter than espeak-ng at -a 50


# espeak-ng opens an audio device at start even with --stdout (pcaudiolib -> PulseAudio client). When libpulse finds no
# runtime folder of its own (a fresh HOME without XDG_RUNTIME_DIR, or its /tmp/pulse-* target gone after a reboot) it
# names a new /tmp/pulse-XXXXXXXXXXXX with rand(), 12 draws per try and one more try per such folder already in /tmp.
# That shifts the unseeded rand() stream espeak-ng draws the breath noise of breathy variants (f3, ...) from, so the
# first utterance synthesised on such a machine came out different (call-01's agent). A server address that does not
# exist makes libpulse connect nowhere and draw nothing: the output then depends on the arguments only. Nothing here
# plays audio, so no engine needs a sound server.
NO_SOUND_SERVER = {"PULSE_SERVER": "unix:/nonexistent/pulse/native"}


def _run(cmd: list[str], stdin: bytes | None = None) -> bytes:
    r = subprocess.run(cmd, input=stdin, capture_output=True, env={**os.environ, **NO_SOUND_SERVER})
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): {r.stderr.decode(errors='replace')[:400]}")
    return r.stdout


def engine_wav(speaker: Speaker, text: str, prosody: Prosody | None) -> bytes:
    """The engine's own WAV bytes (its native rate) for `text` acted with `prosody` (None = the voice's default)."""
    if speaker.engine == "espeak":
        cmd = ["espeak-ng", "-v", speaker.voice, "-p", str(speaker.pitch), "-s", str(speaker.speed),
               "-a", str(ESPEAK_AMPLITUDE), "--stdout"]
        if prosody is None:
            return _run(cmd + [text])
        v = espeak_ssml_values(prosody)
        ssml = (f'<speak><prosody pitch="{v["pitch"]}" range="{v["range"]}" rate="{v["rate"]}">'
                f"{escape(text)}</prosody></speak>")
        return _run(cmd + ["-m", ssml])
    if speaker.engine == "flite":
        # flite cannot write WAV to a pipe (it seeks back to fix the header), so go through a temporary file
        fd, path = tempfile.mkstemp(suffix=".wav")
        os.close(fd)
        try:
            args = flite_setf(speaker.voice, prosody) if prosody is not None else []
            _run(["flite", "-voice", speaker.voice, *args, "-t", text, "-o", path])
            with open(path, "rb") as f:
                return f.read()
        finally:
            os.unlink(path)
    raise ValueError(f"unknown engine {speaker.engine!r}")


def sox_level_tilt(wav: bytes, level_db: float, tilt_db: float) -> np.ndarray:
    """Resample to 16 kHz mono, apply the high shelf above 2 kHz (`treble`) and the level (`gain`) with sox; float out.

    Float output: no clipping here, the level cue is kept exactly. `-G` is not used on purpose (it would renormalise).
    """
    effects = ["rate", "-h", str(SAMPLE_RATE), "channels", "1"]
    if tilt_db != 0.0:
        effects += ["treble", f"{tilt_db:.3f}", "2000"]
    effects += ["gain", f"{level_db:.3f}"]
    # -D: never dither (float out has more bits than the engines' 16, so sox adds none anyway; said, not assumed)
    out = _run(["sox", "-D", "-t", "wav", "-", "-t", "wav", "-e", "floating-point", "-b", "32", "-", *effects], wav)
    x, sr = sf.read(io.BytesIO(out), dtype="float32")
    assert sr == SAMPLE_RATE
    return x


def trim_silence(x: np.ndarray, keep_s: float = 0.15) -> np.ndarray:
    """Cuts leading/trailing silence down to `keep_s` seconds (engines pad unevenly; padding would be a speaker cue)."""
    m = active_mask(x, threshold_db=50.0)
    if not m.any():
        return x
    idx = np.flatnonzero(m)
    keep = int(keep_s * SAMPLE_RATE)
    return x[max(0, idx[0] - keep):min(x.size, idx[-1] + 1 + keep)]


def synthesize(speaker: Speaker, text: str, prosody: Prosody | None) -> np.ndarray:
    """One utterance, float32 16 kHz, acted with `prosody` (level and tilt included) or the voice's default."""
    wav = engine_wav(speaker, text, prosody)
    level = HEADROOM_DB + (FLITE_GAIN_DB if speaker.engine == "flite" else 0.0)
    tilt = 0.0
    if prosody is not None:
        level += prosody.level_db
        tilt = prosody.tilt_db
    return trim_silence(sox_level_tilt(wav, level, tilt)).astype(np.float32)
