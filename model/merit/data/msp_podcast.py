#!/usr/bin/python3
"""MSP-Podcast 1.11 → the same JSONL manifests as the generated corpus, so the same trainer runs on the real corpus.

    PYTHONPATH=model /usr/bin/python3 -m merit.data.msp_podcast --root /data/MSP-PODCAST-1.11 --out work/msp \
        [--noise-train DIR --noise-dev DIR --noise-test DIR] [--seed 1] [--limit N]

Expected layout (release 1.11): <root>/Audios/*.wav (16 kHz mono) and <root>/Labels/labels_consensus.csv with the
columns FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set. The 4-class task keeps EmoClass A, S, H,
N (angry, sad, happy, neutral); U, F, D, C, O, X are dropped. Split_Set → manifest:
    Train → train.jsonl    Development → dev.jsonl    Test1 → test.jsonl    Test2 → test2.jsonl    (others dropped)
OUT/corpus.json (counts and arguments) is written last, when every manifest is complete.
Noise: with --noise-* folders, each split draws noise files only from its own folder (WAVs, any rate, searched
recursively), so test noise is unseen; noise_seen is true for train/dev and false for test. Without them the project's
generated noise is used with the same seen/unseen type split as the generated corpus. Train mixes once at an SNR drawn
from --train-snr, dev once at -5/0/5 dB in turn, each test utterance at -5, 0 and 5 dB (with generated noise: each with
a seen and an unseen type). SNR is measured on active speech (merit.data.mix).
"clean" points at the original file in Audios/ (relative to the manifest) unless the mixture had to be scaled (peak
limiting, or --gain-range other than 0 0): then a scaled copy is written under clean/ so every pair stays exact.
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import multiprocessing as mp
import os
import sys
import zlib

import numpy as np

from .audio import SAMPLE_RATE, read_wav, write_wav
from .corpus import TEST_SNRS, Progress
from .mix import fit_length, mix, write_manifest
from .noise import SEEN_NOISE, UNSEEN_NOISE, make_noise

EMO_MAP = {"A": "angry", "S": "sad", "H": "happy", "N": "neutral"}
SPLIT_MAP = {"Train": "train", "Development": "dev", "Test1": "test", "Test2": "test2"}
COLUMNS = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set")


def read_labels(root: str) -> list[dict]:
    """The kept utterances of labels_consensus.csv: dicts with file, emotion, split, speaker, gender, act/val/dom."""
    path = os.path.join(root, "Labels", "labels_consensus.csv")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: --root must hold Labels/labels_consensus.csv and Audios/")
    out = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, skipinitialspace=True)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; found {reader.fieldnames}")
        for row in reader:
            emo = EMO_MAP.get(row["EmoClass"].strip())
            split = SPLIT_MAP.get(row["Split_Set"].strip())
            if emo is None or split is None:
                continue

            def num(k):
                try:
                    return float(row[k])
                except (TypeError, ValueError):
                    return None
            out.append({"file": row["FileName"].strip(), "emotion": emo, "split": split,
                        "speaker": f"msp:{row['SpkrID'].strip()}", "gender": row["Gender"].strip(),
                        "arousal": num("EmoAct"), "valence": num("EmoVal"), "dominance": num("EmoDom")})
    return out


def list_noise(folder: str) -> list[str]:
    files = sorted(glob.glob(os.path.join(folder, "**", "*.wav"), recursive=True))
    if not files:
        raise FileNotFoundError(f"no .wav noise files under {folder}")
    return files


def plan(labels: list[dict], seed: int, noise: dict[str, list[str]] | None, train_snr, gain_range,
         limit: int | None = None) -> list[dict]:
    jobs = []
    for split in ("train", "dev", "test", "test2"):
        rows = [r for r in labels if r["split"] == split]
        if limit is not None:
            rows = rows[:limit]
        rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
        noise_split = "train" if split == "train" else ("dev" if split == "dev" else "test")
        for i, r in enumerate(rows):
            mixtures = []
            if noise is not None:
                files = noise[noise_split]
                pick = lambda: str(files[int(rng.integers(len(files)))])  # noqa: E731
                seen = split in ("train", "dev")
                if split == "train":
                    mixtures.append({"snr_db": round(float(rng.uniform(*train_snr)), 2), "noise_file": pick(),
                                     "noise_seen": seen})
                elif split == "dev":
                    mixtures.append({"snr_db": TEST_SNRS[i % 3], "noise_file": pick(), "noise_seen": seen})
                else:
                    mixtures += [{"snr_db": s, "noise_file": pick(), "noise_seen": seen} for s in TEST_SNRS]
            else:
                if split == "train":
                    mixtures.append({"snr_db": round(float(rng.uniform(*train_snr)), 2),
                                     "noise": str(rng.choice(SEEN_NOISE)), "noise_seen": True})
                elif split == "dev":
                    mixtures.append({"snr_db": TEST_SNRS[i % 3], "noise": str(rng.choice(SEEN_NOISE)),
                                     "noise_seen": True})
                else:
                    for s in TEST_SNRS:
                        mixtures.append({"snr_db": s, "noise": str(rng.choice(SEEN_NOISE)), "noise_seen": True})
                        mixtures.append({"snr_db": s, "noise": str(rng.choice(UNSEEN_NOISE)), "noise_seen": False})
            for m in mixtures:
                m["gain_db"] = round(float(rng.uniform(*gain_range)), 2) if gain_range[1] > gain_range[0] else \
                    float(gain_range[0])
                m["noise_seed"] = int(rng.integers(2 ** 31))
            jobs.append({**r, "mixtures": mixtures, "noise_split": noise_split})
    return jobs


def render(job: dict, root: str, out: str) -> list[dict]:
    src = os.path.join(root, "Audios", job["file"])
    clean = read_wav(src)  # resamples if a file is not at 16 kHz
    stem = os.path.splitext(job["file"])[0]
    split = job["split"]
    recs = []
    for k, m in enumerate(job["mixtures"]):
        rng = np.random.default_rng(m["noise_seed"])
        if "noise_file" in m:
            noise = fit_length(read_wav(m["noise_file"]), clean.size, rng)
            name = os.path.splitext(os.path.basename(m["noise_file"]))[0]
        else:
            noise = make_noise(m["noise"], clean.size, rng, job["noise_split"])
            name = m["noise"]
        c, y, applied = mix(clean, noise, m["snr_db"], m["gain_db"])
        rel_noisy = f"noisy/{split}/{stem}_m{k}.wav"
        write_wav(os.path.join(out, rel_noisy), y)
        if abs(applied) < 1e-6:
            rel_clean = os.path.relpath(src, out)
        else:
            rel_clean = f"clean/{split}/{stem}_m{k}.wav"
            write_wav(os.path.join(out, rel_clean), c)
        recs.append({"noisy": rel_noisy, "clean": rel_clean, "emotion": job["emotion"], "snr_db": m["snr_db"],
                     "noise": name, "speaker": job["speaker"], "utt": stem, "split": split,
                     "noise_seen": m["noise_seen"], "gain_db": round(applied, 2), "gender": job["gender"],
                     "arousal": job["arousal"], "valence": job["valence"], "dominance": job["dominance"],
                     "duration_s": round(clean.size / SAMPLE_RATE, 3)})
    return recs


def _render_star(a):
    return render(*a)


def build(root: str, out: str, seed: int = 1, noise_dirs: dict[str, str] | None = None,
          train_snr=(-6.0, 12.0), gain_range=(0.0, 0.0), limit: int | None = None, workers: int = 2,
          progress: bool = True) -> dict[str, int]:
    """Writes the manifests (and noisy audio) under `out`; returns the number of records per manifest."""
    labels = read_labels(root)
    noise = None
    if noise_dirs:
        if set(noise_dirs) != {"train", "dev", "test"}:
            raise ValueError("give all three noise folders (train, dev, test) or none")
        noise = {s: list_noise(d) for s, d in noise_dirs.items()}
    jobs = plan(labels, seed, noise, train_snr, gain_range, limit)
    for split in ("train", "dev", "test", "test2"):
        os.makedirs(os.path.join(out, "noisy", split), exist_ok=True)
        os.makedirs(os.path.join(out, "clean", split), exist_ok=True)
    prog = Progress(len(jobs), "msp", every_s=2.0 if progress else float("inf"),
                    stream=sys.stderr if progress else open(os.devnull, "w"))
    results = []
    args = [(j, root, out) for j in jobs]
    if workers <= 1:
        for a in args:
            results.append(_render_star(a))
            prog.step()
    else:
        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap(_render_star, args, chunksize=2):
                results.append(r)
                prog.step()
    counts = {}
    for split in ("train", "dev", "test", "test2"):
        recs = [r for rs in results for r in rs if r["split"] == split]
        if recs:
            write_manifest(os.path.join(out, f"{split}.jsonl"), recs)
        counts[split] = len(recs)
    # Written last: marks the manifests complete (merit.recipe's paper preset waits for it).
    summary = {"source": "msp_podcast", "root": os.path.abspath(root), "seed": seed, "noise_dirs": noise_dirs,
               "train_snr": list(train_snr), "gain_range": list(gain_range), "limit": limit, "records": counts,
               "utterances": {s: sum(1 for j in jobs if j["split"] == s) for s in counts}}
    with open(os.path.join(out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return counts


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python3 -m merit.data.msp_podcast", description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="MSP-Podcast 1.11 folder (Audios/, Labels/)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--noise-train")
    ap.add_argument("--noise-dev")
    ap.add_argument("--noise-test")
    ap.add_argument("--train-snr", type=float, nargs=2, default=(-6.0, 12.0), metavar=("LO", "HI"))
    ap.add_argument("--gain-range", type=float, nargs=2, default=(0.0, 0.0), metavar=("LO", "HI"),
                    help="overall mixture gain in dB (default 0 0: real recordings already vary in level)")
    ap.add_argument("--limit", type=int, help="at most this many utterances per split (quick runs)")
    ap.add_argument("--workers", type=int, default=2)
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    dirs = {"train": a.noise_train, "dev": a.noise_dev, "test": a.noise_test}
    given = {k: v for k, v in dirs.items() if v}
    if given and len(given) != 3:
        ap.error("give --noise-train, --noise-dev and --noise-test together, or none (generated noise)")
    counts = build(a.root, a.out, a.seed, given or None, tuple(a.train_snr), tuple(a.gain_range), a.limit, a.workers)
    print("msp_podcast: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f" records -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
