#!/usr/bin/python3
"""Generates the emotional speech corpus: acted TTS utterances, real human prompts, noise, clean/noisy pairs, manifests.

    PYTHONPATH=model /usr/bin/python3 -m merit.data.corpus --out work/corpus --seed 1 --per-class 1250

(from the repository root: work/ is git-ignored). Deterministic for a given seed and sizes, whatever the worker count.
Layout under --out:
    train.jsonl dev.jsonl test.jsonl      manifests (see merit.data.mix for the format)
    test-engine.jsonl                     the unseen-engine split: flite voices, never heard in training
    human.jsonl                           held-out real human prompts (all neutral): the false-positive check
    clean/<split>/<utt>_m<k>.wav          clean speech, at the same overall gain as its noisy partner
    noisy/<split>/<utt>_m<k>.wav          clean + noise, PCM16 16 kHz mono
    corpus.json                           the configuration, counts, split lists and the measured speed
Splits: train = espeak-ng voices only (every train variant under every accent) plus the training share of the real
Asterisk prompts as neutral speech; each is mixed once (SNR from --train-snr, a SEEN noise type) for the pretraining,
while the trainer mixes fresh noise on the fly. Dev: once at -5 / 0 / 5 dB in turn with a seen type. Test (unseen
espeak-ng variants): -5, 0 and 5 dB, each with a seen and an unseen type. Test-engine (flite): clean, then -5 and 0 dB
each with a seen and an unseen type. Human: clean and 0 dB with a seen type.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np

from . import human
from .audio import EMOTIONS, db_to_gain, limit_peak, write_wav
from .mix import CLEAN_NOISE, CLEAN_SNR_DB, mix, write_manifest
from .noise import make_noise, prewarm_babble, seen_noise, unseen_noise
from .prosody import Prosody, sample_prosody
from .sentences import texts
from .tts import synthesize, trim_silence
from .voices import ENGINE_SPLIT, SPLITS, speaker_from_id, speakers

TEST_SNRS = (-5.0, 0.0, 5.0)
ENGINE_SNRS = (-5.0, 0.0)
GAIN_RANGE_DB = (-6.0, 6.0)
HUMAN_SPLIT = "human"
ALL_SPLITS = SPLITS + (ENGINE_SPLIT, HUMAN_SPLIT)


def _mixture(snr: float, noise: str, seen: bool) -> dict:
    return {"snr_db": snr, "noise": noise, "noise_seen": seen}


def _mixtures(split: str, rng: np.random.Generator, i: int, train_snr, train_mixtures: int,
              seen: tuple[str, ...], unseen: tuple[str, ...]) -> list[dict]:
    """The mixtures of one utterance of `split`, each with its overall gain and noise seed drawn."""
    mixtures = _conditions(split, rng, i, train_snr, train_mixtures, seen, unseen)
    for m in mixtures:
        m["gain_db"] = round(float(rng.uniform(*GAIN_RANGE_DB)), 2)
        m["noise_seed"] = int(rng.integers(2 ** 31))
    return mixtures


def _conditions(split: str, rng: np.random.Generator, i: int, train_snr, train_mixtures: int,
                seen: tuple[str, ...], unseen: tuple[str, ...]) -> list[dict]:
    if split == "train":
        return [_mixture(round(float(rng.uniform(*train_snr)), 2), str(rng.choice(seen)), True)
                for _ in range(train_mixtures)]
    if split == "dev":
        return [_mixture(TEST_SNRS[i % 3], str(rng.choice(seen)), True)]
    if split == "test":
        return [_mixture(snr, str(rng.choice(kinds)), flag) for snr in TEST_SNRS
                for kinds, flag in ((seen, True), (unseen, False))]
    if split == ENGINE_SPLIT:
        return [_mixture(CLEAN_SNR_DB, CLEAN_NOISE, True)] + [
            _mixture(snr, str(rng.choice(kinds)), flag) for snr in ENGINE_SNRS
            for kinds, flag in ((seen, True), (unseen, False))]
    # human
    return [_mixture(CLEAN_SNR_DB, CLEAN_NOISE, True), _mixture(0.0, str(rng.choice(seen)), True)]


def plan(seed: int, per_class: dict[str, int], train_snr: tuple[float, float],
         train_mixtures: int = 1, human_speech: bool = True, human_limit: int | None = None) -> list[dict]:
    """Every utterance and mixture to generate, decided up front in one process so that the result does not depend on
    how the work is spread over workers. `per_class` may name "test-engine" too (default: as "test"); `human_limit`
    keeps only the first prompts of each human split (tests)."""
    jobs = []
    noise = seen_noise(), unseen_noise()  # what is installed decides once, not per utterance
    for si, split in enumerate(SPLITS + (ENGINE_SPLIT,)):
        rng = np.random.default_rng([seed, si])
        n = per_class.get(split, per_class["test"])
        emotions = [e for e in EMOTIONS for _ in range(n)]
        rng.shuffle(emotions)
        # speakers in a shuffled cycle so every speaker is used about equally often
        order = list(rng.permutation([s.id for s in speakers(split)]))
        split_texts = texts("test" if split == ENGINE_SPLIT else split)
        for i, emo in enumerate(emotions):
            sid = str(order[i % len(order)])
            text = str(split_texts[int(rng.integers(len(split_texts)))])
            pros = sample_prosody(emo, rng).as_dict()
            mixtures = _mixtures(split, rng, i, train_snr, train_mixtures, *noise)
            jobs.append({"split": split, "utt": f"{split}-{i:05d}", "speaker": sid, "text": text, "emotion": emo,
                         "prosody": pros, "mixtures": mixtures})
    if human_speech:
        for hi, (split, part) in enumerate((("train", "train"), (HUMAN_SPLIT, "heldout"))):
            rng = np.random.default_rng([seed, 100 + hi])
            for i, path in enumerate(human.human_files(part)[:human_limit]):
                mixtures = _mixtures(split, rng, i, train_snr, train_mixtures, *noise)
                jobs.append({"split": split, "utt": f"{split}-human-{i:04d}", "speaker": human.SPEAKER_ID,
                             "text": os.path.basename(path), "emotion": "neutral", "prosody": None,
                             "source": path, "mixtures": mixtures})
    return jobs


def render(job: dict, out: str) -> list[dict]:
    """Synthesises (or reads) one utterance and writes its clean/noisy pairs; returns the manifest records."""
    if job.get("source"):
        clean = trim_silence(human.load_prompt(job["source"]))
    else:
        clean = synthesize(speaker_from_id(job["speaker"]), job["text"], Prosody(**job["prosody"]))
    split, utt = job["split"], job["utt"]
    noise_split = "test" if split in (ENGINE_SPLIT, HUMAN_SPLIT) else split
    recs = []
    for k, m in enumerate(job["mixtures"]):
        rng = np.random.default_rng(m["noise_seed"])
        if m["noise"] == CLEAN_NOISE:
            c, g = limit_peak(clean * db_to_gain(m["gain_db"]))
            y, applied = c.copy(), m["gain_db"] + 20 * np.log10(g)
        else:
            noise = make_noise(m["noise"], clean.size, rng, noise_split)
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
             workers: int = 2, progress: bool = True, human_speech: bool = True,
             human_limit: int | None = None) -> dict:
    """Generates the whole corpus under `out`; returns the summary also written to corpus.json."""
    for split in ALL_SPLITS:
        for kind in ("clean", "noisy"):
            os.makedirs(os.path.join(out, kind, split), exist_ok=True)
    jobs = plan(seed, per_class, train_snr, train_mixtures, human_speech, human_limit)
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
    by_split: dict[str, list[dict]] = {s: [] for s in ALL_SPLITS if s != HUMAN_SPLIT or human_speech}
    for recs in results:
        for r in recs:
            by_split[r["split"]].append(r)
    for split, recs in by_split.items():
        write_manifest(os.path.join(out, f"{split}.jsonl"), recs)
    audio_s = sum(r["duration_s"] for recs in results for r in recs[:1])
    summary = {
        "seed": seed, "per_class": per_class, "train_snr_db": list(train_snr), "train_mixtures": train_mixtures,
        "test_snrs_db": list(TEST_SNRS), "gain_range_db": list(GAIN_RANGE_DB),
        "noise": {"seen": list(seen_noise()), "unseen": list(unseen_noise())},
        "speakers": {s: sorted({j["speaker"] for j in jobs if j["split"] == s}) for s in by_split},
        "texts": {s: len(texts(s)) for s in SPLITS},
        "utterances": {s: sum(1 for j in jobs if j["split"] == s) for s in by_split},
        "mixtures": {s: len(by_split[s]) for s in by_split},
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
    ap.add_argument("--engine-per-class", type=int, default=None, help="unseen-engine (flite) utterances per class "
                    "(default: as --test-per-class)")
    ap.add_argument("--no-human", action="store_true", help="leave out the real Asterisk prompts")
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
    per_class[ENGINE_SPLIT] = a.engine_per_class if a.engine_per_class is not None else per_class["test"]
    s = generate(a.out, a.seed, per_class, (lo, hi), a.train_mixtures, a.workers, progress=not a.quiet,
                 human_speech=not a.no_human)
    print(f"corpus: {sum(s['utterances'].values())} utterances ({s['speech_seconds'] / 60:.1f} min of speech), "
          f"{sum(s['mixtures'].values())} mixtures in {s['elapsed_s']:.1f} s = {s['utterances_per_s']:.1f} utt/s "
          f"with {s['workers']} workers -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
