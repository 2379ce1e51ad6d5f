"""End to end: a tiny generated corpus is well formed, its pairs have the stated SNR, and it is deterministic."""
import json
import os

import numpy as np
import pytest
import soundfile as sf

from merit.data import audio, corpus, mix, noise

PER_CLASS = {"train": 1, "dev": 1, "test": 1}


@pytest.fixture(scope="module", autouse=True)
def small_babble_pool():
    """A smaller babble pool keeps this test fast (the pool is synthesised up front); babble itself is the same code."""
    old = noise.BABBLE_POOL_SIZE
    noise.BABBLE_POOL_SIZE = 6
    noise.babble_pool.cache_clear()
    noise._BABBLE_CACHE.clear()
    yield
    noise.BABBLE_POOL_SIZE = old
    noise.babble_pool.cache_clear()
    noise._BABBLE_CACHE.clear()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, small_babble_pool):
    out = str(tmp_path_factory.mktemp("corpus"))
    summary = corpus.generate(out, seed=11, per_class=PER_CLASS, workers=2, progress=False, human_limit=2)
    return out, summary


def test_manifests_are_well_formed_with_relative_paths(tiny):
    out, summary = tiny
    for split, n_utt, n_mix in (("train", 6, 6), ("dev", 4, 4), ("test", 4, 24), ("test-engine", 4, 20),
                                ("human", 2, 4)):
        path = os.path.join(out, f"{split}.jsonl")
        raw = [json.loads(line) for line in open(path)]
        assert len(raw) == n_mix and summary["mixtures"][split] == n_mix
        assert len({r["utt"] for r in raw}) == n_utt
        for r in raw:
            assert set(mix.REQUIRED_KEYS) <= set(r)
            assert r["emotion"] in audio.EMOTIONS
            assert not os.path.isabs(r["noisy"]) and not os.path.isabs(r["clean"])
            for k in ("noisy", "clean"):
                info = sf.info(os.path.join(out, r[k]))
                assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
        tts = [r for r in raw if r["noisy"].endswith("_m0.wav") and r["speaker"] != "human:asterisk"]
        assert sorted(r["emotion"] for r in tts) == (sorted(audio.EMOTIONS) if split != "human" else [])
        assert all(r["emotion"] == "neutral" for r in raw if r["speaker"] == "human:asterisk")
    assert os.path.isfile(os.path.join(out, "corpus.json"))
    assert summary["utterances_per_s"] > 0


def test_pairs_have_the_stated_snr_and_the_noise_that_was_asked(tiny):
    out, _ = tiny
    errors = []
    for split in ("train", "dev", "test", "test-engine", "human"):
        for r in mix.read_manifest(os.path.join(out, f"{split}.jsonl")):
            c, y = audio.read_wav(r["clean"]), audio.read_wav(r["noisy"])
            assert c.size == y.size and audio.rms_db(c) > -50
            if r["noise"] == mix.CLEAN_NOISE:
                assert r["snr_db"] == mix.CLEAN_SNR_DB and np.array_equal(c, y)
                continue
            errors.append(abs(mix.measure_snr(c, y) - r["snr_db"]))
            assert r["noise_seen"] == (r["noise"] in corpus.seen_noise())
            assert r["noise"] in corpus.seen_noise() + corpus.unseen_noise()
            if split not in ("test", "test-engine"):
                assert r["noise_seen"]
    assert max(errors) < 0.5


def test_test_split_has_each_snr_with_seen_and_unseen_noise(tiny):
    out, _ = tiny
    recs = mix.read_manifest(os.path.join(out, "test.jsonl"), absolute=False)
    for utt in {r["utt"] for r in recs}:
        got = sorted((r["snr_db"], r["noise_seen"]) for r in recs if r["utt"] == utt)
        assert got == sorted((s, seen) for s in (-5.0, 0.0, 5.0) for seen in (True, False))


def test_generation_is_deterministic_whatever_the_worker_count(tiny, tmp_path):
    out, _ = tiny
    again = str(tmp_path / "again")
    corpus.generate(again, seed=11, per_class={"train": 1, "dev": 1, "test": 1}, workers=1, progress=False,
                    human_limit=2)
    for split in ("train", "dev", "test", "test-engine", "human"):
        a = open(os.path.join(out, f"{split}.jsonl")).read()
        b = open(os.path.join(again, f"{split}.jsonl")).read()
        assert a == b
    for r in mix.read_manifest(os.path.join(out, "test.jsonl"), absolute=False)[:6]:
        for k in ("noisy", "clean"):
            x = audio.read_wav(os.path.join(out, r[k]))
            z = audio.read_wav(os.path.join(again, r[k]))
            assert np.array_equal(x, z)


def test_cli_runs_and_reports_speed(tmp_path, capsys):
    rc = corpus.main(["--out", str(tmp_path / "c"), "--seed", "2", "--per-class", "1", "--dev-per-class", "0",
                      "--test-per-class", "0", "--no-human", "--quiet", "--workers", "1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "utt/s" in out and "4 utterances" in out
