"""Speaker inventory of the generated corpus and its fixed split into train / dev / test / babble.

A speaker is one TTS voice: an espeak-ng accent combined with a voice variant (e.g. `en-us+m3`, `en-gb-scotland+f2`),
or a flite voice. The split goes by *variant* (the timbre: formants, pitch, breathiness): every accent of a test variant
is a test speaker and no test variant is heard in training under any accent, so test speakers are unseen. Variants
reserved for babble are never foreground speakers; babble itself is split too (train babble voices ≠ dev/test ones).

The lists are fixed (not drawn from the seed) so that the split stays the same for every corpus the project generates.
"""
from __future__ import annotations

import dataclasses
import hashlib

# Accents that accept a `+variant` suffix. Note: espeak-ng 1.51 silently ignores the variant of "en-gb+f2"; "en+f2"
# (the same British voice) honours it, hence "en" below.
ESPEAK_ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029",
                  "en-us-nyc")

# Human-sounding variants from espeak-ng-data/voices/!v. Left out on purpose: robots (robosoft*, UniRobot,
# anikaRobot), whisper*, croak, Demonic, Tweaky, fast, the klatt* test voices, zac (a child), and AnxiousAndy and
# Mr serious, whose names are emotions: they would act an emotion of their own under every class.
VARIANT_SPLIT: dict[str, tuple[str, ...]] = {
    "train": ("f1", "f2", "Alicia", "Andrea", "anika", "linda", "steph",
              "m1", "m3", "m4", "m5", "m8", "Alex", "Andy", "Diogo", "Gene", "Henrique", "Lee", "Mario", "Michael",
              "Nguyen", "adam", "antonio", "benjamin", "boris", "caleb", "ed", "edward", "gustave", "iven", "iven2",
              "john", "max", "miguel", "norbert", "paul", "robert", "grandpa"),
    "dev": ("f4", "Annie", "steph3", "m7", "Mike", "edward2", "michel", "sandro", "victor"),
    "test": ("f3", "f5", "belinda", "grandma", "steph2", "m2", "m6", "Gene2", "Jacky", "david", "iven3", "marcelo",
             "pablo", "quincy", "travis"),
}
# Every flite voice is held out of training entirely: the unseen-engine test split. The project's claim that the model
# recognises emotion in voices it never heard is measured there, on an engine whose voices (diphone kal/kal16,
# clustergen slt/awb) and signal processing the model never saw. (rms cannot act pitch: it is left out.)
UNSEEN_ENGINE_VOICES = ("flite:kal", "flite:kal16", "flite:slt", "flite:awb")
ENGINE_SPLIT = "test-engine"
# Voices heard only inside babble noise: train babble uses the first set, dev and test babble the second.
BABBLE_VOICES: dict[str, tuple[str, ...]] = {
    "train": ("espeak:en+aunty", "espeak:en-us+Denis", "espeak:en-gb-x-rp+Hugo", "espeak:en-us+kaukovalta",
              "espeak:en-029+aunty", "espeak:en-gb-scotland+Denis", "espeak:en-us-nyc+kaukovalta"),
    "dev": ("espeak:en-us+shelby", "espeak:en+iven4", "espeak:en-us-nyc+rob", "espeak:en-gb-x-gbclan+pedro",
            "espeak:en-029+shelby", "espeak:en-gb-scotland+rob"),
}
BABBLE_VOICES["test"] = BABBLE_VOICES["dev"]
SPLITS = ("train", "dev", "test")


@dataclasses.dataclass(frozen=True)
class Speaker:
    """One voice. `pitch` / `speed` are espeak-ng's -p / -s, a per-speaker default derived from the id so that two
    accents of one variant do not share exactly the same pitch and rate (emotions are then relative to these)."""
    id: str            # "espeak:en-us+m3" or "flite:slt"
    engine: str        # "espeak" or "flite"
    voice: str         # "en-us+m3" or "slt"
    pitch: int = 50
    speed: int = 170


def _stable_unit(key: str) -> float:
    """A number in [0, 1) fixed by `key` (not by Python's randomised hash)."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 2 ** 32


def speaker_from_id(sid: str) -> Speaker:
    engine, voice = sid.split(":", 1)
    if engine == "espeak":
        return Speaker(sid, engine, voice, pitch=42 + int(16 * _stable_unit(sid + "/p")),
                       speed=155 + int(30 * _stable_unit(sid + "/s")))
    if engine == "flite":
        return Speaker(sid, engine, voice)
    raise ValueError(f"unknown engine in speaker id {sid!r}")


def speakers(split: str) -> list[Speaker]:
    """All foreground speakers of a split (train / dev / test: espeak-ng; test-engine: flite), in a fixed order."""
    if split == ENGINE_SPLIT:
        return [speaker_from_id(i) for i in UNSEEN_ENGINE_VOICES]
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS + (ENGINE_SPLIT,)}")
    return [speaker_from_id(f"espeak:{a}+{v}") for v in VARIANT_SPLIT[split] for a in ESPEAK_ACCENTS]


def babble_speakers(split: str) -> list[Speaker]:
    return [speaker_from_id(i) for i in BABBLE_VOICES[split]]


def timbre(speaker_id: str) -> str:
    """What makes a speaker's voice: the variant for espeak-ng, the voice for flite (kal16 is kal)."""
    engine, voice = speaker_id.split(":", 1)
    if engine == "espeak":
        return voice.split("+", 1)[1]
    return "kal" if voice == "kal16" else voice
