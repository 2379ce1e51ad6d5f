"""Window inference against streaming inference (merit.streaming), on calls, as the job runs them.

    /usr/bin/python3 -m merit.stream_eval --checkpoint merit-sparse.pt --manifest test.jsonl \
        --context 0.48 --lookahead 0.16 --overlap 0.16 --out stream-test.json

A test manifest's items are utterances of 2-4 s; the job sees calls. Consecutive items are joined into calls of
`--per-call` items, and each call runs both ways:

- window: the job's windows (3 s every 1 s, the first one left-padded), the whole model on each, the enhanced windows
  cross-faded by the sin² overlap-add of the job's analytics;
- streaming: hops of 1 s with `--context` before them, the emotion of the window ending with each hop pooled over
  its last 3 hops' frames, the enhanced hops cross-faded over `--overlap`.

`--window CKPT` runs the window side with another checkpoint: a model fine-tuned for streaming against the one it
came from.

An item's emotion is the mean of the probabilities of the windows that end in it (or up to half a hop after it), as
`bin/merit evaluate` averages an item's windows; its SSNR / STOI are taken on its stretch of the call's enhanced
signal. Differences (streaming minus window) come with 95 % intervals from a bootstrap over calls.
"""
import argparse
import json
import os
import time
from typing import Dict, List

import numpy as np
import torch

from merit.data.audio import read_wav
from merit.evaluate import paired_bootstrap
from merit.factory import load_checkpoint
from merit.metrics import f1_scores, se_item_metrics
from merit.streaming import StreamingShape, overlap_add, stream_waveform


@torch.no_grad()
def window_path(model, x: np.ndarray, window: int, hop: int):
    """The job's window inference of one call [N] -> (enhanced [N], probabilities of each window, ends)."""
    n = len(x)
    hops = -(-n // hop)
    padded = np.zeros(window - hop + hops * hop, np.float32)
    padded[window - hop:window - hop + n] = x
    enhanced, probs = [], []
    for k in range(hops):
        out = model(torch.from_numpy(padded[k * hop:k * hop + window])[None])
        probs.append(torch.softmax(out.emotion_logits[0], -1).numpy())
        enhanced.append(out.enhanced)
    return overlap_add(enhanced, hop)[0, window - hop:window - hop + n].numpy().astype(np.float32), probs


def item_emotion(probs: List[np.ndarray], hop: int, start: int, end: int) -> np.ndarray:
    """Mean probabilities of the windows (ending at (k + 1) · hop) that end in (start, end + hop / 2]."""
    inside = [p for k, p in enumerate(probs) if start < (k + 1) * hop <= end + hop // 2]
    return np.mean(inside or [probs[min(len(probs) - 1, end // hop)]], 0)


def evaluate(ckpt: str, manifest: str, shape: StreamingShape, per_call: int, limit=None, log=print,
             window_ckpt: str = None) -> Dict:
    """`ckpt` both ways, or streamed against `window_ckpt` run by windows (a model fine-tuned for streaming against
    the one it came from)."""
    model, cfg, _, _ = load_checkpoint(ckpt)
    window_model = load_checkpoint(window_ckpt)[0] if window_ckpt else model
    classes = list(cfg.ser.classes)
    root = os.path.dirname(os.path.abspath(manifest))
    with open(manifest) as f:
        recs = [json.loads(line) for line in f][:limit]
    window = round(cfg.window_seconds * cfg.sample_rate)
    items: List[Dict] = []
    t0 = time.time()
    for call, c in enumerate(range(0, len(recs), per_call)):
        group = recs[c:c + per_call]
        noisy = [read_wav(os.path.join(root, r["noisy"])) for r in group]
        clean = [read_wav(os.path.join(root, r["clean"])) for r in group]
        bounds = np.cumsum([0] + [len(x) for x in noisy])
        x = np.concatenate(noisy)
        streamed = stream_waveform(model, torch.from_numpy(x)[None], shape)
        ways = {"window": window_path(window_model, x, window, shape.hop),
                "streaming": (streamed.enhanced[0].numpy(),
                              [torch.softmax(lg[0], -1).numpy() for lg in streamed.window_logits])}
        for i, r in enumerate(group):
            a, b = int(bounds[i]), int(bounds[i + 1])
            item = {"call": call, "noisy": r["noisy"], "label": classes.index(r["emotion"]),
                    "snr_db": r.get("snr_db")}
            for way, (enhanced, probs) in ways.items():
                item[way] = {"pred": int(item_emotion(probs, shape.hop, a, b).argmax()),
                             **se_item_metrics(clean[i], noisy[i], enhanced[a:b])}
            items.append(item)
        log(f"[stream_eval] {len(items)}/{len(recs)} items, {time.time() - t0:.0f} s")
    return {"manifest": os.path.abspath(manifest), "checkpoint": os.path.abspath(ckpt),
            "window_checkpoint": os.path.abspath(window_ckpt or ckpt), "per_call": per_call,
            "shape": shape._asdict(), "summary": summarise(items, len(classes)), "items": items}


def summarise(items: List[Dict], num_classes: int) -> Dict:
    labels = np.array([it["label"] for it in items])
    calls = np.array([it["call"] for it in items])
    out: Dict = {"items": len(items), "calls": int(len(set(calls.tolist())))}

    def col(way, key):
        return np.array([it[way][key] for it in items], dtype=np.float64)

    for way in ("window", "streaming"):
        pred = col(way, "pred").astype(int)
        out[way] = {"f1_macro": f1_scores(labels, pred, num_classes)["f1_macro"],
                    **{k: float(col(way, k).mean()) for k in ("ssnr_enhanced_db", "stoi_enhanced")}}
    out["noisy"] = {k: float(col("window", k).mean()) for k in ("ssnr_noisy_db", "stoi_noisy")}
    pw, ps = col("window", "pred").astype(int), col("streaming", "pred").astype(int)
    out["prediction_agreement"] = float(np.mean(pw == ps))
    f1 = lambda pred, idx: f1_scores(labels[idx], pred[idx], num_classes)["f1_macro"]  # noqa: E731
    out["difference"] = {"f1_macro": paired_bootstrap(lambda idx: f1(ps, idx) - f1(pw, idx), calls)}
    for key in ("ssnr_enhanced_db", "stoi_enhanced"):
        d = col("streaming", key) - col("window", key)
        out["difference"][key] = paired_bootstrap(lambda idx: d[idx].mean(), calls)
    return out


def markdown(results: List[Dict]) -> str:
    rows = ["| test set | items (calls) | F1 window → streaming (Δ, 95 % CI) | SSNR dB noisy / window → streaming (Δ) "
            "| STOI noisy / window → streaming (Δ) | same prediction |", "|---|---|---|---|---|---|"]
    for r in results:
        s, d = r["summary"], r["summary"]["difference"]

        def ci(x, fmt):
            return f"{fmt.format(x['difference'])} [{fmt.format(x['ci95'][0])}, {fmt.format(x['ci95'][1])}]"

        rows.append(f"| {os.path.basename(r['manifest'])} | {s['items']} ({s['calls']}) "
                    f"| {s['window']['f1_macro']:.3f} → {s['streaming']['f1_macro']:.3f} ({ci(d['f1_macro'], '{:+.3f}')}) "
                    f"| {s['noisy']['ssnr_noisy_db']:.2f} / {s['window']['ssnr_enhanced_db']:.2f} → "
                    f"{s['streaming']['ssnr_enhanced_db']:.2f} ({ci(d['ssnr_enhanced_db'], '{:+.2f}')}) "
                    f"| {s['noisy']['stoi_noisy']:.3f} / {s['window']['stoi_enhanced']:.3f} → "
                    f"{s['streaming']['stoi_enhanced']:.3f} ({ci(d['stoi_enhanced'], '{:+.3f}')}) "
                    f"| {s['prediction_agreement']:.1%} |")
    return "\n".join(rows) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="merit.stream_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="the model streamed (and run by windows, without --window)")
    p.add_argument("--window", help="another checkpoint for the window side (the model a streaming one came from)")
    p.add_argument("--manifest", required=True, nargs="+")
    p.add_argument("--context", type=float, default=0.48, help="seconds of left context per hop")
    p.add_argument("--lookahead", type=float, default=0.16, help="seconds the enhanced hop ends before the chunk")
    p.add_argument("--overlap", type=float, default=0.16, help="seconds of cross-fade between enhanced hops")
    p.add_argument("--per-call", type=int, default=8, help="consecutive manifest items per call")
    p.add_argument("--limit", type=int)
    p.add_argument("--out", required=True, help="JSON per manifest (OUT with the manifest's name) and OUT.md")
    args = p.parse_args(argv)
    _, cfg, _, _ = load_checkpoint(args.checkpoint)
    shape = StreamingShape.of(cfg.sample_rate, cfg.window_seconds, cfg.hop_seconds, args.context, args.lookahead,
                              args.overlap)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results = []
    for manifest in args.manifest:
        res = evaluate(args.checkpoint, manifest, shape, args.per_call, args.limit, window_ckpt=args.window)
        stem = os.path.splitext(os.path.basename(manifest))[0]
        with open(f"{os.path.splitext(args.out)[0]}-{stem}.json", "w") as f:
            json.dump(res, f, indent=1)
        results.append(res)
    table = markdown(results)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
