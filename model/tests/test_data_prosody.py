"""Acted prosody: sampled values stay inside DATA.md's table, and the engines really act them (measured on audio)."""
import numpy as np
import pytest

from merit.data import audio, prosody, tts
from merit.data.voices import speaker_from_id

TEXT = "I can see that your last payment arrived on Monday, so the late fee should not have been charged."


@pytest.mark.parametrize("emotion", sorted(prosody.PROSODY_TABLE))
@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_sampled_prosody_inside_class_ranges(emotion, strength):
    rng = np.random.default_rng(0)
    draws = [prosody.sample_prosody(emotion, rng, strength) for _ in range(300)]
    for cue in prosody.CUES:
        lo, hi = prosody.PROSODY_TABLE[emotion][cue]
        vals = np.array([getattr(d, cue) for d in draws])
        assert vals.min() >= lo - 1e-12 and vals.max() <= hi + 1e-12, cue
        if hi > lo and strength == 1.0:
            # jitter really covers the range (no constant): both halves of the range are used
            mid = (lo + hi) / 2
            assert (vals < mid).any() and (vals > mid).any(), cue
    assert all(d.emotion == emotion for d in draws)


def test_strength_draws_from_the_far_end_of_each_range():
    rng = np.random.default_rng(1)
    for _ in range(100):
        p = prosody.sample_prosody("sad", rng, strength=0.3)
        assert p.pitch <= -0.17 + 1e-9 and p.level_db <= -6.1 + 1e-9 and p.rate <= -0.255 + 1e-9


def test_unknown_emotion_is_rejected():
    with pytest.raises(ValueError, match="unknown emotion"):
        prosody.sample_prosody("bored", np.random.default_rng(0))


def test_espeak_pitch_mapping_is_monotonic_and_compensates_range():
    vals = [float(prosody.espeak_ssml_values(prosody.Prosody("x", p, 0.0, 0.0, 0, 0))["pitch"][:-1])
            for p in (-0.2, -0.1, 0.0, 0.1, 0.35)]
    assert vals == sorted(vals) and abs(vals[2]) < 0.05
    wide = float(prosody.espeak_ssml_values(prosody.Prosody("x", 0.2, 0.9, 0.0, 0, 0))["pitch"][:-1])
    narrow = float(prosody.espeak_ssml_values(prosody.Prosody("x", 0.2, 0.0, 0.0, 0, 0))["pitch"][:-1])
    assert wide < narrow  # a wider range already lifts the mean, so less pitch is asked for


def _acted(sid, emotion, seed=0):
    p = prosody.sample_prosody(emotion, np.random.default_rng(seed), strength=1.0)
    return tts.synthesize(speaker_from_id(sid), TEXT, p)


@pytest.mark.parametrize("sid", ["espeak:en-us+m3", "flite:slt"])
def test_engines_act_the_classes(sid):
    """Measured on the audio, relative to the same voice's neutral: happy higher and wider pitch, sad lower, slower and
    quieter, angry louder with more energy above 2 kHz. The margins are the table's minima less estimator slack."""
    x = {e: _acted(sid, e) for e in ("neutral", "happy", "angry", "sad")}
    f0 = {e: audio.estimate_f0(v) for e, v in x.items()}
    med = {e: float(np.median(f)) for e, f in f0.items()}
    spread = {e: float(np.percentile(f, 90) - np.percentile(f, 10)) for e, f in f0.items()}
    level = {e: audio.active_rms(v) for e, v in x.items()}
    tilt = {e: audio.band_energy_db(v, 2000, 8000) - audio.band_energy_db(v, 100, 2000) for e, v in x.items()}
    assert med["happy"] > 1.12 * med["neutral"]
    assert spread["happy"] > 1.25 * spread["neutral"]
    assert med["sad"] < 0.95 * med["neutral"]
    assert spread["sad"] < 0.8 * spread["neutral"]
    assert x["sad"].size > 1.1 * x["neutral"].size          # slower
    assert x["angry"].size < x["neutral"].size               # faster
    assert 20 * np.log10(level["angry"] / level["neutral"]) > 3.5
    assert 20 * np.log10(level["sad"] / level["neutral"]) < -2.5
    assert tilt["angry"] - tilt["neutral"] > 2.5
    # lower pitch by itself adds ≈ 2 dB above 2 kHz with flite's vocoder, so sad's -5…-8 dB shelf shows up smaller
    assert tilt["sad"] - tilt["neutral"] < -1.0


@pytest.mark.parametrize("tilt_db,level_db", [(6.0, 0.0), (-7.0, -5.0), (0.0, 7.5)])
def test_sox_shelf_and_gain_do_what_is_asked(tilt_db, level_db):
    """The tilt control itself: on white noise, the band well above 2 kHz moves by the shelf gain, the band well below
    it by the level only."""
    import io
    import soundfile as sf
    x = np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.05
    buf = io.BytesIO()
    sf.write(buf, x, 16000, format="WAV", subtype="FLOAT")
    y = tts.sox_level_tilt(buf.getvalue(), level_db, tilt_db)
    low = audio.band_energy_db(y, 100, 800) - audio.band_energy_db(x, 100, 800)
    high = audio.band_energy_db(y, 4500, 7000) - audio.band_energy_db(x, 4500, 7000)
    assert abs(low - level_db) < 1.0
    assert abs(high - (level_db + tilt_db)) < 1.0


@pytest.mark.parametrize("sid", ["espeak:en-gb-scotland+f2", "espeak:en-029+Andy", "flite:kal16", "flite:awb"])
def test_synthesised_utterance_is_16k_non_silent_and_unclipped(sid):
    x = _acted(sid, "angry", seed=3)
    assert x.dtype == np.float32 and x.ndim == 1
    assert 1.0 < x.size / audio.SAMPLE_RATE < 15.0
    assert audio.rms_db(x) > -45.0                 # speech, not silence
    assert np.abs(x).max() < 1.0                   # headroom kept even for angry +8 dB
    assert audio.active_mask(x).mean() > 0.5       # silence trimmed: mostly speech
    assert audio.estimate_f0(x).size > 50          # voiced frames present


@pytest.mark.parametrize("voice", ["kal", "awb", "slt"])
def test_flite_default_table_matches_the_engine(voice):
    """Asking flite for the tabulated default F0 mean must sound like not asking: the table is the voice's default."""
    s = speaker_from_id(f"flite:{voice}")
    plain = tts.synthesize(s, TEXT, None)
    p = prosody.Prosody("neutral", 0.0, 0.0, 0.0, 0.0, 0.0)
    acted = tts.synthesize(s, TEXT, p)
    f_plain, f_acted = np.median(audio.estimate_f0(plain)), np.median(audio.estimate_f0(acted))
    assert abs(f_acted / f_plain - 1) < 0.03
    assert abs(acted.size / plain.size - 1) < 0.03
