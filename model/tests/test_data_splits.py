"""Speakers, texts and babble voices are split so that test speakers and test texts are unseen."""
import subprocess

import numpy as np
import pytest

from merit.data import corpus, sentences, voices


def test_variant_split_is_disjoint_and_speakers_unseen():
    sets = {s: set(voices.VARIANT_SPLIT[s]) for s in voices.SPLITS}
    assert not sets["train"] & sets["dev"] and not sets["train"] & sets["test"] and not sets["dev"] & sets["test"]
    timbres = {s: {voices.timbre(sp.id) for sp in voices.speakers(s)} for s in voices.SPLITS}
    assert not timbres["train"] & timbres["test"]
    assert not timbres["train"] & timbres["dev"]
    assert not timbres["dev"] & timbres["test"]
    assert len(voices.speakers("train")) > 200 and len(voices.speakers("test")) > 80


def test_babble_voices_are_never_foreground_speakers():
    fg = {voices.timbre(sp.id) for s in voices.SPLITS for sp in voices.speakers(s)}
    for split in voices.SPLITS:
        for sp in voices.babble_speakers(split):
            assert voices.timbre(sp.id) not in fg


def test_text_split_is_disjoint_and_sized():
    t = {s: set(sentences.texts(s)) for s in voices.SPLITS}
    assert len(sentences.all_sentences()) >= 300
    assert len(set(sentences.all_sentences())) == len(sentences.all_sentences())   # no duplicate sentence
    assert not t["train"] & t["dev"] and not t["train"] & t["test"] and not t["dev"] & t["test"]
    assert t["train"] | t["dev"] | t["test"] == set(sentences.all_sentences())
    assert len(t["test"]) >= 40 and len(t["dev"]) >= 40


def test_plan_uses_only_each_splits_speakers_and_texts():
    jobs = corpus.plan(3, {"train": 60, "dev": 15, "test": 15}, (-6.0, 12.0))
    for split in voices.SPLITS:
        spk = {s.id for s in voices.speakers(split)}
        txt = set(sentences.texts(split))
        js = [j for j in jobs if j["split"] == split and j["speaker"] != "human:asterisk"]
        assert js and all(j["speaker"] in spk and j["text"] in txt for j in js)
        counts = {e: sum(j["emotion"] == e for j in js) for e in ("angry", "sad", "happy", "neutral")}
        assert len(set(counts.values())) == 1          # balanced classes
    train_spk = {j["speaker"] for j in jobs if j["split"] == "train"}
    test_spk = {j["speaker"] for j in jobs if j["split"] == "test"}
    assert not {voices.timbre(s) for s in train_spk} & {voices.timbre(s) for s in test_spk}
    # flite is the unseen engine: never in train, dev or test; the test-engine split has only flite voices
    assert not any(j["speaker"].startswith("flite:") for j in jobs if j["split"] in voices.SPLITS)
    engine = [j for j in jobs if j["split"] == voices.ENGINE_SPLIT]
    assert engine and {j["speaker"] for j in engine} == set(voices.UNSEEN_ENGINE_VOICES)
    # real human prompts: neutral, in train and held out, never the same file in both
    human = {s: {j["source"] for j in jobs if j["speaker"] == "human:asterisk" and j["split"] == s}
             for s in ("train", "human")}
    assert human["train"] and human["human"] and not human["train"] & human["human"]
    assert all(j["emotion"] == "neutral" for j in jobs if j["speaker"] == "human:asterisk")
    # every train SNR inside the range, which includes -5 dB; test = each SNR with a seen and an unseen noise
    snrs = [m["snr_db"] for j in jobs if j["split"] == "train" for m in j["mixtures"]]
    assert min(snrs) >= -6 and max(snrs) <= 12 and min(snrs) < -4
    for j in (j for j in jobs if j["split"] == "test"):
        got = sorted((m["snr_db"], m["noise_seen"]) for m in j["mixtures"])
        assert got == sorted((s, seen) for s in (-5.0, 0.0, 5.0) for seen in (True, False))
    for j in engine:
        got = sorted((m["snr_db"], m["noise_seen"]) for m in j["mixtures"])
        assert got == sorted([(99.0, True)] + [(s, seen) for s in (-5.0, 0.0) for seen in (True, False)])
    assert all(m["noise_seen"] for j in jobs if j["split"] not in ("test", voices.ENGINE_SPLIT) for m in j["mixtures"])
    # unseen noise types never reach the splits a model learns from
    train_noise = {m["noise"] for j in jobs if j["split"] in ("train", "dev") for m in j["mixtures"]}
    assert not train_noise & set(corpus.unseen_noise())


def test_plan_is_deterministic_by_seed():
    a = corpus.plan(1, {"train": 5, "dev": 2, "test": 2}, (-6.0, 12.0))
    b = corpus.plan(1, {"train": 5, "dev": 2, "test": 2}, (-6.0, 12.0))
    c = corpus.plan(2, {"train": 5, "dev": 2, "test": 2}, (-6.0, 12.0))
    assert a == b and a != c


@pytest.mark.parametrize("accent", voices.ESPEAK_ACCENTS)
def test_every_accent_honours_its_variant(accent):
    """espeak-ng silently ignores the variant of some voice names (e.g. "en-gb+f2"); every accent used must not."""
    def render(v):
        return subprocess.run(["espeak-ng", "-v", v, "--stdout", "hello there"], capture_output=True,
                              check=True).stdout
    assert render(f"{accent}+f2") != render(accent)
    assert render(f"{accent}+m3") != render(f"{accent}+f2")


def test_every_split_variant_is_installed():
    import os
    vdir = "/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v"
    if not os.path.isdir(vdir):
        pytest.skip("espeak-ng data folder not at the Debian path")
    names = set(os.listdir(vdir))
    used = {v for vs in voices.VARIANT_SPLIT.values() for v in vs}
    used |= {b.split("+")[1] for vs in voices.BABBLE_VOICES.values() for b in vs if b.startswith("espeak:")}
    assert used <= names, used - names
    assert np.all([len(vs) > 0 for vs in voices.VARIANT_SPLIT.values()])
