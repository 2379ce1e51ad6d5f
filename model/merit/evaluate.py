#!/usr/bin/python3
"""Evaluates trained models on a test manifest, compares them, and exports them with their test metrics.

    # one model -> per-item results + summary (the contract dict of merit.metrics.evaluation_summary)
    /usr/bin/python3 -m merit.evaluate --checkpoint work/runs/merit-sparse/final.pt \
        --manifest work/corpus/test.jsonl --out work/eval/merit-sparse.json
    # several models -> DIR/results.json, DIR/results.md, DIR/*.png (paired significance vs --reference)
    /usr/bin/python3 -m merit.evaluate --report work/eval/*.json --reference merit-sparse --out models/eval
    # ONNX + model cards carrying the test metrics
    /usr/bin/python3 -m merit.evaluate --export work/runs/*/final.pt --results models/eval/results.json --out models

(run from model/, or with model/ on PYTHONPATH). Each test utterance is run whole (batch 1, no padding, so padding
cannot leak into the attention pooling), SE metrics compare the clean reference with the noisy input and with the
enhanced output over their common length. Significance: McNemar's exact test on per-item correctness and a paired
bootstrap (items resampled together for both models) of the F1-macro and SSNR differences.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from merit import device as devices
from merit.config import EMOTION_CLASSES, CascadeConfig, config_to_dict
from merit.device import Runtime, to_cpu, to_float
from merit.export import uses_speaker_reference
from merit.factory import load_checkpoint
from merit.heads import ReferenceInputs
from merit.train import dev_references, manifest_references
from merit.data.mix import CLEAN_SNR_DB
from merit.metrics import evaluation_summary, f1_scores, se_item_metrics
from merit.pretrain import read_audio, read_manifest

BOOTSTRAP = 2000


# ------------------------------------------------------------------------------------------------------ one model


class GroupAudio(torch.utils.data.Dataset):
    """Item k: the noisy and clean audio of group k (lists of float32 arrays), read in a data worker."""

    def __init__(self, groups: List[List[Dict]]):
        self.groups = groups

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, k: int):
        return ([read_audio(r["noisy_path"]) for r in self.groups[k]],
                [read_audio(r["clean_path"]) for r in self.groups[k]])


class SEMetrics:
    """The SE metrics of each item (noisy ones from the manifest's cache when there), computed in `workers` processes
    when there are any: STOI and SSNR of a large test set are CPU work that would otherwise hold up the GPU. Results
    are written into the items in the order they were added; at most 4 x workers items wait at a time."""

    def __init__(self, workers: int, noisy_cache: Dict[str, Dict]):
        import collections
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.cache, self.pending, self.limit = noisy_cache, collections.deque(), 4 * max(1, workers)
        context = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
        self.pool = ProcessPoolExecutor(workers, mp_context=context) if workers > 0 else None

    def add(self, item: Dict, key: str, clean: np.ndarray, noisy: np.ndarray, enhanced: np.ndarray) -> None:
        cached = self.cache.get(key)
        if self.pool is None:
            self._apply(item, key, cached or se_item_metrics(clean, noisy), se_item_metrics(clean, enhanced))
            return
        noisy_m = cached or self.pool.submit(se_item_metrics, clean, noisy)
        self.pending.append((item, key, noisy_m, self.pool.submit(se_item_metrics, clean, enhanced)))
        while len(self.pending) > self.limit:
            self._next()

    def _next(self) -> None:
        item, key, noisy_m, enhanced_m = self.pending.popleft()
        self._apply(item, key, noisy_m if isinstance(noisy_m, dict) else noisy_m.result(), enhanced_m.result())

    def _apply(self, item: Dict, key: str, noisy_m: Dict, enhanced_m: Dict) -> None:
        self.cache[key] = noisy_m
        item.update({k: round(v, 5) for k, v in noisy_m.items()})
        item.update({k.replace("noisy", "enhanced"): round(v, 5) for k, v in enhanced_m.items()})

    def finish(self) -> None:
        while self.pending:
            self._next()
        if self.pool is not None:
            self.pool.shutdown()


@torch.no_grad()
def evaluate_checkpoint(ckpt: str, manifest: str, log=print, limit: Optional[int] = None,
                        name: Optional[str] = None, reference_size: int = 0,
                        reference_emotion: Optional[str] = None, reference_seed: int = 0,
                        runtime: Optional[Runtime] = None) -> Dict:
    """One model on one manifest. A model with the speaker-reference inputs gets each item's own prosody and, with
    `reference_size` > 0, a reference of that many other items of the same speaker (`reference_emotion`: only those
    of that emotion, the skewed check); without, weight 0 (judged alone). `runtime`: the device, --amp and the
    workers that read the audio and compute the SE metrics (default: CPU, float32, all in this process); metrics are
    computed in float32 on the CPU."""
    rt = runtime or Runtime.create()
    model, cfg, data, _ = load_checkpoint(ckpt)
    model = rt.prepare(model)
    if name:
        cfg.name = name  # e.g. a stage-1 snapshot reported beside the final model
    blob = devices.load(ckpt)
    recs = read_manifest(manifest)[:limit] if limit else read_manifest(manifest)
    num_experts = None if isinstance(cfg, CascadeConfig) or cfg.kind != "sparse_merit" else cfg.moe.num_experts
    items = []
    route_counts = {t: np.zeros(num_experts, np.int64) for t in ("se", "ser")} if num_experts else None
    agree = total_frames = 0
    t0 = last = time.time()
    noisy_cache = _load_noisy_cache(manifest)
    done = 0
    references = None
    if uses_speaker_reference(cfg):
        references = manifest_references(recs, reference_size, reference_seed, reference_emotion)
        position = {id(r): k for k, r in enumerate(recs)}
    groups = _same_length_groups(recs)
    metrics = SEMetrics(rt.workers, noisy_cache)
    for group, (noisys, cleans) in zip(groups, rt.loader(GroupAudio(groups), seed=0)):
        # The test mixtures of one utterance share its length: one batched forward without any padding.
        x = rt.to_device(torch.from_numpy(np.stack(noisys)))
        with rt.autocast():
            if references is not None:
                rows = [position[id(r)] for r in group]
                out = model(x, rt.to_device(ReferenceInputs(*[torch.from_numpy(t[rows]) for t in references])))
            else:
                out = model(x)
        out = to_cpu(to_float(out))
        for b, r in enumerate(group):
            noisy, clean = noisys[b], cleans[b]
            item = {"utt": r.get("utt", os.path.basename(r["noisy"])), "noisy": r["noisy"],
                    "label": EMOTION_CLASSES.index(r["emotion"]), "snr_db": float(r["snr_db"]), "noise": r["noise"],
                    "noise_seen": r.get("noise_seen"), "speaker": r.get("speaker")}
            if references is not None:
                item["reference_weight"] = round(float(references[2][position[id(r)]]), 3)
            if out.emotion_logits is not None:
                probs = torch.softmax(out.emotion_logits[b], -1)
                item["pred"] = int(probs.argmax())
                item["probs"] = [round(float(p), 5) for p in probs]
            if out.enhanced is not None:
                enhanced = out.enhanced[b].numpy()
                n = min(len(clean), len(enhanced))
                metrics.add(item, r["noisy"], clean[:n], noisy[:n], enhanced[:n])
            if out.gates is not None:
                per = {t: np.bincount(g.routing[b].numpy(), minlength=num_experts) for t, g in out.gates.items()}
                for task, counts in per.items():
                    route_counts[task] += counts
                agree += int((out.gates["se"].routing[b] == out.gates["ser"].routing[b]).sum())
                total_frames += int(out.gates["se"].routing[b].numel())
                item["routing"] = {t: c.tolist() for t, c in per.items()}
            items.append(item)
        done += len(group)
        if time.time() - last > 15 or done == len(recs):
            last = time.time()
            rate = done / (last - t0)
            log(f"[evaluate {cfg.name}] {done}/{len(recs)} items, {rate:.1f}/s, ETA {(len(recs) - done) / rate:.0f} s")
    metrics.finish()
    _save_noisy_cache(manifest, noisy_cache)
    summary = evaluation_summary(items, len(EMOTION_CLASSES))
    if route_counts is not None:
        summary["expert_utilisation"] = {
            t: [round(float(c) / max(1, c_sum), 4) for c in counts]
            for t, counts in route_counts.items() for c_sum in [counts.sum()]}
        summary["gate_agreement"] = round(agree / max(1, total_frames), 4)
    history = blob.get("history")
    return {"name": cfg.name, "checkpoint": os.path.abspath(ckpt), "manifest": os.path.abspath(manifest),
            "config": config_to_dict(cfg), "data": data, "summary": summary, "items": items,
            "training": _compact_history(history), "seconds": round(time.time() - t0, 1),
            "speaker_reference": {"size": reference_size, "emotion": reference_emotion, "seed": reference_seed}
            if references is not None else None,
            "runtime": {"device": str(rt.device), "amp": rt.amp}}


def _same_length_groups(recs: List[Dict]) -> List[List[Dict]]:
    """Consecutive manifest records whose noisy files have the same number of samples (at most 8 per group)."""
    from merit.data.audio import wav_frames

    groups: List[List[Dict]] = []
    last_len = None
    for r in recs:
        n = wav_frames(r["noisy_path"])
        if groups and n == last_len and len(groups[-1]) < 8:
            groups[-1].append(r)
        else:
            groups.append([r])
        last_len = n
    return groups


def _cache_path(manifest: str) -> str:
    return os.path.splitext(os.path.abspath(manifest))[0] + ".noisy_metrics.json"


def _load_noisy_cache(manifest: str) -> Dict[str, Dict]:
    """The noisy-input metrics are the same for every model: computed once per manifest and reused."""
    try:
        with open(_cache_path(manifest)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save_noisy_cache(manifest: str, cache: Dict[str, Dict]) -> None:
    path = _cache_path(manifest)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(cache, f)
    os.replace(tmp, path)


def _compact_history(history) -> Optional[Dict]:
    """Loss curves for the plots (per-step totals; for a cascade, one curve per half)."""
    if history is None:
        return None
    if isinstance(history, dict):
        return {k: _compact_history(v) for k, v in history.items()}
    return {"step": [h["step"] for h in history], "total": [h["total"] for h in history],
            "stage": [h.get("stage") for h in history]}


# ------------------------------------------------------------------------------------------------- significance


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> Dict:
    """Two-sided exact McNemar test on paired correctness (binomial on the discordant pairs)."""
    b = int(np.sum(correct_a & ~correct_b))
    c = int(np.sum(~correct_a & correct_b))
    n = b + c
    if n == 0:
        return {"a_only": b, "b_only": c, "p_value": 1.0}
    k = min(b, c)
    # P(X <= k) for X ~ Bin(n, 0.5), doubled; computed in log space so large n cannot overflow.
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    m = max(logs)
    p = min(1.0, 2 * math.exp(m) * sum(math.exp(v - m) for v in logs))
    return {"a_only": b, "b_only": c, "p_value": p}


def paired_bootstrap(stat, clusters: np.ndarray, rounds: int = BOOTSTRAP, seed: int = 0) -> Dict:
    """stat(idx) -> difference (reference minus baseline) on the resampled items; two-sided p of 'difference = 0'.

    Resamples whole clusters (`clusters[i]` = the utterance of item i): the mixtures of one utterance share its
    speaker, text and emotion, so they are not independent, and resampling them one by one would understate the
    spread."""
    rng = np.random.default_rng(seed)
    groups = _cluster_members(clusters)
    observed = stat(np.arange(len(clusters)))
    diffs = np.array([stat(np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))]))
                      for _ in range(rounds)])
    p = 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0))
    return {"difference": float(observed), "ci95": [float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))],
            "p_value": float(min(1.0, max(p, 1.0 / rounds))), "clusters": len(groups)}


def _cluster_members(clusters: np.ndarray) -> List[np.ndarray]:
    _, inverse = np.unique(clusters, return_inverse=True)
    return [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)] if len(clusters) else []


def clustered_sign_flip(correct_a: np.ndarray, correct_b: np.ndarray, clusters: np.ndarray,
                        rounds: int = BOOTSTRAP, seed: int = 0) -> Dict:
    """McNemar's question (do the two models' error rates differ?) for clustered items: a paired randomisation test
    that flips the sign of each utterance's summed difference (correct_a - correct_b) at random. Under the null the
    two models are exchangeable within an utterance, so every sign pattern is equally likely."""
    groups = _cluster_members(clusters)
    d = np.array([float(np.sum(correct_a[g].astype(int) - correct_b[g].astype(int))) for g in groups])
    observed = abs(d.sum())
    rng = np.random.default_rng(seed)
    flips = rng.choice([-1.0, 1.0], size=(rounds, len(d)))
    null = np.abs(flips @ d)
    p = (1 + int(np.sum(null >= observed - 1e-9))) / (rounds + 1)
    return {"a_only": int(np.sum(correct_a & ~correct_b)), "b_only": int(np.sum(~correct_a & correct_b)),
            "clusters": len(groups), "p_value": float(min(1.0, p))}


def _align(ref: Dict, other: Dict, cond=None):
    key = lambda it: (it["noisy"])  # noqa: E731
    other_by = {key(it): it for it in other["items"]}
    pairs = [(it, other_by[key(it)]) for it in ref["items"] if key(it) in other_by and (cond is None or cond(it))]
    return pairs


def significance(ref: Dict, other: Dict, cond=None) -> Dict:
    pairs = _align(ref, other, cond)
    out: Dict = {"items": len(pairs)}
    if not pairs:
        return out
    clusters = np.array([a.get("utt") or a["noisy"] for a, _ in pairs])
    labels = np.array([a["label"] for a, _ in pairs])
    if all("pred" in a and "pred" in b for a, b in pairs):
        pa = np.array([a["pred"] for a, _ in pairs])
        pb = np.array([b["pred"] for _, b in pairs])
        # The unclustered exact test stays in the JSON for comparison; the tables report the clustered one.
        out["mcnemar_accuracy"] = mcnemar_exact(pa == labels, pb == labels)
        out["clustered_accuracy"] = clustered_sign_flip(pa == labels, pb == labels, clusters)
        k = len(EMOTION_CLASSES)

        def f1_diff(idx):
            return f1_scores(labels[idx], pa[idx], k)["f1_macro"] - f1_scores(labels[idx], pb[idx], k)["f1_macro"]

        out["bootstrap_f1_macro"] = paired_bootstrap(f1_diff, clusters)
    if all("ssnr_enhanced_db" in a and "ssnr_enhanced_db" in b for a, b in pairs):
        sa = np.array([a["ssnr_enhanced_db"] for a, _ in pairs])
        sb = np.array([b["ssnr_enhanced_db"] for _, b in pairs])
        out["bootstrap_ssnr_db"] = paired_bootstrap(lambda idx: float(np.mean(sa[idx] - sb[idx])), clusters)
    return out


# ------------------------------------------------------------------------------------------------------- report


def _cell(summary: Dict, snr: str, seen: str) -> Dict:
    return summary.get("by_condition", {}).get(f"{snr}/{seen}", {})


def markdown_table(results: Dict[str, Dict], order: List[str]) -> str:
    snrs = sorted({k.split("/")[0] for r in results.values() for k in r["summary"].get("by_condition", {})},
                  key=float)
    lines = ["| model | " + " | ".join(f"{s} dB {v}" for s in snrs for v in ("seen", "unseen")) + " | all |",
             "|---|" + "---|" * (2 * len(snrs) + 1)]
    noisy_row = None
    for name in order:
        s = results[name]["summary"]
        cells = []
        for snr in snrs:
            for v in ("seen", "unseen"):
                c = _cell(s, snr, v)
                f1 = c.get("ser", {}).get("f1_macro")
                ss = c.get("se", {}).get("ssnr_enhanced_db")
                cells.append(f"{f1:.3f} / {ss:.2f}" if f1 is not None and ss is not None else "–")
        allc = f"{s['ser']['f1_macro']:.3f} / {s['se']['ssnr_enhanced_db']:.2f}" if "ser" in s and "se" in s else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {allc} |")
        if noisy_row is None and "se" in s:
            noisy_row = "| noisy input (SSNR) | " + " | ".join(
                f"– / {_cell(s, snr, v).get('se', {}).get('ssnr_noisy_db', float('nan')):.2f}"
                for snr in snrs for v in ("seen", "unseen")) + f" | – / {s['se']['ssnr_noisy_db']:.2f} |"
    if noisy_row:
        lines.append(noisy_row)
    return "\n".join(lines)


def se_table(results: Dict[str, Dict], order: List[str]) -> str:
    lines = ["| model | SSNR noisy → enhanced (dB) | SI-SDR noisy → enhanced (dB) | STOI noisy → enhanced | F1-macro | "
             "F1-micro | accuracy |", "|---|---|---|---|---|---|---|"]
    for name in order:
        s = results[name]["summary"]
        se, ser = s.get("se", {}), s.get("ser", {})
        lines.append(f"| {name} | {se.get('ssnr_noisy_db', float('nan')):.2f} → {se.get('ssnr_enhanced_db', float('nan')):.2f}"
                     f" | {se.get('si_sdr_noisy_db', float('nan')):.2f} → {se.get('si_sdr_enhanced_db', float('nan')):.2f}"
                     f" | {se.get('stoi_noisy', float('nan')):.3f} → {se.get('stoi_enhanced', float('nan')):.3f}"
                     f" | {ser.get('f1_macro', float('nan')):.3f} | {ser.get('f1_micro', float('nan')):.3f}"
                     f" | {ser.get('accuracy', float('nan')):.3f} |")
    return "\n".join(lines)


def plots(results: Dict[str, Dict], order: List[str], out: str, reference: str) -> List[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    snrs = sorted({float(k.split("/")[0]) for r in results.values() for k in r["summary"].get("by_condition", {})})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for metric, key, title, fname in (("ser", "f1_macro", "SER F1-macro", "f1_by_snr.png"),
                                      ("se", "ssnr_enhanced_db", "SSNR of the enhanced speech (dB)", "ssnr_by_snr.png"),
                                      ("se", "stoi_enhanced", "STOI of the enhanced speech", "stoi_by_snr.png")):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, name in enumerate(order):
            s = results[name]["summary"]
            for seen, style in (("seen", "-"), ("unseen", "--")):
                ys = [_cell(s, f"{v:g}", seen).get(metric, {}).get(key) for v in snrs]
                if all(y is not None for y in ys):
                    ax.plot(snrs, ys, style, marker="o", color=colours[i % len(colours)], label=f"{name} ({seen})")
        if metric == "se":
            noisy_key = key.replace("enhanced", "noisy")
            s = results[order[0]]["summary"]
            for seen, style in (("seen", "-"), ("unseen", "--")):
                ys = [_cell(s, f"{v:g}", seen).get("se", {}).get(noisy_key) for v in snrs]
                if all(y is not None for y in ys):
                    ax.plot(snrs, ys, style, color="grey", marker="x", label=f"noisy input ({seen})")
        ax.set_xlabel("input SNR (dB)")
        ax.set_title(title + "\n(test split; solid: seen noise types, dashed: unseen)", fontsize=10)
        ax.set_xticks(snrs)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = os.path.join(out, fname)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    # confusion matrix of the reference model
    if reference in results and "ser" in results[reference]["summary"]:
        cm = np.array(results[reference]["summary"]["ser"]["confusion"])
        fig, ax = plt.subplots(figsize=(4.8, 4.2))
        ax.imshow(cm, cmap="Blues")
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
        ax.set_xticks(range(len(EMOTION_CLASSES)))
        ax.set_xticklabels(EMOTION_CLASSES)
        ax.set_yticks(range(len(EMOTION_CLASSES)))
        ax.set_yticklabels(EMOTION_CLASSES)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{reference}: confusion (all test items)")
        fig.tight_layout()
        path = os.path.join(out, f"confusion_{reference}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    # expert utilisation per task
    moe = [n for n in order if "expert_utilisation" in results[n]["summary"]]
    if moe:
        fig, axes = plt.subplots(1, len(moe), figsize=(4.5 * len(moe), 3.8), squeeze=False)
        for ax, name in zip(axes[0], moe):
            util = results[name]["summary"]["expert_utilisation"]
            e = np.arange(len(util["se"]))
            ax.bar(e - 0.2, util["se"], 0.4, label="SE gate")
            ax.bar(e + 0.2, util["ser"], 0.4, label="SER gate")
            ax.set_xticks(e)
            ax.set_xticklabels([f"expert {k}" for k in e])
            ax.set_ylim(0, 1)
            ax.set_title(f"{name} (gates agree on {results[name]['summary'].get('gate_agreement', 0):.0%})",
                         fontsize=9)
            ax.legend(fontsize=8)
        fig.suptitle("share of test frames routed (top-1) to each expert")
        fig.tight_layout()
        path = os.path.join(out, "expert_utilisation.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    # training loss curves
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, name in enumerate(order):
        tr = results[name].get("training")
        curves = tr.items() if isinstance(tr, dict) and "step" not in tr else [(None, tr)]
        for sub, curve in curves:
            if not curve:
                continue
            y = np.array(curve["total"], dtype=float)
            k = max(1, len(y) // 30)
            ys = np.convolve(y, np.ones(k) / k, mode="valid")
            ax.plot(np.array(curve["step"])[k - 1:], ys, color=colours[i % len(colours)],
                    ls="-" if sub in (None, "se") else ":", label=name + (f" ({sub})" if sub else ""))
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (moving mean)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("training loss (stage 1: backbone frozen, then fine-tuning)")
    fig.tight_layout()
    path = os.path.join(out, "training_loss.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    written.append(path)
    return written


def _load_results(paths: List[str]) -> Dict[str, Dict]:
    results = {}
    for p in paths or []:
        if not os.path.exists(p):
            print(f"[report] missing {p}; left out", flush=True)
            continue
        with open(p) as f:
            r = json.load(f)
        results[r["name"]] = r
    return results


def _snr_label(snr: str) -> str:
    return "clean" if float(snr) == CLEAN_SNR_DB else f"{snr} dB"


def _conditions(results: Dict[str, Dict]) -> List[str]:
    keys = {k for r in results.values() for k in r["summary"].get("by_condition", {})}
    return sorted(keys, key=lambda k: (-float(k.split("/")[0]), k.split("/")[1]))


def condition_table(results: Dict[str, Dict], order: List[str]) -> str:
    """Per condition (SNR x seen/unseen noise): F1-macro, then SSNR and STOI noisy -> enhanced."""
    conds = _conditions(results)
    head = [f"{_snr_label(c.split('/')[0])}" + ("" if float(c.split("/")[0]) == CLEAN_SNR_DB else f" {c.split('/')[1]}")
            for c in conds]
    lines = ["| model | " + " | ".join(head) + " |", "|---|" + "---|" * len(conds)]
    for name in order:
        cells = []
        for c in conds:
            cell = results[name]["summary"].get("by_condition", {}).get(c, {})
            ser, se = cell.get("ser", {}), cell.get("se", {})
            parts = [f"F1 {ser['f1_macro']:.3f}"] if "f1_macro" in ser else []
            if se:
                parts.append(f"SSNR {se['ssnr_noisy_db']:.1f}→{se['ssnr_enhanced_db']:.1f}")
                parts.append(f"STOI {se['stoi_noisy']:.3f}→{se['stoi_enhanced']:.3f}")
            cells.append("<br>".join(parts) or "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


SIGNIFICANCE_HEADER = ("| baseline | subset | items | ΔF1-macro [95 % CI] (p) | accuracy p (clustered) | "
                       "ΔSSNR dB [95 % CI] (p) |", "|---|---|---|---|---|---|")


def significance_rows(comparisons: Dict[str, Dict[str, Dict]]) -> List[str]:
    """One markdown row per baseline and subset of `significance` results."""
    rows = []
    for name, sub in comparisons.items():
        for subset, c in sub.items():
            f, sn, m = c.get("bootstrap_f1_macro"), c.get("bootstrap_ssnr_db"), c.get("clustered_accuracy")
            fs = f"{f['difference']:+.3f} [{f['ci95'][0]:+.3f}, {f['ci95'][1]:+.3f}] ({f['p_value']:.3g})" if f else "–"
            ss = f"{sn['difference']:+.2f} [{sn['ci95'][0]:+.2f}, {sn['ci95'][1]:+.2f}] ({sn['p_value']:.3g})" if sn else "–"
            ms = f"{m['p_value']:.3g}" if m else "–"
            rows.append(f"| {name} | {subset} | {c['items']} | {fs} | {ms} | {ss} |")
    return rows


def negative_share(items: List[Dict]) -> float:
    """Share of items the model calls angry or sad (the false alarms of a neutral speaker)."""
    negative = {EMOTION_CLASSES.index("angry"), EMOTION_CLASSES.index("sad")}
    preds = [it["pred"] for it in items if "pred" in it]
    return sum(p in negative for p in preds) / max(1, len(preds))


def human_table(results: Dict[str, Dict], order: List[str]) -> str:
    conds = sorted({_snr_label(f"{it['snr_db']:g}") for r in results.values() for it in r["items"]})
    lines = ["| model | " + " | ".join(f"{c}: called angry or sad" for c in conds) + " | all | items |",
             "|---|" + "---|" * (len(conds) + 2)]
    for name in order:
        items = [it for it in results[name]["items"] if "pred" in it]
        if not items:
            continue
        by = {c: [it for it in items if _snr_label(f"{it['snr_db']:g}") == c] for c in conds}
        lines.append(f"| {name} | " + " | ".join(f"{100 * negative_share(v):.1f} %" for v in by.values())
                     + f" | {100 * negative_share(items):.1f} % | {len(items)} |")
    return "\n".join(lines)


def confusion_md(summary: Dict) -> str:
    cm = summary["ser"]["confusion"]
    lines = ["| true \\ predicted | " + " | ".join(EMOTION_CLASSES) + " |", "|---|" + "---|" * len(EMOTION_CLASSES)]
    lines += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(EMOTION_CLASSES, cm)]
    return "\n".join(lines)


def report(paths: List[str], out: str, reference: str, ablation: Optional[List[str]] = None,
           engine_paths: Optional[List[str]] = None, human_paths: Optional[List[str]] = None) -> Dict:
    """`ablation` = [pretrained name, random-init name]: two runs reported apart from the main comparison.
    `engine_paths` / `human_paths`: the same models on the unseen-engine split and on held-out real human speech."""
    os.makedirs(out, exist_ok=True)
    results = _load_results(paths)
    engine = _load_results(engine_paths)
    humans = _load_results(human_paths)
    abl_names = list(ablation or [])
    order = [n for n in results if n not in abl_names]
    comparisons = {}
    worst = lambda it: it["snr_db"] == -5 and it.get("noise_seen") is False  # noqa: E731
    if reference in results:
        for name in order:
            if name == reference:
                continue
            comparisons[name] = {"all": significance(results[reference], results[name]),
                                 "-5/unseen": significance(results[reference], results[name], worst)}
    abl = None
    if len(abl_names) == 2 and all(n in results for n in abl_names):
        pre, rnd = (results[n] for n in abl_names)
        abl = {"runs": abl_names,
               "pretrained": {k: pre["summary"].get(k) for k in ("ser", "se")},
               "random_init": {k: rnd["summary"].get(k) for k in ("ser", "se")},
               "pretrained_-5/unseen": _cell(pre["summary"], "-5", "unseen"),
               "random_init_-5/unseen": _cell(rnd["summary"], "-5", "unseen"),
               "dev": {n: (results[n].get("data") or {}).get("dev") for n in abl_names},
               "significance": significance(pre, rnd)}
    engine_order = [n for n in order if n in engine]
    engine_sig = {n: {"all": significance(engine[reference], engine[n]),
                      "clean": significance(engine[reference], engine[n], lambda it: it["snr_db"] == CLEAN_SNR_DB)}
                  for n in engine_order if reference in engine and n != reference}
    human_order = [n for n in order if n in humans]
    summary = {"reference": reference, "models": {n: results[n]["summary"] for n in order},
               "unseen_engine": {n: engine[n]["summary"] for n in engine_order},
               "unseen_engine_significance_vs_reference": engine_sig,
               "human_neutral": {n: {"negative_share": negative_share(humans[n]["items"]),
                                     "by_condition": {_snr_label(f"{snr:g}"): negative_share(
                                         [it for it in humans[n]["items"] if it["snr_db"] == snr])
                                         for snr in sorted({it["snr_db"] for it in humans[n]["items"]})},
                                     "summary": humans[n]["summary"]} for n in human_order},
               "significance_vs_reference": comparisons, "pretraining_ablation": abl,
               "ablation_summaries": {n: results[n]["summary"] for n in abl_names if n in results},
               "data": {n: results[n].get("data") for n in results},
               "eval_seconds": {n: results[n].get("seconds") for n in results}}
    md = ["# Test results (generated corpus, test split: unseen speakers and texts)", "",
          "F1-macro / SSNR of the enhanced speech (dB) per input SNR and noise type (seen in training or not).", "",
          markdown_table(results, order), "", "Whole test split:", "", se_table(results, order), ""]
    if comparisons:
        md += [f"Paired significance, {reference} minus baseline, clustered by utterance (the mixtures of one "
               f"utterance are resampled together; p: sign-flip randomisation test on accuracy, McNemar's question "
               f"for clustered items; bootstrap {BOOTSTRAP}x over utterances on F1-macro and mean SSNR):", "",
               *SIGNIFICANCE_HEADER]
        md += significance_rows(comparisons) + [""]
    if engine_order:
        md += ["## Unseen engine (flite voices, never heard in training)", "",
               "F1-macro, SSNR (dB) and STOI, noisy input → enhanced, per condition:", "",
               condition_table(engine, engine_order), ""]
        for n in engine_order:
            if "ser" in engine[n]["summary"]:
                md += [f"Confusion of {n} on the unseen engine (all conditions):", "", confusion_md(engine[n]["summary"]), ""]
        if engine_sig:
            md += [f"Clustered significance on the unseen engine, {reference} minus baseline:", "",
                   *SIGNIFICANCE_HEADER, *significance_rows(engine_sig), ""]
    if human_order:
        md += ["## Real human neutral speech (held-out Asterisk prompts)", "",
               "Share of items a model calls angry or sad (all are calm, neutral prompts; lower is better):", "",
               human_table(humans, human_order), ""]
    md += ["## Per condition on the test split (unseen espeak-ng voices)", "", condition_table(results, order), ""]
    moe = [n for n in order if "expert_utilisation" in results[n]["summary"]]
    if moe:
        md += ["Expert utilisation (share of test frames each task's gate routes to each expert, top-1):", "",
               "| model | SE gate | SER gate | gates agree |", "|---|---|---|---|"]
        for n in moe:
            s = results[n]["summary"]
            md.append(f"| {n} | {s['expert_utilisation']['se']} | {s['expert_utilisation']['ser']} | "
                      f"{s.get('gate_agreement', 0):.2f} |")
        md.append("")
    if abl:
        md += [f"Pretraining ablation ({abl_names[0]} vs {abl_names[1]}: Sparse MERIT after the same frozen-backbone "
               "stage, same data and steps; only the backbone initialisation differs):", "",
               "| backbone | F1-macro all | SSNR enh. all (dB) | F1-macro -5 dB unseen | SSNR enh. -5 dB unseen |",
               "|---|---|---|---|---|"]
        for label, k in (("HuBERT-style pretrained here", "pretrained"), ("random initialisation", "random_init")):
            cell = abl[f"{k}_-5/unseen"]
            md.append(f"| {label} | {abl[k]['ser']['f1_macro']:.3f} | {abl[k]['se']['ssnr_enhanced_db']:.2f} | "
                      f"{cell.get('ser', {}).get('f1_macro', float('nan')):.3f} | "
                      f"{cell.get('se', {}).get('ssnr_enhanced_db', float('nan')):.2f} |")
        md.append("")
    figs = plots(results, order, out, reference)
    md += ["Plots: " + ", ".join(f"[{os.path.basename(p)}]({os.path.basename(p)})" for p in figs), ""]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md))
    # Last: the recipe takes results.json as the sign that the report is complete.
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def fix_ablation_report(names: List[str], eval_dir: str, out: str) -> str:
    """One row per run (the reference first): test F1 and SSNR, unseen-engine F1 clean / -5 dB unseen noise, and the
    share of held-out human neutral speech called angry or sad; each run's test-split difference to the reference
    with a clustered bootstrap CI."""
    def load(name: str, split: str) -> Dict:
        path = os.path.join(eval_dir, f"{name}.json") if split == "test" else os.path.join(eval_dir, split,
                                                                                             f"{name}.json")
        with open(path) as f:
            return json.load(f)

    def f1(summary: Dict, cond: Optional[str] = None) -> float:
        cell = summary if cond is None else summary.get("by_condition", {}).get(cond, {})
        return cell.get("ser", {}).get("f1_macro", float("nan"))

    ref = load(names[0], "test")
    lines = [f"# What each generalisation fix contributes (stage-1-only Sparse MERIT runs, one fix off each; "
             f"reference {names[0]})", "",
             "| run | F1 test | ΔF1 test vs reference [95 % CI] | SSNR enh. test (dB) | F1 unseen engine clean | "
             "F1 unseen engine -5 dB unseen noise | human neutral called angry/sad |", "|---|---|---|---|---|---|---|"]
    for name in names:
        test, engine, human = load(name, "test"), load(name, "test-engine"), load(name, "human")
        diff = "–"
        if name != names[0]:
            b = significance(ref, test)["bootstrap_f1_macro"]
            diff = f"{-b['difference']:+.3f} [{-b['ci95'][1]:+.3f}, {-b['ci95'][0]:+.3f}]"
        lines.append(f"| {name} | {f1(test['summary']):.3f} | {diff} | "
                     f"{test['summary']['se']['ssnr_enhanced_db']:.2f} | "
                     f"{f1(engine['summary'], f'{CLEAN_SNR_DB:g}/seen'):.3f} | {f1(engine['summary'], '-5/unseen'):.3f} | "
                     f"{100 * negative_share(human['items']):.1f} % |")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    return text


# ------------------------------------------------------------------------------------------------------- export


def _reference_label(res: Dict) -> str:
    ref = res.get("speaker_reference") or {}
    if not ref.get("size"):
        return "no reference"
    return f"{ref['size']} utterances" + (f", {ref['emotion']} only" if ref.get("emotion") else "")


def reference_report(paths: List[str], out: str) -> str:
    """The speaker-reference tables: per split (the unseen engine, human speech) and reference setting, F1-macro and
    accuracy overall and per condition, the share called angry or sad, and the difference to no reference."""
    by_split: Dict[str, List[Dict]] = {}
    for p in paths:
        with open(p) as f:
            res = json.load(f)
        by_split.setdefault(os.path.splitext(os.path.basename(res["manifest"]))[0], []).append(res)
    lines = ["# Speaker-relative emotion: utterances judged against other utterances of the same speaker", "",
             "Each item's reference holds N random other items of the same speaker (never a mixture of the same "
             "utterance), summarised by `merit.speaker_reference` on their noisy audio; \"angry only\" draws them from "
             "angry items (a speaker heard only while angry: a bad reference). Whole utterances through the PyTorch "
             "model; `bin/merit evaluate --speaker-reference N` runs the same through the job's Java path.", ""]
    for split, results in sorted(by_split.items()):
        results.sort(key=lambda r: ((r.get("speaker_reference") or {}).get("size") or 0,
                                    (r.get("speaker_reference") or {}).get("emotion") or ""))
        named = {_reference_label(r): r for r in results}
        base = named.get("no reference")
        conds = _conditions(named)
        head = [_snr_label(c.split("/")[0]) + ("" if float(c.split("/")[0]) == CLEAN_SNR_DB else f" {c.split('/')[1]}")
                for c in conds]
        lines += [f"## {split} ({results[0]['summary']['items']} items)", "",
                  "| reference | F1-macro | Δ vs none | accuracy | called angry or sad | " + " | ".join(head) + " |",
                  "|---|---|---|---|---|" + "---|" * len(conds)]
        for label, r in named.items():
            ser = r["summary"]["ser"]
            delta = f"{ser['f1_macro'] - base['summary']['ser']['f1_macro']:+.3f}" if base and r is not base else "–"
            cells = [f"{_cell(r['summary'], *c.split('/')).get('ser', {}).get('f1_macro', float('nan')):.3f}"
                     for c in conds]
            lines.append(f"| {label} | {ser['f1_macro']:.3f} | {delta} | {ser['accuracy']:.3f} | "
                         f"{negative_share(r['items']):.1%} | " + " | ".join(cells) + " |")
        lines.append("")
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    return text


def _card_data(data):
    """Training data description for the card: the corpus summary instead of machine-specific absolute paths."""
    if isinstance(data, dict) and "train_manifest" in data:
        data = dict(data)
        manifest = data.pop("train_manifest")
        summary = os.path.join(os.path.dirname(manifest), "corpus.json")
        data["train_manifest"] = os.path.basename(manifest)
        if os.path.exists(summary):
            with open(summary) as f:
                corpus = json.load(f)
            data["corpus"] = {k: corpus.get(k) for k in ("seed", "per_class", "train_snr_db", "train_mixtures",
                                                         "test_snrs_db", "noise", "utterances", "mixtures",
                                                         "speech_seconds")}
        return data
    if isinstance(data, dict):
        return {k: _card_data(v) for k, v in data.items()}
    return data


TEMPERATURES = np.exp(np.linspace(math.log(0.1), math.log(10.0), 193))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> Dict:
    """The softmax temperature T that minimises the negative log-likelihood of `labels` under softmax(logits / T)
    (temperature scaling, Guo et al. 2017): one number, so argmax and every F1 stay the same; only how sure the
    probabilities are changes. logits [N, C], labels [N]."""
    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(labels)), labels].mean())

    losses = [nll(t) for t in TEMPERATURES]
    best = int(np.argmin(losses))
    return {"temperature": round(float(TEMPERATURES[best]), 4), "nll": round(nll(1.0), 4),
            "nll_calibrated": round(losses[best], 4), "items": int(len(labels))}


@torch.no_grad()
def calibrate(model: torch.nn.Module, manifest: str) -> Dict:
    """Fits the temperature on `manifest` (whole noisy utterances, as evaluated) and sets 1/T on the SER head."""
    from merit.heads import SERHead

    heads = [m for m in model.modules() if isinstance(m, SERHead)]
    if not heads:
        raise ValueError("model has no emotion head to calibrate")
    logits, labels = [], []
    recs = read_manifest(manifest)
    # a model with the speaker-reference inputs is calibrated as the trainer checks it: 10-item references
    references = dev_references(recs) if uses_speaker_reference(model.cfg) else None
    for k, r in enumerate(recs):
        x = torch.from_numpy(read_audio(r["noisy_path"])).unsqueeze(0)
        out = model(x, references[k]) if references is not None else model(x)
        logits.append(out.emotion_logits[0].numpy() / heads[0].cfg.logit_scale)
        labels.append(EMOTION_CLASSES.index(r["emotion"]))
    fit = fit_temperature(np.stack(logits), np.array(labels))
    for head in heads:
        head.cfg.logit_scale = round(1.0 / fit["temperature"], 6)
    return fit


def export_with_metrics(ckpts: List[str], results_path: str, out: str, name: Optional[str] = None,
                        calibration_manifest: Optional[str] = None) -> List[str]:
    """`name` (one checkpoint only) exports under another name than the run's, e.g. a longer run of Sparse MERIT as
    the job's default `merit-sparse`; its test metrics are still looked up under the run's own name.
    `calibration_manifest` (the dev split): fit each model's softmax temperature on it first (`calibrate`)."""
    from merit.export import export_model

    if name and len(ckpts) != 1:
        raise ValueError(f"--name renames one exported model; got {len(ckpts)} checkpoints")
    with open(results_path) as f:
        results = json.load(f)
    written = []
    for ckpt in ckpts:
        model, cfg, data, metrics = load_checkpoint(ckpt)
        test = results["models"].get(cfg.name)
        card_metrics = {"test": test, "dev": (metrics or {}).get("dev") if isinstance(metrics, dict) else None}
        if test is None:
            raise ValueError(f"{results_path} has no test results for {cfg.name}")
        if calibration_manifest and (isinstance(cfg, CascadeConfig) or cfg.kind != "se_only"):
            card_metrics["calibration"] = calibrate(model, calibration_manifest)
        if name:
            card_metrics["run"] = cfg.name
            cfg = dataclasses.replace(cfg, name=name)
        onnx_path, card_path = export_model(model, cfg, out, _card_data(data), card_metrics)
        size = os.path.getsize(onnx_path)
        print(json.dumps({"onnx": onnx_path, "card": card_path, "bytes": size}), flush=True)
        written.append(onnx_path)
    return written


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python3 -m merit.evaluate", description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--checkpoint", help="evaluate one model checkpoint")
    mode.add_argument("--report", nargs="+", help="per-model result JSONs to compare")
    mode.add_argument("--export", nargs="+", help="checkpoints to export with their test metrics")
    mode.add_argument("--reference-report", nargs="+", metavar="RESULT.json", help="the speaker-reference tables "
                      "of these results (--checkpoint with --speaker-reference) into --out (markdown)")
    mode.add_argument("--fix-report", nargs="+", metavar="NAME", help="the fix-ablation table of these runs (the "
                      "reference first), from their results under --eval-dir")
    ap.add_argument("--manifest", help="test JSONL manifest (with --checkpoint)")
    ap.add_argument("--limit", type=int, help="evaluate only the first N items")
    ap.add_argument("--speaker-reference", type=int, default=0, metavar="N", help="with --checkpoint, for a model "
                    "with the speaker-reference inputs: judge each item against N random other items of the same "
                    "speaker (never one of the same utterance); 0: no reference")
    ap.add_argument("--reference-emotion", help="draw those references from one emotion only (the skewed check)")
    ap.add_argument("--name", help="report (--checkpoint) or export (--export, one checkpoint) the model under this "
                                   "name (default: its config name)")
    ap.add_argument("--reference", default="merit-sparse")
    ap.add_argument("--ablation", nargs=2, metavar=("PRETRAINED", "RANDOM"),
                    help="two model names reported as the pretraining ablation")
    ap.add_argument("--engine", nargs="*", help="with --report: result JSONs of the same models on the unseen-engine split")
    ap.add_argument("--human", nargs="*", help="with --report: result JSONs on held-out real human neutral speech")
    ap.add_argument("--results", help="results.json of --report (with --export)")
    ap.add_argument("--eval-dir", help="with --fix-report: the recipe's eval folder")
    ap.add_argument("--calibrate", metavar="DEV.jsonl", help="with --export: fit each model's softmax temperature on "
                    "this manifest before exporting (the argmax, so every F1, is unchanged)")
    ap.add_argument("--done", help="with --export: write this marker file listing the exported graphs at the end")
    ap.add_argument("--out", required=True)
    devices.add_arguments(ap, "with --checkpoint: worker processes reading the test audio and computing the SE "
                              "metrics (0: all in this process)")
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("MERIT_THREADS", str(os.cpu_count() or 1))))
    try:
        rt = Runtime.create(a.device, a.amp, a.workers)
    except ValueError as e:
        ap.error(str(e))
    if a.checkpoint:
        if not a.manifest:
            ap.error("--checkpoint needs --manifest")
        res = evaluate_checkpoint(a.checkpoint, a.manifest, log=lambda s: print(s, flush=True), limit=a.limit,
                                  name=a.name, reference_size=a.speaker_reference,
                                  reference_emotion=a.reference_emotion, runtime=rt)
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out + ".tmp", "w") as f:
            json.dump(res, f)
        os.replace(a.out + ".tmp", a.out)
        print(json.dumps({k: res["summary"].get(k) for k in ("ser", "se", "items")}), flush=True)
    elif a.reference_report:
        print(reference_report(a.reference_report, a.out), flush=True)
    elif a.fix_report:
        print(fix_ablation_report(a.fix_report, a.eval_dir, a.out), flush=True)
    elif a.report:
        res = report(a.report, a.out, a.reference, a.ablation, a.engine, a.human)
        print(f"[report] {os.path.join(a.out, 'results.md')}", flush=True)
    else:
        if not a.results:
            ap.error("--export needs --results")
        written = export_with_metrics(a.export, a.results, a.out, a.name, a.calibrate)
        if a.done:
            with open(a.done, "w") as f:
                f.write("\n".join(written) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
