"""MSP-Podcast 1.11 loader on a small fake tree with exactly the release's layout."""
import csv
import json
import os

import numpy as np
import pytest

from merit.data import audio, mix, msp_podcast

ROWS = [  # FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set
    ("MSP-PODCAST_0001_0001.wav", "A", 5.2, 2.1, 5.0, "127", "Male", "Train"),
    ("MSP-PODCAST_0001_0002.wav", "S", 2.0, 2.5, 3.0, "127", "Male", "Train"),
    ("MSP-PODCAST_0002_0001.wav", "H", 4.8, 6.0, 4.2, "45", "Female", "Train"),
    ("MSP-PODCAST_0002_0002.wav", "U", 4.0, 5.0, 4.0, "45", "Female", "Train"),        # surprise: dropped
    ("MSP-PODCAST_0003_0001.wav", "N", 4.0, 4.0, 4.0, "Unknown", "Unknown", "Development"),
    ("MSP-PODCAST_0003_0002.wav", "X", 4.0, 4.0, 4.0, "Unknown", "Unknown", "Development"),  # no agreement
    ("MSP-PODCAST_0004_0001.wav", "A", 6.0, 1.5, 6.0, "300", "Female", "Test1"),
    ("MSP-PODCAST_0004_0002.wav", "N", 3.9, 4.1, 3.8, "300", "Female", "Test1"),
    ("MSP-PODCAST_0005_0001.wav", "S", 2.2, 2.0, 2.5, "301", "Male", "Test2"),
    ("MSP-PODCAST_0006_0001.wav", "H", 5.0, 6.5, 5.0, "302", "Male", "Test3"),          # no public labels: dropped
]


def speechlike(seed, seconds=1.6, sr=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    env = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)      # 3 syllables per second with pauses
    f0 = rng.uniform(90, 220)
    x = env * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 10))
    return (0.05 * x + 1e-5 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "MSP-PODCAST-1.11"
    (root / "Audios").mkdir(parents=True)
    (root / "Labels").mkdir()
    with open(root / "Labels" / "labels_consensus.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"])
        w.writerows(ROWS)
    for i, row in enumerate(ROWS):
        audio.write_wav(root / "Audios" / row[0], speechlike(i))
    noise_dirs = {}
    for j, split in enumerate(("train", "dev", "test")):
        d = tmp_path / f"noise_{split}"
        (d / "sub").mkdir(parents=True)
        rng = np.random.default_rng(100 + j)
        # 8 kHz and a second file in a sub-folder: the loader resamples and searches recursively
        audio.write_wav(d / f"{split}_a.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), sr=8000)
        audio.write_wav(d / "sub" / f"{split}_b.wav", (0.1 * rng.standard_normal(40000)).astype(np.float32))
        noise_dirs[split] = str(d)
    return str(root), noise_dirs, tmp_path


def test_read_labels_keeps_four_classes_and_maps_splits(tree):
    root, _, _ = tree
    labels = msp_podcast.read_labels(root)
    assert [r["file"] for r in labels] == [r[0] for r in ROWS if r[1] in "ASHN" and r[7] != "Test3"]
    assert {r["split"] for r in labels} == {"train", "dev", "test", "test2"}
    a = labels[0]
    assert a["emotion"] == "angry" and a["speaker"] == "msp:127" and a["arousal"] == 5.2 and a["split"] == "train"


def test_build_with_noise_folders(tree):
    root, noise_dirs, tmp = tree
    out = str(tmp / "out")
    counts = msp_podcast.build(root, out, seed=3, noise_dirs=noise_dirs, workers=1, progress=False)
    summary = json.loads(open(os.path.join(out, "corpus.json")).read())
    assert summary["records"] == counts and summary["noise_dirs"] == noise_dirs
    assert summary["utterances"]["test"] * 3 == counts["test"]  # each test utterance at -5, 0 and 5 dB
    assert counts == {"train": 3, "dev": 1, "test": 2 * 3, "test2": 1 * 3}
    for split in counts:
        recs = mix.read_manifest(os.path.join(out, f"{split}.jsonl"))
        raw = [json.loads(line) for line in open(os.path.join(out, f"{split}.jsonl"))]
        for r, rr in zip(recs, raw):
            assert not os.path.isabs(rr["noisy"]) and not os.path.isabs(rr["clean"])
            assert os.path.isfile(r["noisy"]) and os.path.isfile(r["clean"])
            noise_split = {"train": "train", "dev": "dev"}.get(split, "test")
            assert r["noise"] in (f"{noise_split}_a", f"{noise_split}_b")       # noise only from its own folder
            assert r["noise_seen"] == (split in ("train", "dev"))
            c, y = audio.read_wav(r["clean"]), audio.read_wav(r["noisy"])
            assert abs(mix.measure_snr(c, y) - r["snr_db"]) < 0.5
            if r["gain_db"] == 0:
                # the clean side is the original recording itself
                assert os.path.realpath(r["clean"]).startswith(os.path.realpath(os.path.join(root, "Audios")))
        if split in ("test", "test2"):
            for utt in {r["utt"] for r in recs}:
                assert sorted(r["snr_db"] for r in recs if r["utt"] == utt) == [-5.0, 0.0, 5.0]
    train = mix.read_manifest(os.path.join(out, "train.jsonl"))
    assert all(-6 <= r["snr_db"] <= 12 for r in train)
    assert {r["emotion"] for r in train} == {"angry", "sad", "happy"}


def test_build_with_generated_noise_and_gain(tree):
    root, _, tmp = tree
    out = str(tmp / "gen")
    counts = msp_podcast.build(root, out, seed=4, noise_dirs=None, gain_range=(-6.0, 6.0), workers=1,
                               progress=False)
    assert counts["test"] == 2 * 6                                  # -5/0/5 dB × seen/unseen generated noise
    recs = mix.read_manifest(os.path.join(out, "test.jsonl"))
    assert {r["noise_seen"] for r in recs} == {True, False}
    for r in recs:
        c, y = audio.read_wav(r["clean"]), audio.read_wav(r["noisy"])
        assert c.size == y.size and abs(mix.measure_snr(c, y) - r["snr_db"]) < 0.5
        if r["gain_db"] != 0:
            assert r["clean"].startswith(os.path.join(out, "clean"))  # scaled copy keeps the pair exact


def test_cli_rejects_partial_noise_folders_and_missing_tree(tree, tmp_path):
    root, noise_dirs, _ = tree
    with pytest.raises(SystemExit):
        msp_podcast.main(["--root", root, "--out", str(tmp_path / "x"), "--noise-train", noise_dirs["train"]])
    with pytest.raises(FileNotFoundError):
        msp_podcast.read_labels(str(tmp_path / "nowhere"))


def test_missing_column_is_a_clear_error(tmp_path):
    (tmp_path / "Labels").mkdir()
    (tmp_path / "Labels" / "labels_consensus.csv").write_text("FileName,EmoClass\nx.wav,A\n")
    with pytest.raises(ValueError, match="missing columns"):
        msp_podcast.read_labels(str(tmp_path))
