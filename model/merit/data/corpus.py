#!/usr/bin/python3
"""Generates the emotional speech corpus: acted TTS utterances, generated noise, clean/noisy pairs, JSONL manifests.

    PYTHONPATH=model /usr/bin/python3 -m merit.data.corpus --out work/corpus --seed 1 --per-class 500

(from the repository root: work/ is git-ignored). Deterministic for a given seed and sizes, whatever the worker count.
Layout under --out:
    train.jsonl dev.jsonl test.jsonl      manifests (see merit.data.mix for the format)
    clean/<split>/<utt>_m<k>.wav          clean speech, at the same overall gain as its noisy partner
    noisy/<split>/<utt>_m<k>.wav          clean + noise, PCM16 16 kHz mono
    corpus.json                           the configuration, counts, split lists and the measured speed
Splits: train mixes each utterance once at an SNR drawn from --train-snr (default -6…12 dB) with a SEEN noise type;
dev once at -5 / 0 / 5 dB in turn with a seen type; test six times: -5, 0 and 5 dB, each with a seen and an unseen type.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np

from .audio import EMOTIONS, write_wav
from .mix import mix, write_manifest
from .noise import SEEN_NOISE, UNSEEN_NOISE, make_noise, prewarm_babble
from .prosody import Prosody, sample_prosody
from .sentences import texts
from .tts import synthesize
from .voices import FLITE_SPLIT, SPLITS, speaker_from_id, speakers

TEST_SNRS = (-5.0, 0.0, 5.0)
GAIN_RANGE_DB = (-6.0, 6.0)
FLITE_SHARE = 0.15  # share of a split's utterances spoken by its flite voices (if it has any)


def plan(seed: int, per_class: dict[str, int], train_snr: tuple[float, float],
         train_mixtures: int = 1) -> list[dict]:
    """Every utterance and mixture to generate, decided up front in one process so that the result does not depend on
    how the work is spread over workers."""
    jobs = []
    for si, split in enumerate(SPLITS):
        rng = np.random.default_rng([seed, si])
        n = per_class[split]
        emotions = [e for e in EMOTIONS for _ in range(n)]
        rng.shuffle(emotions)
        espeak_ids = [s.id for s in speakers(split) if s.engine == "espeak"]
        flite_ids = [f"flite:{v}" for v in FLITE_SPLIT[split]]
        order = list(rng.permutation(espeak_ids))
        split_texts = texts(split)
        for i, emo in enumerate(emotions):
            # espeak speakers in a shuffled cycle so every speaker is used about equally often
            if flite_ids and rng.random() < FLITE_SHARE:
                sid = str(rng.choice(flite_ids))
            else:
                sid = str(order[i % len(order)])
            text = str(split_texts[int(rng.integers(len(split_texts)))])
            pros = sample_prosody(emo, rng).as_dict()
            mixtures = []
            if split == "train":
                for _ in range(train_mixtures):
                    mixtures.append({"snr_db": round(float(rng.uniform(*train_snr)), 2),
                                     "noise": str(rng.choice(SEEN_NOISE)), "noise_seen": True})
            elif split == "dev":
                mixtures.append({"snr_db": TEST_SNRS[i % 3], "noise": str(rng.choice(SEEN_NOISE)), "noise_seen": True})
            else:
                for snr in TEST_SNRS:
                    mixtures.append({"snr_db": snr, "noise": str(rng.choice(SEEN_NOISE)), "noise_seen": True})
                    mixtures.append({"snr_db": snr, "noise": str(rng.choice(UNSEEN_NOISE)), "noise_seen": False})
            for m in mixtures:
                m["gain_db"] = round(float(rng.uniform(*GAIN_RANGE_DB)), 2)
                m["noise_seed"] = int(rng.integers(2 ** 31))
            jobs.append({"split": split, "utt": f"{split}-{i:05d}", "speaker": sid, "text": text, "emotion": emo,
                         "prosody": pros, "mixtures": mixtures})
    return jobs


def render(job: dict, out: str) -> list[dict]:
    """Synthesises one utterance and writes its clean/noisy pairs; returns the manifest records."""
    p = Prosody(**job["prosody"])
    clean = synthesize(speaker_from_id(job["speaker"]), job["text"], p)
    split, utt = job["split"], job["utt"]
    recs = []
    for k, m in enumerate(job["mixtures"]):
        rng = np.random.default_rng(m["noise_seed"])
        noise = make_noise(m["noise"], clean.size, rng, split)
        c, y, applied = mix(clean, noise, m["snr_db"], m["gain_db"])
        rel_clean = f"clean/{split}/{utt}_m{k}.wav"
        rel_noisy = f"noisy/{split}/{utt}_m{k}.wav"
        write_wav(os.path.join(out, rel_clean), c)
        write_wav(os.path.join(out, rel_noisy), y)
        recs.append({"noisy": rel_noisy, "clean": rel_clean, "emotion": job["emotion"], "snr_db": m["snr_db"],
                     "noise": m["noise"], "speaker": job["speaker"], "utt": utt, "split": split,
                     "noise_seen": m["noise_seen"], "gain_db": round(applied, 2),
                     "duration_s": round(clean.size / 16000, 3), "text": job["text"], "prosody": job["prosody"]})
    return recs


def _render_star(args):
    return render(*args)


class Progress:
    """Prints `done/total, rate, ETA` to stderr at most every `every_s` seconds (and at the end)."""

    def __init__(self, total: int, label: str, every_s: float = 2.0, stream=sys.stderr):
        self.total, self.label, self.every, self.stream = total, label, every_s, stream
        self.t0 = self.last = time.monotonic()
        self.done = 0

    def step(self, k: int = 1) -> None:
        self.done += k
        now = time.monotonic()
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            rate = self.done / max(now - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            print(f"[{self.label}] {self.done}/{self.total} ({100 * self.done / self.total:.0f} %) "
                  f"{rate:.1f}/s, ETA {eta:.0f} s", file=self.stream, flush=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def generate(out: str, seed: int, per_class: dict[str, int], train_snr=(-6.0, 12.0), train_mixtures: int = 1,
             workers: int = 2, progress: bool = True) -> dict:
    """Generates the whole corpus under `out`; returns the summary also written to corpus.json."""
    for split in SPLITS:
        for kind in ("clean", "noisy"):
            os.makedirs(os.path.join(out, kind, split), exist_ok=True)
    jobs = plan(seed, per_class, train_snr, train_mixtures)
    prewarm_babble({j["split"] for j in jobs for m in j["mixtures"] if m["noise"] == "babble"}, workers)
    prog = Progress(len(jobs), "corpus", every_s=2.0 if progress else float("inf"),
                    stream=sys.stderr if progress else open(os.devnull, "w"))
    results = []
    if workers <= 1:
        for j in jobs:
            results.append(render(j, out))
            prog.step()
    else:
        # fork: workers inherit the imported modules; imap keeps the plan's order, so manifests are deterministic
        with mp.get_context("fork").Pool(workers) as pool:
            for r in pool.imap(_render_star, [(j, out) for j in jobs], chunksize=2):
                results.append(r)
                prog.step()
    elapsed = prog.elapsed
    by_split: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for recs in results:
        for r in recs:
            by_split[r["split"]].append(r)
    for split, recs in by_split.items():
        write_manifest(os.path.join(out, f"{split}.jsonl"), recs)
    audio_s = sum(r["duration_s"] for recs in results for r in recs[:1])
    summary = {
        "seed": seed, "per_class": per_class, "train_snr_db": list(train_snr), "train_mixtures": train_mixtures,
        "test_snrs_db": list(TEST_SNRS), "gain_range_db": list(GAIN_RANGE_DB),
        "noise": {"seen": list(SEEN_NOISE), "unseen": list(UNSEEN_NOISE)},
        "speakers": {s: sorted({j["speaker"] for j in jobs if j["split"] == s}) for s in SPLITS},
        "texts": {s: len(texts(s)) for s in SPLITS},
        "utterances": {s: sum(1 for j in jobs if j["split"] == s) for s in SPLITS},
        "mixtures": {s: len(by_split[s]) for s in SPLITS},
        "speech_seconds": round(audio_s, 1),
        "workers": workers, "elapsed_s": round(elapsed, 2),
        "utterances_per_s": round(len(jobs) / max(elapsed, 1e-9), 2),
        "mixtures_per_s": round(sum(len(v) for v in by_split.values()) / max(elapsed, 1e-9), 2),
    }
    with open(os.path.join(out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m merit.data.corpus", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-class", type=int, default=500, help="train utterances per emotion class")
    ap.add_argument("--dev-per-class", type=int, default=None, help="default: per-class / 5 (at least 1)")
    ap.add_argument("--test-per-class", type=int, default=None, help="default: per-class / 5 (at least 1)")
    ap.add_argument("--train-snr", type=float, nargs=2, default=(-6.0, 12.0), metavar=("LO", "HI"),
                    help="train SNR range in dB, drawn uniformly (must include -5)")
    ap.add_argument("--train-mixtures", type=int, default=1, help="noisy versions per train utterance")
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.per_class < 1:
        ap.error("--per-class must be at least 1")
    lo, hi = a.train_snr
    if lo > hi:
        ap.error("--train-snr LO must not exceed HI")
    small = max(1, a.per_class // 5)
    per_class = {"train": a.per_class, "dev": a.dev_per_class if a.dev_per_class is not None else small,
                 "test": a.test_per_class if a.test_per_class is not None else small}
    s = generate(a.out, a.seed, per_class, (lo, hi), a.train_mixtures, a.workers, progress=not a.quiet)
    print(f"corpus: {sum(s['utterances'].values())} utterances ({s['speech_seconds'] / 60:.1f} min of speech), "
          f"{sum(s['mixtures'].values())} mixtures in {s['elapsed_s']:.1f} s = {s['utterances_per_s']:.1f} utt/s "
          f"with {s['workers']} workers -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
