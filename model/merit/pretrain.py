#!/usr/bin/python3
"""Self-supervised pretraining of the tiny backbone: HuBERT-style masked prediction of k-means units of MFCCs.

    /usr/bin/python3 -m merit.pretrain --manifest work/corpus/train.jsonl --out work/pretrain --steps 400

(run from model/, or with model/ on PYTHONPATH). Resumable: rerunning with the same --out continues from
OUT/last.pt. Writes OUT/backbone.pt = {"config": BackboneConfig dict, "state_dict": the torchaudio Wav2Vec2Model
weights of `TinyBackbone.model`, "pretrain": the PretrainConfig dict, "history": losses}; `merit.train --backbone-init`
loads it.

Recipe (HuBERT iteration 1, Hsu et al. 2021, plus WavLM-style denoising):
- targets: k-means (K units, Lloyd's algorithm in torch, k-means++ start) of 39-dim MFCC (13 + deltas + delta-deltas,
  per-dimension standardised) computed on the CLEAN speech at the backbone's own 20 ms frame grid (25 ms window,
  no centring: T = (N - 400) // 320 + 1, exactly the conv front end's frame count);
- input: the clean OR the noisy version of the same utterance (p_noisy), so the encoder learns to predict clean-speech
  units from noisy speech (the denoising objective WavLM adds to HuBERT; the product runs on noisy calls);
- masking: spans of `mask_span` frames starting at a fraction `mask_prob` of frames (HuBERT: 0.08 x 10 -> ~50 %
  masked) replaced by a learned embedding after the feature projection; cross-entropy on the masked frames only;
- head: Linear(D -> K) on the last layer (HuBERT's cosine-similarity codebook is a reparametrisation of this).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from torch import Tensor, nn

from merit import device as devices
from merit.backbones.tiny import TinyBackbone, run_encoder_layer
from merit.config import BackboneConfig
from merit.device import Runtime, to_float
from merit.exact_gradients import exact_conv_gradients

SAMPLE_RATE = 16000
WIN = 400  # 25 ms, the conv front end's receptive field
HOP = 320  # 20 ms, its stride


@dataclass
class PretrainConfig:
    steps: int = 800
    batch_size: int = 8
    crop_seconds: float = 2.0
    lr: float = 2e-3
    warmup_steps: int = 80
    weight_decay: float = 0.01
    num_units: int = 64
    kmeans_utterances: int = 300
    kmeans_iters: int = 25
    mask_prob: float = 0.08
    mask_span: int = 10
    p_noisy: float = 0.5
    # Weight of the cross-entropy on unmasked frames (HuBERT's 1 - alpha; the paper uses 0). Masked prediction alone
    # stayed at chance (~ln 64 nats) for 800 steps of this tiny encoder at lr 5e-4 and 2e-3; predicting the visible
    # frames' clean-speech units too (from noisy input half the time) brings that part from 4.2 to ~2.3 nats in 300
    # steps: a denoising acoustic-unit signal the short budget can use.
    unmasked_weight: float = 1.0
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 50


# ---------------------------------------------------------------------------------------------------------------- MFCC


class MFCCFeatures:
    """waveform [N] -> standardised MFCC+Δ+ΔΔ [T, 39] on the backbone's frame grid."""

    def __init__(self) -> None:
        self.mfcc = torchaudio.transforms.MFCC(
            sample_rate=SAMPLE_RATE,
            n_mfcc=13,
            melkwargs={"n_fft": 512, "win_length": WIN, "hop_length": HOP, "n_mels": 40, "center": False},
        )
        self.mean: Optional[Tensor] = None
        self.std: Optional[Tensor] = None

    def raw(self, wave: Tensor) -> Tensor:
        m = self.mfcc(wave)  # [13, T] (center=False: T = 1 + (N - 400) // 320 when n_fft window fits)
        d1 = torchaudio.functional.compute_deltas(m)
        d2 = torchaudio.functional.compute_deltas(d1)
        return torch.cat([m, d1, d2], 0).transpose(0, 1)  # [T, 39]

    def __call__(self, wave: Tensor) -> Tensor:
        x = self.raw(wave)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x


def num_backbone_frames(n: int) -> int:
    return max(0, (n - WIN) // HOP + 1)


def mfcc_frames(feat: MFCCFeatures, wave: Tensor) -> Tensor:
    """MFCC frames aligned to the backbone frames. torchaudio's MFCC with n_fft 512 > win 400 pads the window inside
    the FFT, so it yields 1 + (N - 512) // 320 frames; pad the waveform on the right by 112 samples so the count equals
    the conv front end's 1 + (N - 400) // 320 (frame k covers samples [320 k, 320 k + 400) in both)."""
    t = num_backbone_frames(wave.shape[-1])
    x = feat(F.pad(wave, (0, 512 - WIN)))
    return x[:t]


# ------------------------------------------------------------------------------------------------------------- k-means


def kmeans(x: Tensor, k: int, iters: int, generator: torch.Generator) -> Tensor:
    """Lloyd's k-means with k-means++ seeding. x [M, D] -> centroids [k, D]."""
    m = x.shape[0]
    if m < k:
        raise ValueError(f"k-means needs at least k={k} points, got {m}")
    first = int(torch.randint(m, (1,), generator=generator))
    cents = [x[first]]
    d2 = ((x - cents[0]) ** 2).sum(1)
    for _ in range(1, k):
        probs = d2 / d2.sum().clamp(min=1e-12)
        idx = int(torch.multinomial(probs, 1, generator=generator))
        cents.append(x[idx])
        d2 = torch.minimum(d2, ((x - x[idx]) ** 2).sum(1))
    c = torch.stack(cents)
    for _ in range(iters):
        assign = torch.cdist(x, c).argmin(1)
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype).unsqueeze(1)
        empty = counts.squeeze(1) == 0
        c = torch.where(empty.unsqueeze(1), c, sums / counts.clamp(min=1))
    return c


def assign_units(x: Tensor, centroids: Tensor) -> Tensor:
    return torch.cdist(x, centroids).argmin(1)


# ---------------------------------------------------------------------------------------------------------------- data


def read_manifest(path: str) -> List[Dict]:
    base = os.path.dirname(os.path.abspath(path))
    recs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            r["noisy_path"] = os.path.join(base, r["noisy"])
            r["clean_path"] = os.path.join(base, r["clean"])
            recs.append(r)
    if not recs:
        raise ValueError(f"empty manifest {path}")
    return recs


def read_audio(path: str) -> np.ndarray:
    from merit.data.audio import read_wav

    return read_wav(path)


def crop_pair(clean: np.ndarray, noisy: np.ndarray, n: int, rng: random.Random) -> Tuple[np.ndarray, np.ndarray]:
    """A random n-sample window of an aligned pair; shorter pairs are placed at a random offset in zeros."""
    length = clean.shape[0]
    if length >= n:
        off = rng.randint(0, length - n)
        return clean[off:off + n], noisy[off:off + n]
    out_c = np.zeros(n, np.float32)
    out_n = np.zeros(n, np.float32)
    off = rng.randint(0, n - length)
    out_c[off:off + length] = clean
    out_n[off:off + length] = noisy
    return out_c, out_n


# --------------------------------------------------------------------------------------------------------------- model


class MaskedPredictor(nn.Module):
    """Wraps the tiny backbone's torchaudio Wav2Vec2Model for masked prediction; only `backbone` is kept afterwards."""

    def __init__(self, cfg: BackboneConfig, num_units: int):
        super().__init__()
        self.backbone = TinyBackbone(cfg)
        self.mask_emb = nn.Parameter(torch.empty(cfg.dim).uniform_())
        self.head = nn.Linear(cfg.dim, num_units)

    def forward(self, wave: Tensor, mask: Tensor) -> Tensor:
        """wave [B, N], mask [B, T] bool -> unit logits [B, T, K]."""
        model = self.backbone.model
        features, _ = model.feature_extractor(wave, None)
        x = model.encoder.feature_projection(features)  # [B, T, D]
        x = torch.where(mask.unsqueeze(-1), self.mask_emb.to(x.dtype).expand_as(x), x)
        transformer = model.encoder.transformer
        x = transformer._preprocess(x)
        for layer in transformer.layers:
            x = run_encoder_layer(layer, x)
        if not transformer.layer_norm_first:
            x = transformer.layer_norm(x)
        return self.head(x)


def span_mask(batch: int, frames: int, prob: float, span: int, rng: random.Random) -> Tensor:
    """HuBERT/wav2vec2 masking: each frame starts a `span`-frame mask with probability `prob` (at least one span)."""
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    n_spans = max(1, int(round(prob * frames)))
    for b in range(batch):
        for s in rng.sample(range(max(1, frames - span + 1)), min(n_spans, max(1, frames - span + 1))):
            mask[b, s:s + span] = True
    return mask


def lr_at(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


# ------------------------------------------------------------------------------------------------------------ training


def build_units(recs: List[Dict], cfg: PretrainConfig, feat: MFCCFeatures) -> Tuple[Tensor, Tensor, Tensor]:
    """Fits standardisation + k-means on MFCC frames of clean training speech. -> (mean, std, centroids)."""
    rng = random.Random(cfg.seed)
    chosen = rng.sample(recs, min(cfg.kmeans_utterances, len(recs)))
    frames = []
    for r in chosen:
        wave = torch.from_numpy(read_audio(r["clean_path"]))
        if wave.shape[0] < 512:
            continue
        frames.append(feat.raw(wave))
    x = torch.cat(frames, 0)
    # Drop near-silent frames (the padded pauses would otherwise take several units for themselves).
    energy = x[:, 0]
    keep = energy > torch.quantile(energy, 0.1)
    x = x[keep]
    mean, std = x.mean(0), x.std(0).clamp(min=1e-5)
    g = torch.Generator().manual_seed(cfg.seed)
    cents = kmeans((x - mean) / std, cfg.num_units, cfg.kmeans_iters, g)
    return mean, std, cents


class RunningMarker:
    """OUT/running.pid while a run works on OUT, so `merit.recipe` waits for it instead of starting a second writer."""

    def __init__(self, out: str):
        self.path = os.path.join(out, "running.pid")

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path, "w") as f:
            f.write(str(os.getpid()))
        return self

    def __exit__(self, *exc):
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        return False


class PretrainBatches(torch.utils.data.Dataset):
    """Item k: the batch of step first_step + k, (noisy-or-clean waveforms [B, N], unit targets [B, T], span mask
    [B, T]), every draw from a generator seeded by (seed, step): a resumed run, and any number of data workers, see
    the batches an uninterrupted run in one process would."""

    def __init__(self, recs: List[Dict], cfg: PretrainConfig, feat: MFCCFeatures, centroids: Tensor,
                 first_step: int):
        self.recs, self.cfg, self.feat, self.cents, self.first = recs, cfg, feat, centroids, first_step
        self.n = int(cfg.crop_seconds * SAMPLE_RATE)

    def __len__(self) -> int:
        return max(0, self.cfg.steps - self.first)

    def __getitem__(self, k: int) -> Tuple[Tensor, Tensor, Tensor]:
        cfg = self.cfg
        rng = random.Random(cfg.seed * 1_000_003 + self.first + k)
        waves, targets = [], []
        for r in rng.sample(self.recs, cfg.batch_size):
            c, y = crop_pair(read_audio(r["clean_path"]), read_audio(r["noisy_path"]), self.n, rng)
            ct = torch.from_numpy(c)
            targets.append(assign_units(mfcc_frames(self.feat, ct), self.cents))
            waves.append(torch.from_numpy(y) if rng.random() < cfg.p_noisy else ct)
        wave = torch.stack(waves)
        target = torch.stack(targets)  # [B, T]
        return wave, target, span_mask(wave.shape[0], target.shape[1], cfg.mask_prob, cfg.mask_span, rng)


def pretrain(manifest: str, out: str, backbone_cfg: BackboneConfig, cfg: PretrainConfig,
             log=print, runtime: Optional[Runtime] = None) -> Dict:
    """`runtime`: device, --amp and data workers (default: the CPU, float32, batches made in this process)."""
    with RunningMarker(out), exact_conv_gradients():
        return _pretrain(manifest, out, backbone_cfg, cfg, log, runtime or Runtime.create())


def _pretrain(manifest: str, out: str, backbone_cfg: BackboneConfig, cfg: PretrainConfig, log, rt: Runtime) -> Dict:
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(cfg.seed)
    recs = read_manifest(manifest)
    last = os.path.join(out, "last.pt")
    feat = MFCCFeatures()
    # On the device before the optimizer exists (a loaded optimizer state follows its parameters there).
    model = MaskedPredictor(backbone_cfg, cfg.num_units)
    blob = devices.load(last) if os.path.exists(last) else None
    if blob is not None:
        model.load_state_dict(blob["model"])
    model = rt.prepare(model)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scaler = rt.grad_scaler()
    step, history = 0, []
    if blob is not None:
        opt.load_state_dict(blob["optimizer"])
        if scaler.is_enabled() and blob.get("scaler"):
            scaler.load_state_dict(blob["scaler"])
        step, history = blob["step"], blob["history"]
        mean, std, cents = blob["mfcc_mean"], blob["mfcc_std"], blob["centroids"]
        log(f"[pretrain] resumed from {last} at step {step}")
        del blob
    else:
        t0 = time.time()
        mean, std, cents = build_units(recs, cfg, feat)
        log(f"[pretrain] k-means: {cfg.num_units} units on MFCCs of {min(cfg.kmeans_utterances, len(recs))} clean "
            f"utterances in {time.time() - t0:.1f} s")
    feat.mean, feat.std = mean, std
    log(f"[pretrain] {rt.describe()}")
    batches = iter(rt.loader(PretrainBatches(recs, cfg, feat, cents, step), seed=cfg.seed * 1_000_003 + step))
    t0 = time.time()
    model.train()
    while step < cfg.steps:
        wave, target, mask = rt.to_device(next(batches))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        with rt.autocast():
            logits = model(wave, mask)
        logits = to_float(logits)
        loss = F.cross_entropy(logits[mask], target[mask])
        if cfg.unmasked_weight > 0:
            loss = loss + cfg.unmasked_weight * F.cross_entropy(logits[~mask], target[~mask])
        with torch.no_grad():
            acc = (logits[mask].argmax(-1) == target[mask]).float().mean().item()
        opt.zero_grad()
        if torch.isfinite(loss):
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            scaler.step(opt)  # with fp16 skipped by the scaler itself when the gradients overflowed
            scaler.update()
        else:
            # One bad batch must not poison the weights (AdamW would spread the NaN into every parameter).
            log(f"[pretrain] step {step + 1}: non-finite loss, batch skipped")
        step += 1
        history.append({"step": step, "loss": round(loss.item(), 4), "masked_acc": round(acc, 4)})
        if step % cfg.log_every == 0 or step == cfg.steps:
            log(f"[pretrain] step {step}/{cfg.steps} loss {loss.item():.3f} masked-acc {acc:.3f} "
                f"lr {lr_at(step - 1, cfg):.2e} ({time.time() - t0:.0f} s)")
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            blob = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "history": history,
                    "mfcc_mean": mean, "mfcc_std": std, "centroids": cents,
                    "config": dataclasses.asdict(cfg), "backbone_config": dataclasses.asdict(backbone_cfg),
                    "runtime": {"device": str(rt.device), "amp": rt.amp}}
            if scaler.is_enabled():
                blob["scaler"] = scaler.state_dict()
            torch.save(devices.to_cpu(blob), last + ".tmp")  # tensors on the CPU: loads on any machine
            os.replace(last + ".tmp", last)
    result = devices.to_cpu({"config": dataclasses.asdict(backbone_cfg), "state_dict": model.backbone.model.state_dict(),
                             "pretrain": dataclasses.asdict(cfg), "history": history})
    torch.save(result, os.path.join(out, "backbone.pt"))
    return result


def load_backbone_init(backbone: nn.Module, path: str) -> None:
    """Loads pretrained weights (merit.pretrain output) into a TinyBackbone; the sizes must match."""
    blob = devices.load(path)
    model = getattr(backbone, "model", None)
    if model is None:
        raise ValueError("backbone init applies to the tiny backbone only")
    # strict: a size mismatch between the pretrained and the fine-tuned config must fail loudly, not half-load.
    model.load_state_dict(blob["state_dict"], strict=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m merit.pretrain", description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", required=True, help="train JSONL manifest (clean + noisy pairs)")
    ap.add_argument("--out", required=True)
    for f in dataclasses.fields(PretrainConfig):
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    devices.add_arguments(ap)
    a = ap.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("MERIT_THREADS", str(os.cpu_count() or 1))))
    try:
        rt = Runtime.create(a.device, a.amp, a.workers)
    except ValueError as e:
        ap.error(str(e))
    cfg = PretrainConfig(**{f.name: getattr(a, f.name) for f in dataclasses.fields(PretrainConfig)})
    res = pretrain(a.manifest, a.out, BackboneConfig(), cfg, log=lambda s: print(s, flush=True), runtime=rt)
    h = res["history"]
    print(json.dumps({"backbone": os.path.join(a.out, "backbone.pt"), "steps": len(h),
                      "final_loss": h[-1]["loss"] if h else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
