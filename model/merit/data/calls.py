#!/usr/bin/python3
"""Two-channel demo calls (agent + customer) with an emotion script over time and ground truth as JSON.

    PYTHONPATH=model /usr/bin/python3 -m merit.data.calls --out data/calls --seed 7

(from the repository root; run from model/, a relative --out whose parent folder does not exist there is taken from
the repository root, so `data/calls` still means the shipped folder). For each call in call_scripts.json it writes
    <id>.agent.wav, <id>.customer.wav   one PCM16 16 kHz mono WAV per channel, equal length, time-aligned
    <id>.json                           the script with ground-truth times
JSON: {"id", "title", "sample_rate", "duration_s", "seed",
       "channels": {"agent": {"file", "speaker", "noise", "snr_db"}, "customer": {...}},
       "segments": [{"channel", "start_s", "end_s", "emotion", "text"}],      one per utterance (≤ 0.15 s padding)
       "spans": [{"channel", "start_s", "end_s", "emotion"}]}                 runs of one emotion on one channel
Turns alternate (one channel talks at a time) with short pauses; each channel carries its own mild noise all the time,
at an SNR measured on that channel's active speech.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from .audio import SAMPLE_RATE, limit_peak, write_wav
from .mix import scale_noise_to_snr
from .noise import make_noise
from .prosody import sample_prosody
from .tts import synthesize
from .voices import speaker_from_id

SCRIPTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "call_scripts.json")
CHANNELS = ("agent", "customer")
ACT_STRENGTH = 0.7          # acted emotions from the stronger 70 % of each range: the demo needs clear cases
LEAD_S, TAIL_S = 0.6, 0.8   # silence (noise only) at the start and the end of the call
SPAN_GAP_S = 2.0            # utterances of one emotion closer than this belong to one span
CALL_GAIN_DB = 6.0          # raises the call towards telephone level (neutral speech ≈ -27 dBFS active)


def load_scripts(path: str = SCRIPTS_FILE) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)["calls"]


def _spans(segments: list[dict]) -> list[dict]:
    spans = []
    for ch in CHANNELS:
        cur = None
        for s in (s for s in segments if s["channel"] == ch):
            if cur and cur["emotion"] == s["emotion"] and s["start_s"] - cur["end_s"] <= SPAN_GAP_S:
                cur["end_s"] = s["end_s"]
            else:
                cur = {"channel": ch, "start_s": s["start_s"], "end_s": s["end_s"], "emotion": s["emotion"]}
                spans.append(cur)
    return sorted(spans, key=lambda s: (s["start_s"], s["channel"]))


def render_call(script: dict, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """Synthesises one call; returns the channel signals and the JSON ground truth (without file names)."""
    rng = np.random.default_rng([seed, sum(map(ord, script["id"]))])
    spk = {ch: speaker_from_id(script[ch]["speaker"]) for ch in CHANNELS}
    placed = []  # (channel, start sample, audio, emotion, text)
    t = int(LEAD_S * SAMPLE_RATE)
    for ch, emotion, lines in script["turns"]:
        if ch not in CHANNELS:
            raise ValueError(f"{script['id']}: unknown channel {ch!r}")
        for i, text in enumerate(lines):
            x = synthesize(spk[ch], text, sample_prosody(emotion, rng, strength=ACT_STRENGTH))
            placed.append((ch, t, x, emotion, text))
            t += x.size
            if i < len(lines) - 1:
                t += int(rng.uniform(0.2, 0.5) * SAMPLE_RATE)   # breath between lines of one turn
        t += int(rng.uniform(0.4, 0.9) * SAMPLE_RATE)            # the other side takes a moment to answer
    n = t + int((TAIL_S - 0.4) * SAMPLE_RATE)
    tracks = {ch: np.zeros(n, dtype=np.float64) for ch in CHANNELS}
    segments = []
    for ch, start, x, emotion, text in placed:
        tracks[ch][start:start + x.size] += x
        segments.append({"channel": ch, "start_s": round(start / SAMPLE_RATE, 3),
                         "end_s": round((start + x.size) / SAMPLE_RATE, 3), "emotion": emotion, "text": text})
    out, channels = {}, {}
    for ch in CHANNELS:
        conf = script[ch]
        noise = make_noise(conf["noise"], n, rng, split="test")
        y = (tracks[ch] + scale_noise_to_snr(tracks[ch], noise, conf["snr_db"])) * 10 ** (CALL_GAIN_DB / 20)
        out[ch], _ = limit_peak(y.astype(np.float32), 0.9)
        channels[ch] = {"speaker": conf["speaker"], "noise": conf["noise"], "snr_db": conf["snr_db"]}
    truth = {"id": script["id"], "title": script.get("title", ""), "sample_rate": SAMPLE_RATE,
             "duration_s": round(n / SAMPLE_RATE, 3), "seed": seed, "channels": channels,
             "segments": sorted(segments, key=lambda s: s["start_s"]), "spans": _spans(segments)}
    return out, truth


def write_call(out_dir: str, script: dict, seed: int) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    audio, truth = render_call(script, seed)
    for ch in CHANNELS:
        fname = f"{script['id']}.{ch}.wav"
        write_wav(os.path.join(out_dir, fname), audio[ch])
        truth["channels"][ch] = {"file": fname, **truth["channels"][ch]}
    with open(os.path.join(out_dir, f"{script['id']}.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    return truth


def _resolve_out(path: str) -> str:
    """`data/calls` means the repository's folder also when run from model/ (python3 -m needs model/ as cwd)."""
    if os.path.isabs(path) or os.path.isdir(os.path.dirname(path) or "."):
        return path
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    return os.path.join(repo, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m merit.data.calls", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scripts", default=SCRIPTS_FILE, help="call scripts JSON (default: the shipped one)")
    ap.add_argument("--only", nargs="*", help="ids of the calls to generate (default: all)")
    a = ap.parse_args(argv)
    out = _resolve_out(a.out)
    scripts = [s for s in load_scripts(a.scripts) if not a.only or s["id"] in a.only]
    for i, s in enumerate(scripts, 1):
        truth = write_call(out, s, a.seed)
        longest = max((sp["end_s"] - sp["start_s"] for sp in truth["spans"]
                       if sp["channel"] == "customer" and sp["emotion"] == "angry"), default=0.0)
        print(f"[calls] {i}/{len(scripts)} {s['id']}: {truth['duration_s']:.1f} s, {len(truth['segments'])} segments, "
              f"longest customer angry span {longest:.1f} s -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
