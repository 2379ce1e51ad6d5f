#!/usr/bin/python3
"""Writes the metric fixture shared with the Java evaluator (`bin/merit evaluate`), so that both sides can be checked
against the same numbers:

    /usr/bin/python3 model/merit/metrics_fixture.py            # from the repository root; rewrites the fixture
    /usr/bin/python3 model/merit/metrics_fixture.py --check    # exit 1 when the committed values are stale

The fixture (model/tests/fixtures/metrics/) holds deterministic 16 kHz signals as 16-bit PCM WAV files (the format of
the corpus, read by both sides as int16 / 32768, so both start from bit-identical samples), label/prediction lists,
per-item evaluation records, and in `expected.json` what `merit.metrics` computes from them: F1 / accuracy / confusion
per label case, SSNR / SI-SDR / STOI per signal pair, and `evaluation_summary` of the records (the grouping and key
formatting of the result JSON). Java's `MetricsAgreementTest` recomputes every value; `test_metrics_fixture.py` checks
that this script, run again, still yields the committed values, so a change on either side fails a test.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Dict, List, Tuple

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from merit.metrics import evaluation_summary, f1_scores, si_sdr, ssnr, stoi  # noqa: E402

SR = 16000
FIXTURE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures", "metrics")
EXPECTED = "expected.json"


def _speech_like(n: int, seed: int, f0: float = 120.0, syllable_hz: float = 2.5) -> np.ndarray:
    """Amplitude-modulated harmonics with silent gaps: enough envelope structure for STOI, pauses for its VAD."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f = f0 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * syllable_hz * t), 0, None) ** 2
    return 0.3 * env * x + 1e-4 * rng.standard_normal(n)


def _at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(np.sum(clean ** 2) / (np.sum(noise ** 2) * 10 ** (snr_db / 10)))
    return clean + gain * noise


def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(x) * 32768.0), -32768, 32767).astype(np.int16)


def signals() -> Dict[str, np.ndarray]:
    """The fixture's signals as int16 (what is written); lengths deliberately not multiples of any hop."""
    rng = np.random.default_rng(20261126)
    a = _speech_like(24_123, seed=1)
    white = rng.standard_normal(a.size)
    babble = sum(_speech_like(a.size, seed=10 + k, f0=95 + 37 * k, syllable_hz=1.7 + 0.9 * k) for k in range(4))
    # A crude "enhancement": the -5 dB mixture with most of the noise taken out and a little low-pass smearing.
    noisy_m5 = _at_snr(a, white, -5)
    partial = a + 0.25 * (noisy_m5 - a)
    smeared = np.convolve(partial, np.ones(5) / 5, mode="same")
    # B: one syllable then a long pause (silent-frame removal in STOI, the -10 dB clamp in SSNR).
    b = _speech_like(20_800, seed=2, f0=210, syllable_hz=3.1)
    b[14_000:] *= 0.0
    b_noisy = _at_snr(b, rng.standard_normal(b.size), 0)
    short = _speech_like(4_000, seed=3)  # 0.25 s: fewer than 30 STOI frames
    return {name: _pcm16(x) for name, x in {
        "a_clean": a,
        "a_white_5db": _at_snr(a, white, 5),
        "a_white_m5db": noisy_m5,
        "a_babble_0db": _at_snr(a, babble, 0),
        "a_enhanced": smeared,
        "a_scaled_delayed": 0.5 * np.concatenate([np.zeros(40), a[:-40]]),
        "b_clean": b,
        "b_noisy_0db": b_noisy,
        "short_clean": short,
        "short_noisy": _at_snr(short, rng.standard_normal(short.size), 3),
    }.items()}


# (reference, estimate) pairs whose SSNR, SI-SDR and STOI the fixture records.
PAIRS: List[Tuple[str, str]] = [
    ("a_clean", "a_clean"),
    ("a_clean", "a_white_5db"),
    ("a_clean", "a_white_m5db"),
    ("a_clean", "a_babble_0db"),
    ("a_clean", "a_enhanced"),
    ("a_clean", "a_scaled_delayed"),
    ("b_clean", "b_noisy_0db"),
    ("short_clean", "short_noisy"),
]


def label_cases() -> List[Dict]:
    rng = np.random.default_rng(7)
    rand_labels = rng.integers(0, 4, 200)
    # a classifier right ~60 % of the time, biased towards class 3 when wrong
    rand_preds = np.where(rng.random(200) < 0.6, rand_labels, np.where(rng.random(200) < 0.5, 3, rng.integers(0, 4, 200)))
    return [
        {"name": "known_confusion", "labels": [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2],
         "preds": [0, 0, 0, 1, 1, 1, 0, 0, 2, 2, 2, 2, 3]},
        {"name": "perfect", "labels": [0, 1, 2, 3, 3], "preds": [0, 1, 2, 3, 3]},
        {"name": "all_wrong", "labels": [0, 1, 2, 3], "preds": [1, 2, 3, 0]},
        {"name": "absent_class", "labels": [0, 0, 1, 1, 1], "preds": [0, 1, 1, 1, 0]},
        {"name": "one_item", "labels": [2], "preds": [2]},
        {"name": "random_200", "labels": rand_labels.tolist(), "preds": rand_preds.tolist()},
    ]


def summary_items() -> List[Dict]:
    """Evaluation records as the evaluators build them (some without a prediction, some without SE numbers)."""
    rng = np.random.default_rng(11)
    snrs = [-5.0, 0.0, 2.5, 5.0, 20.0]
    seen = [True, False, None]
    items = []
    for i in range(30):
        it: Dict = {"label": int(i % 4), "snr_db": snrs[i % 5], "noise_seen": seen[i % 3]}
        if i % 7 != 6:
            it["pred"] = int((i + (i % 3 == 0) + (i % 5 == 1)) % 4)
        if i % 4 != 3:
            it.update({"ssnr_noisy_db": float(rng.uniform(-8, 5)), "ssnr_enhanced_db": float(rng.uniform(-5, 10)),
                       "si_sdr_noisy_db": float(rng.uniform(-10, 10)), "si_sdr_enhanced_db": float(rng.uniform(-5, 15)),
                       "stoi_noisy": float(rng.uniform(0.4, 0.9)), "stoi_enhanced": float(rng.uniform(0.5, 0.95))})
        items.append(it)
    return items


def read_signal(directory: str, name: str) -> np.ndarray:
    x, sr = sf.read(os.path.join(directory, name + ".wav"), dtype="float32")
    assert sr == SR, f"{name}: {sr} Hz"
    return x


def compute(directory: str) -> Dict:
    """Everything in expected.json, computed from the WAV files in `directory` (not from `signals()`)."""
    se = []
    for ref, est in PAIRS:
        r, e = read_signal(directory, ref), read_signal(directory, est)
        se.append({"reference": ref, "estimate": est, "ssnr_db": ssnr(r, e), "si_sdr_db": si_sdr(r, e),
                   "stoi": stoi(r, e)})
    ser = []
    for case in label_cases():
        f = f1_scores(case["labels"], case["preds"], 4)
        ser.append({**case, "f1_macro": f["f1_macro"], "f1_micro": f["f1_micro"], "accuracy": f["accuracy"],
                    "f1_per_class": f["f1_per_class"], "confusion": f["confusion"]})
    items = summary_items()
    return {"sample_rate": SR, "num_classes": 4, "se": se, "ser": ser,
            "summary": {"items": items, "expected": evaluation_summary(items, 4)}}


def write(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for name, x in signals().items():
        sf.write(os.path.join(directory, name + ".wav"), x, SR, subtype="PCM_16")
    with open(os.path.join(directory, EXPECTED), "w") as f:
        json.dump(compute(directory), f, indent=1)
        f.write("\n")


def stale(directory: str, rel: float = 1e-9) -> List[str]:
    """Differences between the committed expected.json and what the current code computes from the same WAVs."""
    with open(os.path.join(directory, EXPECTED)) as f:
        committed = json.load(f)
    problems: List[str] = []

    def walk(a, b, path):
        if isinstance(a, dict) and isinstance(b, dict):
            if set(a) != set(b):
                problems.append(f"{path}: keys {sorted(a)} vs {sorted(b)}")
            for k in set(a) & set(b):
                walk(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                problems.append(f"{path}: length {len(a)} vs {len(b)}")
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{path}[{i}]")
        elif isinstance(a, float) or isinstance(b, float):
            if not (isinstance(a, (int, float)) and isinstance(b, (int, float))) or not math.isclose(
                    a, b, rel_tol=rel, abs_tol=1e-12):
                problems.append(f"{path}: committed {a!r}, now {b!r}")
        elif a != b:
            problems.append(f"{path}: committed {a!r}, now {b!r}")

    walk(committed, compute(directory), "expected")
    # The WAVs themselves must still be what signals() generates, or the fixture no longer documents its inputs.
    for name, x in signals().items():
        on_disk, _ = sf.read(os.path.join(directory, name + ".wav"), dtype="int16")
        if not np.array_equal(on_disk, x):
            problems.append(f"{name}.wav differs from what signals() generates")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=FIXTURE_DIR, help="fixture directory (default: %(default)s)")
    ap.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on any difference")
    a = ap.parse_args(argv)
    if a.check:
        problems = stale(a.out)
        for p in problems:
            print(p, file=sys.stderr)
        print("metric fixture " + ("STALE" if problems else "up to date"), file=sys.stderr)
        return 1 if problems else 0
    write(a.out)
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
