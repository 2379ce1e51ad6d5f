"""Generated noise only: nine types, each a function of (length, rng) returning float32 at 16 kHz with unit RMS.

Seen / unseen split (fixed): training and dev mixtures use only SEEN_NOISE; the test split mixes every utterance with a
seen and with an unseen type. Unseen types differ in kind from every seen one: a steeper coloured noise (brown),
impulsive noise (crackle) and harmonic, musical structure (music).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import signal

from .audio import SAMPLE_RATE, rms

SEEN_NOISE = ("white", "pink", "babble", "hum", "tones", "engine")
UNSEEN_NOISE = ("brown", "crackle", "music")
NOISE_TYPES = SEEN_NOISE + UNSEEN_NOISE
SR = SAMPLE_RATE


def _unit(x: np.ndarray) -> np.ndarray:
    r = rms(x)
    return (x / r if r > 0 else x).astype(np.float32)


def coloured(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise with power spectral density ∝ 1/f^exponent (0 white, 1 pink = -3 dB/octave, 2 brown = -6 dB/octave).

    Shaped in the frequency domain; below 20 Hz the gain is held at its 20 Hz value so brown noise does not drift.
    """
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec *= np.maximum(f, 20.0) ** (-exponent / 2)
    spec[0] = 0
    return _unit(np.fft.irfft(spec, n))


def white(n, rng):
    return _unit(rng.standard_normal(n))


def pink(n, rng):
    return coloured(n, rng, 1.0)


def brown(n, rng):
    return coloured(n, rng, 2.0)


def hum(n, rng, mains: float | None = None):
    """Mains hum: 50 or 60 Hz with harmonics (odd ones stronger, as from a transformer / ground loop), a slow level
    wobble and a faint hiss floor."""
    f0 = mains if mains is not None else float(rng.choice([50.0, 60.0]))
    t = np.arange(n) / SR
    x = np.zeros(n)
    for k in range(1, 16):
        if f0 * k > 4000:
            break
        a = rng.uniform(0.5, 1.0) / k ** rng.uniform(0.6, 1.2) * (1.0 if k % 2 else 0.4)
        x += a * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
    x *= 1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
    return _unit(x + 0.01 * rng.standard_normal(n))


def crackle(n, rng):
    """Telephone-line crackle: Poisson bursts of short decaying noise (0.3–4 ms) with heavy-tailed amplitudes,
    sharper clicks, clusters where the line is worst, and a faint band-limited hiss."""
    x = np.zeros(n)
    rate = rng.uniform(40, 150)  # events per second
    times = rng.uniform(0, n, size=rng.poisson(rate * n / SR))
    # clusters: a few dense stretches
    for _ in range(rng.poisson(n / SR / 3)):
        c = rng.uniform(0, n)
        times = np.concatenate([times, c + rng.normal(0, 0.05 * SR, size=rng.integers(10, 40))])
    for t0 in times.astype(int):
        if not 0 <= t0 < n:
            continue
        length = int(rng.uniform(0.0003, 0.004) * SR) + 1
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / max(1, length / 4))
        amp = min(rng.pareto(2.5) + 0.2, 3.0)  # capped: a handful of huge spikes would decide the mixture's peak
        end = min(n, t0 + length)
        x[t0:end] += amp * burst[:end - t0]
    # clicks: single-sample steps through a high-pass, like switching transients
    for t0 in rng.integers(0, n, size=rng.poisson(2 * n / SR)):
        x[t0] += rng.choice([-1, 1]) * rng.uniform(2, 4)
    b, a = signal.butter(2, 200 / (SR / 2), "high")
    x = signal.lfilter(b, a, x)
    b, a = signal.butter(4, [300 / (SR / 2), 3400 / (SR / 2)], "band")
    hiss = signal.lfilter(b, a, rng.standard_normal(n)) * 0.25
    return _unit(x + hiss)


def _gate(n, on_s, off_s, rng):
    period = int((on_s + off_s) * SR)
    phase = rng.integers(0, period)
    return (((np.arange(n) + phase) % period) < int(on_s * SR)).astype(float)


def tones(n, rng, kinds=None):
    """Modulated tones and rings: one or two of ringback (440+480 Hz, 2 s on / 4 s off), busy (480+620 Hz, 0.5/0.5),
    a trilling phone bell (two tones amplitude-modulated at 20 Hz), a siren-like FM sweep, DTMF-like beeps; plus hiss so
    the gaps are not digital silence."""
    t = np.arange(n) / SR
    x = np.zeros(n)
    if kinds is None:
        kinds = rng.choice(["ringback", "busy", "bell", "siren", "dtmf"], size=rng.integers(1, 3), replace=False)
    for k in kinds:
        if k == "ringback":
            y = (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)) * _gate(n, 2.0, 4.0, rng)
            y += 0.3 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t))  # leak between rings
        elif k == "busy":
            y = (np.sin(2 * np.pi * 480 * t) + np.sin(2 * np.pi * 620 * t)) * _gate(n, 0.5, 0.5, rng)
        elif k == "bell":
            f1 = rng.uniform(900, 1300)
            trill = 0.5 * (1 + np.sign(np.sin(2 * np.pi * 20 * t)))
            y = (np.sin(2 * np.pi * f1 * t) + 0.7 * np.sin(2 * np.pi * 1.25 * f1 * t)) * trill
            y *= _gate(n, 0.4, 0.2, rng) * np.maximum(_gate(n, 1.2, 1.8, rng), 0.2)
        elif k == "siren":
            fc, dev, fm = rng.uniform(600, 1000), rng.uniform(150, 400), rng.uniform(0.3, 2.0)
            phase = 2 * np.pi * np.cumsum(fc + dev * np.sin(2 * np.pi * fm * t)) / SR
            y = np.sin(phase)
        else:  # dtmf
            lows, highs = [697, 770, 852, 941], [1209, 1336, 1477]
            y = np.zeros(n)
            pos = 0
            while pos < n:
                length = int(rng.uniform(0.08, 0.2) * SR)
                end = min(n, pos + length)
                tt = t[pos:end]
                y[pos:end] = np.sin(2 * np.pi * rng.choice(lows) * tt) + np.sin(2 * np.pi * rng.choice(highs) * tt)
                pos = end + int(rng.uniform(0.05, 0.6) * SR)
        x += rng.uniform(0.5, 1.0) * y
    return _unit(x + 0.02 * rng.standard_normal(n))


def engine(n, rng):
    """Engine-like rumble: a firing frequency (25–60 Hz) with harmonics, low-passed brown noise below ≈ 250 Hz, all
    amplitude-modulated at 0.5–4 Hz (load / rev changes)."""
    t = np.arange(n) / SR
    fe = rng.uniform(25, 60) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t))
    phase = 2 * np.pi * np.cumsum(fe) / SR
    x = sum(rng.uniform(0.3, 1.0) / k * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k in range(1, 9))
    b, a = signal.butter(4, rng.uniform(180, 300) / (SR / 2), "low")
    rumble = signal.lfilter(b, a, brown(n, rng))
    y = x / rms(x) + rng.uniform(0.5, 1.5) * rumble / max(rms(rumble), 1e-9)
    am = 1 + rng.uniform(0.3, 0.7) * np.sin(2 * np.pi * rng.uniform(0.5, 4.0) * t + rng.uniform(0, 2 * np.pi))
    return _unit(y * am + 0.01 * rng.standard_normal(n))


def music(n, rng):
    """Music-like chords: a progression of triads / sevenths (0.5–2 s each) from a random key, each note an additive
    tone with decaying harmonics under an attack-decay envelope, a bass note an octave below, and a simple melody."""
    t_all = np.arange(n) / SR
    x = np.zeros(n)
    key = rng.integers(45, 57)  # MIDI note of the tonic, A2..G#3
    degrees = [0, 5, 7, 9, 2, 4]  # I IV V vi ii iii (in semitones from the tonic)
    minor = {9, 2, 4}
    hz = lambda m: 440.0 * 2 ** ((m - 69) / 12)  # noqa: E731

    def note(freq, length, amp):
        tt = np.arange(length) / SR
        env = np.minimum(1.0, tt / 0.01) * np.exp(-tt / rng.uniform(0.3, 1.2))
        nh = max(1, min(8, int(3500 / freq)))
        return amp * env * sum(np.sin(2 * np.pi * freq * h * tt) / h ** 1.5 for h in range(1, nh + 1))

    pos = 0
    while pos < n:
        length = int(rng.uniform(0.5, 2.0) * SR)
        end = min(n, pos + length)
        root = key + int(rng.choice(degrees))
        third = 3 if (root - key) % 12 in minor else 4
        chord = [root, root + third, root + 7] + ([root + 10] if rng.random() < 0.3 else [])
        for m in chord:
            x[pos:end] += note(hz(m + 12), end - pos, 0.3)
        x[pos:end] += note(hz(root - 12 + 12), end - pos, 0.5)  # bass
        # melody: a few notes of the chord's scale above it
        mpos = pos
        while mpos < end:
            mlen = min(end - mpos, int(rng.choice([0.125, 0.25, 0.5]) * SR))
            x[mpos:mpos + mlen] += note(hz(root + 24 + int(rng.choice([0, 2, 4, 7, 9]))), mlen, 0.25)
            mpos += mlen
        pos = end
    del t_all
    return _unit(x + 0.003 * rng.standard_normal(n))


# ---------------------------------------------------------------- babble
BABBLE_POOL_SIZE = 32


def _pool_key(split: str) -> str:
    """Train babble has its own voices and texts; dev and test share the held-out pool."""
    return "train" if split == "train" else "heldout"


@functools.lru_cache(maxsize=None)
def babble_pool(split: str) -> tuple[tuple[str, str, str], ...]:
    """The fixed list of (speaker id, emotion, text) utterances babble is built from for `split` (fixed seed: the
    same pool in every corpus, so any process can synthesise an item and cache it without breaking determinism)."""
    from .audio import EMOTIONS
    from .sentences import texts
    from .voices import BABBLE_VOICES
    key = _pool_key(split)
    rng = np.random.default_rng(12345 if key == "train" else 54321)
    voices_ = BABBLE_VOICES["train" if key == "train" else "test"]
    pool_texts = texts("train" if key == "train" else "dev")
    return tuple((voices_[i % len(voices_)], str(rng.choice(EMOTIONS)), str(rng.choice(pool_texts)))
                 for i in range(BABBLE_POOL_SIZE))


_BABBLE_CACHE: dict[tuple[str, int], np.ndarray] = {}


def _synth_babble_item(key: str, index: int) -> np.ndarray:
    from .prosody import sample_prosody
    from .tts import synthesize
    from .voices import speaker_from_id
    sid, emo, text = babble_pool("train" if key == "train" else "test")[index]
    p = sample_prosody(emo, np.random.default_rng(index))
    return synthesize(speaker_from_id(sid), text, p)


def _babble_item(split: str, index: int) -> np.ndarray:
    key = _pool_key(split)
    if (key, index) not in _BABBLE_CACHE:
        _BABBLE_CACHE[(key, index)] = _synth_babble_item(key, index)
    return _BABBLE_CACHE[(key, index)]


def _synth_star(a):
    return a, _synth_babble_item(*a)


def prewarm_babble(splits, workers: int = 1) -> None:
    """Synthesises the babble pools of `splits` now (in parallel with `workers` processes), so that processes forked
    afterwards inherit them instead of each synthesising the same utterances again."""
    todo = [(k, i) for k in sorted({_pool_key(s) for s in splits}) for i in range(BABBLE_POOL_SIZE)
            if (k, i) not in _BABBLE_CACHE]
    if not todo:
        return
    if workers <= 1:
        for a in todo:
            _BABBLE_CACHE[a] = _synth_babble_item(*a)
        return
    import multiprocessing as mp
    with mp.get_context("fork").Pool(workers) as pool:
        for a, x in pool.imap_unordered(_synth_star, todo, chunksize=4):
            _BABBLE_CACHE[a] = x


def babble(n, rng, split: str = "train"):
    """Babble: 4–8 talkers of voices reserved for babble (never foreground speakers), each a stream of utterances
    with short pauses from a random start, at random levels within ±3 dB, all overlapped."""
    x = np.zeros(n)
    pool = babble_pool(split)
    for _ in range(int(rng.integers(4, 9))):
        stream = []
        total = 0
        while total < n + SR:
            item = _babble_item(split, int(rng.integers(len(pool))))
            gap = np.zeros(int(rng.uniform(0.05, 0.4) * SR))
            stream += [item, gap]
            total += item.size + gap.size
        s = np.concatenate(stream)
        off = int(rng.integers(0, s.size - n + 1))
        seg = s[off:off + n]
        x += 10 ** (rng.uniform(-3, 3) / 20) * seg / max(rms(seg), 1e-9)
    return _unit(x + 1e-4 * rng.standard_normal(n))


GENERATORS = {"white": white, "pink": pink, "brown": brown, "babble": babble, "hum": hum, "crackle": crackle,
              "tones": tones, "engine": engine, "music": music}


def seen_noise() -> tuple[str, ...]:
    """Every type training may use: the generated seen ones, plus the recorded ones when their packages are there."""
    from . import real_noise

    return SEEN_NOISE + (real_noise.REAL_SEEN if real_noise.available() else ())


def unseen_noise() -> tuple[str, ...]:
    """Every type kept for test conditions only."""
    from . import real_noise

    return UNSEEN_NOISE + (real_noise.REAL_UNSEEN if real_noise.available() else ())


def make_noise(kind: str, n: int, rng: np.random.Generator, split: str = "train") -> np.ndarray:
    """`n` samples of noise type `kind` at unit RMS; `split` picks babble's voices (train vs dev/test). The recorded
    types of `merit.data.real_noise` (music on hold, instrument samples) are served here too."""
    from . import real_noise

    if kind in real_noise.REAL_SEEN + real_noise.REAL_UNSEEN:
        return real_noise.make_real_noise(kind, n, rng)
    if kind not in GENERATORS:
        raise ValueError(f"unknown noise type {kind!r}; expected one of "
                         f"{NOISE_TYPES + real_noise.REAL_SEEN + real_noise.REAL_UNSEEN}")
    if kind == "babble":
        return babble(n, rng, split)
    return GENERATORS[kind](n, rng)
