"""The shipped demo calls: ground truth consistent with the audio, a clear angry stretch, reproducible by command."""
import filecmp
import glob
import json
import os

import numpy as np
import pytest
import soundfile as sf

from merit.data import audio, calls

CALLS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "data", "calls")
IDS = ("call-01", "call-02", "call-03")


def load(cid):
    with open(os.path.join(CALLS_DIR, f"{cid}.json")) as f:
        truth = json.load(f)
    sig = {ch: audio.read_wav(os.path.join(CALLS_DIR, truth["channels"][ch]["file"])) for ch in calls.CHANNELS}
    return truth, sig


def test_shipped_set_is_small_and_complete():
    files = glob.glob(os.path.join(CALLS_DIR, "*"))
    assert sum(os.path.getsize(f) for f in files) <= 8_000_000
    for cid in IDS:
        for suffix in (".agent.wav", ".customer.wav", ".json"):
            assert os.path.isfile(os.path.join(CALLS_DIR, cid + suffix))


@pytest.mark.parametrize("cid", IDS)
def test_json_matches_wavs(cid):
    truth, sig = load(cid)
    assert 40.0 <= truth["duration_s"] <= 90.0
    for ch in calls.CHANNELS:
        info = sf.info(os.path.join(CALLS_DIR, truth["channels"][ch]["file"]))
        assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
        assert abs(info.frames / 16000 - truth["duration_s"]) < 1e-3
    segs = truth["segments"]
    assert segs == sorted(segs, key=lambda s: s["start_s"])
    for s in segs:
        assert 0 <= s["start_s"] < s["end_s"] <= truth["duration_s"]
        assert s["emotion"] in audio.EMOTIONS and s["text"]
    for ch in calls.CHANNELS:
        mine = [s for s in segs if s["channel"] == ch]
        assert all(a["end_s"] <= b["start_s"] for a, b in zip(mine, mine[1:]))   # no overlap on one channel
    # one side talks at a time
    for a in segs:
        for b in segs:
            if a["channel"] != b["channel"]:
                assert a["end_s"] <= b["start_s"] or b["end_s"] <= a["start_s"]
    # every span is made of segments of its channel and emotion
    for sp in truth["spans"]:
        inside = [s for s in segs if s["channel"] == sp["channel"] and s["start_s"] >= sp["start_s"] - 1e-9
                  and s["end_s"] <= sp["end_s"] + 1e-9]
        assert inside and inside[0]["start_s"] == sp["start_s"] and inside[-1]["end_s"] == sp["end_s"]
        assert all(s["emotion"] == sp["emotion"] for s in inside)


@pytest.mark.parametrize("cid", IDS)
def test_speech_is_where_the_script_says(cid):
    truth, sig = load(cid)
    for ch in calls.CHANNELS:
        x = sig[ch]
        talk = np.zeros(x.size, bool)
        for s in truth["segments"]:
            if s["channel"] == ch:
                talk[int(s["start_s"] * 16000):int(s["end_s"] * 16000)] = True
        # noise is mild (5–15 dB on active speech): the talking parts are clearly louder than the rest
        assert audio.rms_db(x[talk]) - audio.rms_db(x[~talk]) > 5.0
        assert np.abs(x).max() < 1.0


def test_an_angry_customer_stretch_of_15_s_that_sounds_angry():
    found = 0
    for cid in IDS:
        truth, sig = load(cid)
        x = sig["customer"]
        spans = [s for s in truth["spans"] if s["channel"] == "customer" and s["emotion"] == "angry"]
        if not spans:
            continue
        assert max(s["end_s"] - s["start_s"] for s in spans) >= 15.0
        found += 1

        def cut(emotion):
            parts = [x[int(s["start_s"] * 16000):int(s["end_s"] * 16000)] for s in truth["segments"]
                     if s["channel"] == "customer" and s["emotion"] == emotion]
            return np.concatenate(parts)
        angry, neutral = cut("angry"), cut("neutral")
        assert audio.rms_db(angry) - audio.rms_db(neutral) > 4.0
        assert np.median(audio.estimate_f0(angry)) > 1.04 * np.median(audio.estimate_f0(neutral))
    assert found >= 2
    # and one call without any negative emotion, for the no-alert case
    assert any(not any(s["emotion"] in ("angry", "sad") for s in load(c)[0]["segments"]) for c in IDS)


def test_calls_are_reproduced_by_the_command(tmp_path, monkeypatch):
    """Regenerating gives the shipped bytes: the files are not hand-edited and the generator has not drifted.
    call-02 is left out only for time (its babble needs ~30 extra syntheses); it is the same code path.

    Run as on a new machine: a fresh HOME and no sound-server runtime folder. There espeak-ng's audio client (libpulse)
    used to draw from the rand() stream espeak-ng's breath noise comes from, so the first breathy utterance (call-01's
    agent, variant f3) differed once per machine; see tts.NO_SOUND_SERVER. This makes that case the tested one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER"):
        monkeypatch.delenv(var, raising=False)
    out = tmp_path / "out"
    assert calls.main(["--out", str(out), "--seed", "7", "--only", "call-01", "call-03"]) == 0
    for cid in ("call-01", "call-03"):
        with open(out / f"{cid}.json") as f:
            assert json.load(f) == load(cid)[0]
        for ch in calls.CHANNELS:
            assert filecmp.cmp(out / f"{cid}.{ch}.wav", os.path.join(CALLS_DIR, f"{cid}.{ch}.wav"), shallow=False)
