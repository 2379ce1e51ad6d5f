"""Real recorded human speech: the Asterisk PBX prompts of Debian's `asterisk-core-sounds-en-wav` (one professional
voice, 8 kHz telephone recordings, calm announcements).

They are the only real speech the project trains on: as clean targets for the enhancer, as neutral emotion examples
(a calm prompt voice is what a neutral agent sounds like), and — held out — as the false-positive check on real human
neutral speech (the share of windows called angry or sad). The split is fixed by file name, so it never depends on a
seed: every fifth prompt in sorted order is held out. Single words (digits/, letters/, phonetic/), silence and
non-speech tones are left out.
"""
from __future__ import annotations

import functools
import glob
import os

import numpy as np

from .audio import read_wav

# The package installs the prompts under en_US_f_Allison; the `en` link to them comes from asterisk-core-sounds-en,
# which is only recommended (scripts/setup installs without recommends), so look in both.
SOUNDS_DIRS = ("/usr/share/asterisk/sounds/en", "/usr/share/asterisk/sounds/en_US_f_Allison")
PACKAGE = "asterisk-core-sounds-en-wav"
SPEAKER_ID = "human:asterisk"
SPLITS = ("train", "heldout")
# Prompts that are tones, jingles or animal noises rather than speech.
NOT_SPEECH = frozenset({"beep", "beeperr", "ascending-2tone", "descending-2tone", "spy-jingle", "tt-monkeys"})
MIN_SECONDS = 1.0
HELDOUT_EVERY = 5


def sounds_dir() -> str | None:
    """The first of SOUNDS_DIRS that holds prompts, or None."""
    for d in SOUNDS_DIRS:
        if os.path.isdir(d) and glob.glob(os.path.join(d, "*.wav")):
            return d
    return None


def available() -> bool:
    return sounds_dir() is not None


@functools.lru_cache(maxsize=None)
def _prompts() -> tuple[str, ...]:
    sounds = sounds_dir()
    if sounds is None:
        raise FileNotFoundError(f"no Asterisk prompts under {' or '.join(SOUNDS_DIRS)}: install {PACKAGE}"
                                " (scripts/setup does)")
    import soundfile as sf

    files = sorted(glob.glob(os.path.join(sounds, "*.wav")) + glob.glob(os.path.join(sounds, "followme", "*.wav"))
                   + glob.glob(os.path.join(sounds, "dictate", "*.wav")))
    keep = [f for f in files if os.path.splitext(os.path.basename(f))[0] not in NOT_SPEECH
            and sf.info(f).duration >= MIN_SECONDS]
    return tuple(keep)


def human_files(split: str) -> tuple[str, ...]:
    """The prompt files of `split` ("train" or "heldout"), in a fixed order."""
    if split not in SPLITS:
        raise ValueError(f"unknown human speech split {split!r}; expected one of {SPLITS}")
    files = _prompts()
    held = split == "heldout"
    return tuple(f for i, f in enumerate(files) if (i % HELDOUT_EVERY == HELDOUT_EVERY - 1) == held)


def load_prompt(path: str) -> np.ndarray:
    """16 kHz float32 (resampled from the 8 kHz recording: nothing above 4 kHz, like a telephone line)."""
    return read_wav(path)
