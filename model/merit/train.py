#!/usr/bin/python3
"""Trains Sparse MERIT or a baseline with the paper's two-stage recipe on JSONL manifests.

    /usr/bin/python3 -m merit.train --model sparse_merit --train work/corpus/train.jsonl --dev work/corpus/dev.jsonl \
        --out work/runs/merit-sparse --backbone-init work/pretrain/backbone.pt --stage1-steps 150 --stage2-steps 150

(run from model/, or with model/ on PYTHONPATH). Models: sparse_merit, dense_moe, naive_mtl, se_only, ser_only
(`--enhancer SE_CHECKPOINT` trains ser_only on the SE model's enhanced speech: the second half of the cascade);
`--assemble-cascade SE_CKPT SER_CKPT` joins two trained halves into one cascade checkpoint.

Recipe (DESIGN.md): stage 1 trains everything but the backbone (frozen), stage 2 fine-tunes the backbone's
transformer with it at `backbone_lr_scale` x lr (its CNN front end stays frozen, as in the paper's code); AdamW;
class-weighted cross-entropy (inverse class frequency of the train manifest) + SE loss weight x L1 on
log1p(scale x |STFT|) spectra + alpha x Switch load-balance loss (models with gates). Each step draws `batch_size`
utterances from a per-epoch permutation fixed by the seed and turns each into a fresh example (`MixingSampler`): voice
and room augmentation of the clean speech, a 3 s crop (shorter utterances looped with short pauses), a fresh noise
clip of a seen type at a fresh SNR, then the line (telephone, gain, clipping). Every draw is seeded by (seed, step,
slot), so a resumed run sees exactly the examples an uninterrupted one would. The SE head skips its iSTFT while
training: the loss compares spectra.

On a GPU and at the paper's scale (model/README.md, "Paper scale"): `--device cuda[:N]`, `--amp bf16|fp16`,
`--workers N` (batches made in DataLoader workers: the same batches with any N), `--accumulate K` (K micro-batches of
`--batch-size` per optimizer step), `--stage1-epochs / --stage2-epochs`, `--backbone wavlm_large
--backbone-checkpoint FILE` (config.paper_config's sizes) and `--noise-dir DIR` (on-the-fly noise from WAV files).

Resumable: OUT/last.pt (weights, optimizer, step, loss history) is written every `checkpoint_every` steps and at each
stage end; rerunning the same command continues from it, on any device and in any precision. OUT/final.pt is the `merit.factory` checkpoint format
(config + state dict, plus `run`, `history`, `data`) that `merit.export --checkpoint` and `merit.evaluate` read.
"""
from __future__ import annotations

import argparse
import collections
import copy
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
from torch import Tensor, nn

from merit import device as devices
from merit.config import (EMOTION_CLASSES, CascadeConfig, ModelConfig, config_from_dict, config_to_dict, named_config,
                          paper_config)
from merit.data import augment
from merit.data.audio import active_mask
from merit.data.mix import fit_length, scale_noise_to_snr
from merit.data.noise import make_noise, prewarm_babble, seen_noise
from merit.device import Runtime, to_cpu, to_float
from merit.exact_gradients import exact_conv_gradients
from merit.factory import build_model, load_checkpoint
from merit import speaker_reference
from merit.heads import ReferenceInputs, SEHead
from merit.losses import class_weights_from_counts
from merit.model import compute_losses
from merit.pretrain import RunningMarker, crop_pair, load_backbone_init, read_audio, read_manifest

SAMPLE_RATE = 16000
MODEL_CONFIGS = {
    "sparse_merit": "tiny",
    "dense_moe": "dense_moe_tiny",
    "naive_mtl": "naive_mtl_tiny",
    "se_only": "se_only_tiny",
    "ser_only": "ser_only_tiny",
}
# --backbone other than tiny: the paper's sizes (config.paper_config) for each model: (model kind, MoE overrides).
LARGE_MODELS = {
    "sparse_merit": ("sparse_merit", {}),
    "dense_moe": ("sparse_merit", {"gate_mode": "dense", "dispatch": "dense"}),
    "naive_mtl": ("naive_mtl", {}),
    "se_only": ("se_only", {}),
    "ser_only": ("ser_only", {}),
}


@dataclass
class TrainRunConfig:
    """How one run was trained; saved in every checkpoint (and the model card's `data.training`)."""

    model: str = "sparse_merit"
    name: str = ""
    stage1_steps: int = 150
    stage2_steps: int = 150
    batch_size: int = 8
    crop_seconds: float = 3.0
    # DESIGN.md's 5e-5 (backbone 0.5x) is for WavLM-Large over many epochs. With a tiny model and ~200 steps the SER
    # head sits on the ln(4) plateau for tens of steps at 1e-3; 3e-3 leaves it within ~20 steps (measured on an
    # overfit batch). The backbone gets 0.1x so fine-tuning does not wash out the pretrained features.
    lr: float = 3e-3
    backbone_lr_scale: float = 0.1
    weight_decay: float = 0.01
    warmup_steps: int = 10
    grad_clip: float = 5.0
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 50
    backbone_init: str = ""
    enhancer: str = ""
    # --- what each step sees (issue: generalise to voices and noise never heard) ---
    # Noise mixed on the fly: every example gets a fresh clip of a seen noise type (generated and, when the Debian
    # packages are there, recorded) at a fresh SNR, instead of the manifest's fixed mixtures. Off: the manifest's pairs.
    on_the_fly_noise: bool = True
    snr_low_db: float = -6.0
    snr_high_db: float = 15.0
    clean_share: float = 0.1  # examples left clean, so the enhancer learns to leave clean speech alone
    # Voice-identity augmentation (merit.data.augment): tilt / EQ, vocal-tract length, reverb, telephone, gain, clipping.
    augment: bool = True
    # The CNN front end stays frozen in stage 2 too, as in the paper's code (it is the most generic part).
    freeze_cnn: bool = True
    # Head and loss settings of the fixes (the config records them; the defaults are the measured choice).
    normalise_magnitude: bool = True
    ser_input_dropout: float = 0.25
    ser_dropout: float = 0.5
    ser_layer_norm: bool = True
    level_features: bool = True
    se_loss_weight: float = 3.0
    # --- speaker-relative emotion (merit.speaker_reference) ---
    # Each example also gets its crop's prosody features and a reference drawn from other utterances of the same
    # speaker (ReferenceSampler); the SER head gains the reference branch.
    speaker_reference: bool = False
    reference_max: int = 12  # largest reference drawn, in utterances
    # Start from a trained checkpoint (its config and weights; new parameters keep their initialisation) and, when
    # `trainable` names comma-separated parameter-name prefixes, train only those, the rest frozen in eval mode.
    init_checkpoint: str = ""
    trainable: str = ""
    # --- paper scale (issue 20) ---
    # Gradient accumulation: each optimizer step sums the gradients of `accumulate` micro-batches of `batch_size`
    # (the effective batch is batch_size x accumulate); micro-batch j of a step holds slots j*B .. (j+1)*B - 1 of the
    # effective batch, so B x K sees exactly the examples that one batch of K*B would.
    accumulate: int = 1
    # > 0: the stage lengths in epochs of the train manifest at the effective batch, instead of the step counts
    # (resolved to steps when the manifest is read: ceil(epochs x items / effective batch)).
    stage1_epochs: float = 0.0
    stage2_epochs: float = 0.0
    # tiny: the named configs' sizes; wavlm_large / hubert_large / wav2vec2_large: config.paper_config, the backbone's
    # published weights from `backbone_checkpoint` (a local file).
    backbone: str = "tiny"
    backbone_checkpoint: str = ""
    # On-the-fly noise from the WAV files under this folder (searched recursively; e.g. the paper's train noise)
    # instead of the generated and recorded types.
    noise_dir: str = ""


# ---------------------------------------------------------------------------------------------------------------- data


def loop_crop(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random n-sample stretch of `x`; a shorter utterance is looped with short pauses (0.1-0.5 s) in between, as a
    speaker in a call talks on, instead of padding with digital zeros that the job's windows never contain."""
    if x.size < n:
        parts, total = [], 0
        while total < n + x.size:
            gap = np.zeros(int(rng.uniform(0.1, 0.5) * SAMPLE_RATE), np.float32)
            parts += [x, gap]
            total += x.size + gap.size
        x = np.concatenate(parts)
    off = int(rng.integers(0, x.size - n + 1))
    return np.ascontiguousarray(x[off:off + n], dtype=np.float32)


class AudioCache:
    """Decoded files by path, least recently used dropped beyond `max_bytes` (per process: each data worker has its
    own): a small corpus stays in memory, a large one (MSP-Podcast) is read from disk as it is needed."""

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes, self.bytes = max_bytes, 0
        self._items: "collections.OrderedDict[str, np.ndarray]" = collections.OrderedDict()

    def get(self, path: str) -> np.ndarray:
        x = self._items.get(path)
        if x is not None:
            self._items.move_to_end(path)
            return x
        x = read_audio(path)
        self._items[path] = x
        self.bytes += x.nbytes
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.bytes -= old.nbytes
        return x


class MicroBatches(torch.utils.data.Dataset):
    """Item k: micro-batch k % parts of step first_step + k // parts (what one optimizer step consumes, in order)."""

    def __init__(self, sampler: "CropSampler", first_step: int, total_steps: int, parts: int):
        self.sampler, self.first, self.total, self.parts = sampler, first_step, total_steps, parts

    def __len__(self) -> int:
        return max(0, self.total - self.first) * self.parts

    def __getitem__(self, k: int):
        step, part = divmod(k, self.parts)
        return self.sampler.batch_at(self.first + step, part, self.parts)


class CropSampler:
    """Step -> batch of (clean, noisy, label) crops, deterministic in (seed, step)."""

    def __init__(self, recs: List[Dict], batch_size: int, crop_samples: int, seed: int):
        self.recs, self.batch, self.n, self.seed = recs, batch_size, crop_samples, seed
        self._perm_cache: Dict[int, List[int]] = {}

    def _perm(self, epoch: int) -> List[int]:
        if epoch not in self._perm_cache:
            order = list(range(len(self.recs)))
            random.Random(self.seed * 7919 + epoch).shuffle(order)
            self._perm_cache = {epoch: order}
        return self._perm_cache[epoch]

    def indices(self, step: int) -> List[int]:
        out = []
        for k in range(step * self.batch, (step + 1) * self.batch):
            epoch, pos = divmod(k, len(self.recs))
            out.append(self._perm(epoch)[pos])
        return out

    def slots(self, step: int, part: int = 0, parts: int = 1) -> List[Tuple[int, int]]:
        """(slot, utterance index) of micro-batch `part` of `parts` of step `step`'s batch."""
        if self.batch % parts:
            raise ValueError(f"a batch of {self.batch} does not split into {parts} equal micro-batches")
        size = self.batch // parts
        return list(enumerate(self.indices(step)))[part * size:(part + 1) * size]

    def pair(self, i: int, step: int, slot: int) -> Tuple[np.ndarray, np.ndarray]:
        """The manifest's stored pair, cropped (shorter pairs sit at a random offset in zeros)."""
        rng = random.Random(self.seed * 1_000_003 + step * 101 + slot)
        r = self.recs[i]
        return crop_pair(read_audio(r["clean_path"]), read_audio(r["noisy_path"]), self.n, rng)

    def batch_at(self, step: int, part: int = 0, parts: int = 1) -> Tuple[Tensor, Tensor, Tensor]:
        cleans, noisys, labels = [], [], []
        for slot, i in self.slots(step, part, parts):
            c, y = self.pair(i, step, slot)
            cleans.append(torch.from_numpy(c))
            noisys.append(torch.from_numpy(y))
            labels.append(EMOTION_CLASSES.index(self.recs[i]["emotion"]))
        return torch.stack(cleans), torch.stack(noisys), torch.tensor(labels, dtype=torch.long)


class MixingSampler(CropSampler):
    """Clean utterance -> voice augmentation -> looped crop -> a fresh noise clip at a fresh SNR -> line augmentation.

    Every draw comes from a generator seeded by (seed, step, slot), so a resumed run sees the same examples."""

    def __init__(self, recs: List[Dict], batch_size: int, crop_samples: int, seed: int, run: "TrainRunConfig"):
        super().__init__(recs, batch_size, crop_samples, seed)
        self.run = run
        self.noise_types = list(seen_noise())
        self.noise_files: Optional[List[str]] = None
        if run.noise_dir:
            from merit.data.msp_podcast import list_noise

            self.noise_files = list_noise(run.noise_dir)
        self.audio = AudioCache()

    def clean(self, i: int) -> np.ndarray:
        return self.audio.get(self.recs[i]["clean_path"])

    def noise(self, rng: np.random.Generator) -> Optional[np.ndarray]:
        """A fresh noise clip of `self.n` samples: a random stretch of a random file of --noise-dir (None when five
        draws were all digital silence: the example stays clean), else a generated / recorded seen type."""
        if self.noise_files is None:
            return make_noise(str(rng.choice(self.noise_types)), self.n, rng, "train")  # generated and recorded alike
        for _ in range(5):
            clip = fit_length(self.audio.get(self.noise_files[int(rng.integers(len(self.noise_files)))]), self.n, rng)
            if np.max(np.abs(clip)) > 1e-6:
                return clip
        return None

    def pair(self, i: int, step: int, slot: int) -> Tuple[np.ndarray, np.ndarray]:
        return self.example(i, np.random.default_rng([self.seed, step, slot]))[:2]

    def example(self, i: int, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, Optional[float]]:
        """(clean, noisy, SNR in dB or None when left clean) of utterance `i`, every draw from `rng`."""
        speech = self.clean(i)
        aug = augment.draw_channel_augment(rng) if self.run.augment else None
        if aug is not None:
            speech = augment.augment_speech(speech, aug, rng)
        c = loop_crop(speech, self.n, rng)
        y, snr = c.copy(), None
        if rng.random() >= self.run.clean_share and active_mask(c).any():
            noise = self.noise(rng)
            if noise is not None:
                snr = float(rng.uniform(self.run.snr_low_db, self.run.snr_high_db))
                y = c + scale_noise_to_snr(c, noise, snr)
        if aug is not None:
            c, y = augment.augment_channel(c, y, aug)
        return c.astype(np.float32), y.astype(np.float32), snr


class ReferenceSampler(MixingSampler):
    """MixingSampler plus the speaker-reference inputs: the crop's own prosody features and a reference drawn from
    other utterances of the same speaker, as a call's channel would have heard them.

    Reference features are computed once per utterance at unit gain (undoing the corpus's random gain), clean and
    with seen noise at a high and a low SNR (`reference_vectors`); an example takes the variant nearest its own SNR and
    shifts the level by its utterance's gain, so the reference sounds like the same line. Draws: 15 % no reference;
    otherwise 1..reference_max utterances, 45 % any emotion, 30 % neutral ones first, 10 % one non-neutral emotion
    only (the skewed reference a customer angry from the start gives)."""

    LEVEL = speaker_reference.FEATURE_NAMES.index("level_mean_db")

    def __init__(self, recs: List[Dict], batch_size: int, crop_samples: int, seed: int, run: "TrainRunConfig",
                 vectors: np.ndarray, valid: np.ndarray):
        super().__init__(recs, batch_size, crop_samples, seed, run)
        self.vectors, self.valid = vectors, valid  # [R, 3, P], [R, 3]
        self.by_speaker: Dict[str, List[int]] = {}
        for j, r in enumerate(recs):
            self.by_speaker.setdefault(r["speaker"], []).append(j)

    def reference(self, i: int, variant: int, rng: np.random.Generator) -> Tuple[np.ndarray, float]:
        u = rng.random()
        others = [j for j in self.by_speaker[self.recs[i]["speaker"]] if j != i and self.valid[j, variant]]
        if u < 0.15 or not others:
            return speaker_reference.no_reference()
        n = int(rng.integers(1, self.run.reference_max + 1))
        order = [others[k] for k in rng.permutation(len(others))]
        if u < 0.60:
            pick = order[:n]
        elif u < 0.90:
            neutral = [j for j in order if self.recs[j]["emotion"] == "neutral"]
            pick = (neutral + [j for j in order if j not in set(neutral)])[:n]
        else:
            emo = str(rng.choice([e for e in EMOTION_CLASSES if e != "neutral"]))
            same = [j for j in order if self.recs[j]["emotion"] == emo] or order
            pick = [same[int(k)] for k in rng.integers(0, len(same), size=n)]
        shift = float(self.recs[i].get("gain_db", 0.0))
        segments = []
        for j in pick:
            v = self.vectors[j, variant].copy()
            v[self.LEVEL] += shift
            segments.append(v)
        return speaker_reference.reference_inputs(segments)

    def batch_at(self, step: int, part: int = 0, parts: int = 1):
        cleans, noisys, labels, pros, refs, weights = [], [], [], [], [], []
        for slot, i in self.slots(step, part, parts):
            rng = np.random.default_rng([self.seed, step, slot])
            c, y, snr = self.example(i, rng)
            variant = 0 if snr is None else 1 if snr >= 5.0 else 2
            ref, w = self.reference(i, variant, rng)
            cleans.append(torch.from_numpy(c))
            noisys.append(torch.from_numpy(y))
            labels.append(EMOTION_CLASSES.index(self.recs[i]["emotion"]))
            pros.append(speaker_reference.prosody(y).astype(np.float32))
            refs.append(ref)
            weights.append(w)
        reference = ReferenceInputs(torch.from_numpy(np.stack(pros)), torch.from_numpy(np.stack(refs)),
                                    torch.tensor(weights, dtype=torch.float32))
        return torch.stack(cleans), torch.stack(noisys), torch.tensor(labels, dtype=torch.long), reference


REFERENCE_SNRS = ((5.0, 20.0), (-5.0, 5.0))  # the noisy variants' SNR ranges (variant 1 and 2)


def reference_vectors(recs: List[Dict], seed: int, log=print) -> Tuple[np.ndarray, np.ndarray]:
    """Per utterance, its prosody features at unit gain: clean, and mixed with a seen noise at each REFERENCE_SNRS
    range -> vectors [R, 3, P] float64, valid [R, 3] (enough speech to enter a reference)."""
    kinds = list(seen_noise())
    vectors = np.zeros((len(recs), 1 + len(REFERENCE_SNRS), speaker_reference.NUM_FEATURES))
    valid = np.zeros(vectors.shape[:2], bool)
    t0 = time.time()
    for j, r in enumerate(recs):
        rng = np.random.default_rng([seed, 7, j])
        unit = read_audio(r["clean_path"]) / (10.0 ** (float(r.get("gain_db", 0.0)) / 20.0))
        versions = [unit]
        for lo, hi in REFERENCE_SNRS:
            noise = make_noise(str(rng.choice(kinds)), unit.size, rng, "train")
            versions.append(unit + scale_noise_to_snr(unit, noise, float(rng.uniform(lo, hi))))
        for k, x in enumerate(versions):
            vectors[j, k], valid[j, k] = speaker_reference.prosody_and_validity(x)
        if (j + 1) % 500 == 0:
            log(f"[train] reference features {j + 1}/{len(recs)}, {(time.time() - t0) / (j + 1) * 1000:.0f} ms each")
    return vectors, valid


def cached_reference_vectors(recs: List[Dict], seed: int, out: str, log=print) -> Tuple[np.ndarray, np.ndarray]:
    """reference_vectors, kept in OUT/reference_features.npz so a resumed run does not recompute them."""
    path = os.path.join(out, "reference_features.npz")
    if os.path.exists(path):
        blob = np.load(path)
        if blob["vectors"].shape[0] == len(recs):
            return blob["vectors"], blob["valid"]
    vectors, valid = reference_vectors(recs, seed, log)
    np.savez(path, vectors=vectors, valid=valid)
    return vectors, valid


def make_sampler(recs: List[Dict], run: "TrainRunConfig", reference: Optional[Tuple[np.ndarray, np.ndarray]] = None
                 ) -> CropSampler:
    """The run's sampler; its batch is the effective batch (batch_size x accumulate), served in micro-batches."""
    n = int(run.crop_seconds * SAMPLE_RATE)
    batch = effective_batch(run)
    if run.noise_dir and not run.on_the_fly_noise:
        raise ValueError("--noise-dir mixes noise on the fly: it needs --on-the-fly-noise")
    if run.speaker_reference:
        if not run.on_the_fly_noise or reference is None:
            raise ValueError("--speaker-reference needs --on-the-fly-noise and the reference features")
        return ReferenceSampler(recs, batch, n, run.seed, run, *reference)
    if run.on_the_fly_noise:
        return MixingSampler(recs, batch, n, run.seed, run)
    return CropSampler(recs, batch, n, run.seed)


def effective_batch(run: "TrainRunConfig") -> int:
    if run.accumulate < 1:
        raise ValueError(f"--accumulate {run.accumulate}: must be >= 1")
    return run.batch_size * run.accumulate


def resolve_budget(run: "TrainRunConfig", items: int) -> "TrainRunConfig":
    """`run` with its stage lengths in steps: from --stage1-epochs / --stage2-epochs when given (ceil(epochs x items
    / effective batch)), else the step counts as they are."""
    batch = effective_batch(run)
    steps = {}
    if run.stage1_epochs > 0:
        steps["stage1_steps"] = int(math.ceil(run.stage1_epochs * items / batch))
    if run.stage2_epochs > 0:
        steps["stage2_steps"] = int(math.ceil(run.stage2_epochs * items / batch))
    return dataclasses.replace(run, **steps) if steps else run


def waveform_std(recs: List[Dict], limit: int = 200) -> float:
    """Global standard deviation of the training speech (the first `limit` clean files): the paper's code z-normalises
    its input with it; here it sets the SE head's magnitude scale."""
    total = count = 0.0
    for r in recs[:limit]:
        x = read_audio(r["clean_path"]).astype(np.float64)
        total += float(np.sum(x * x))
        count += x.size
    return math.sqrt(total / max(count, 1.0))


def class_counts(recs: List[Dict]) -> List[int]:
    return [sum(1 for r in recs if r["emotion"] == c) for c in EMOTION_CLASSES]


# --------------------------------------------------------------------------------------------------------------- model


def model_config(run: TrainRunConfig, train_recs: List[Dict], base: Optional[ModelConfig] = None) -> ModelConfig:
    """The named tiny config of `run.model` (or `base`, e.g. a smaller one in tests) with the run's training fields."""
    if run.model not in MODEL_CONFIGS:
        raise ValueError(f"--model {run.model!r} is not one of {sorted(MODEL_CONFIGS)}")
    if base is not None:
        cfg = copy.deepcopy(base)
    elif run.backbone != "tiny":
        kind, moe = LARGE_MODELS[run.model]
        cfg = paper_config(kind, run.backbone, run.backbone_checkpoint or None, **moe)
    else:
        cfg = named_config(MODEL_CONFIGS[run.model])
    cfg.name = run.name or cfg.name
    t = cfg.training
    t.lr, t.backbone_lr_scale, t.weight_decay = run.lr, run.backbone_lr_scale, run.weight_decay
    t.class_weights = [round(w, 6) for w in class_weights_from_counts(class_counts(train_recs))]
    # Record the budget in epochs of the train manifest (the dataclass counts epochs; the trainer counts steps).
    per_epoch = max(1, len(train_recs))
    t.stage1_epochs = int(math.ceil(run.stage1_steps * effective_batch(run) / per_epoch))
    t.stage2_epochs = int(math.ceil(run.stage2_steps * effective_batch(run) / per_epoch))
    snrs = [float(r["snr_db"]) for r in train_recs]
    t.snr_db_range = (run.snr_low_db, run.snr_high_db) if run.on_the_fly_noise else (min(snrs), max(snrs))
    t.se_loss_weight = run.se_loss_weight
    if run.normalise_magnitude:
        cfg.se.magnitude_scale = round(1.0 / max(waveform_std(train_recs), 1e-4), 3)
    cfg.ser.input_dropout, cfg.ser.dropout = run.ser_input_dropout, run.ser_dropout
    cfg.ser.layer_norm, cfg.ser.level_features = run.ser_layer_norm, run.level_features
    return cfg


def with_speaker_reference(cfg: ModelConfig, vectors: np.ndarray, valid: np.ndarray) -> ModelConfig:
    """`cfg` with the reference branch on and its input scaling fitted to the training features."""
    if cfg.kind != "sparse_merit":
        raise ValueError(f"--speaker-reference is built for sparse_merit models, not {cfg.kind!r}")
    cfg.ser.speaker_reference = True
    cfg.ser.prosody_mean, cfg.ser.prosody_scale = speaker_reference.feature_scale(vectors[valid])
    return cfg


def init_from_checkpoint(run: TrainRunConfig, train_recs: List[Dict], reference) -> Tuple[ModelConfig, nn.Module]:
    """The config and weights of `run.init_checkpoint`, renamed, with the reference branch added when asked; only
    parameters that the checkpoint lacks (the new branch) keep their fresh initialisation."""
    blob = devices.load(run.init_checkpoint)
    cfg = config_from_dict(blob["config"])
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f"--init-checkpoint {run.init_checkpoint} is not a single model")
    cfg.name = run.name or cfg.name
    cfg.training.class_weights = [round(w, 6) for w in class_weights_from_counts(class_counts(train_recs))]
    if reference is not None:
        cfg = with_speaker_reference(cfg, *reference)
    model = build_model(cfg)
    result = model.load_state_dict(blob["state_dict"], strict=False)
    fresh = [k for k in result.missing_keys if not k.startswith("ser_head.reference.")]
    if fresh or result.unexpected_keys:
        raise ValueError(f"--init-checkpoint {run.init_checkpoint} does not fit: missing {fresh}, "
                         f"unexpected {result.unexpected_keys}")
    return cfg, model


def trainable_prefixes(run: TrainRunConfig) -> List[str]:
    return [p.strip() for p in run.trainable.split(",") if p.strip()]


def set_train_mode(model: nn.Module, run: TrainRunConfig) -> None:
    """Train mode; with `trainable` prefixes only those modules train, the frozen rest runs as at inference (no
    dropout), so what the new part learns from matches what it will see."""
    prefixes = trainable_prefixes(run)
    model.train(not prefixes)
    for name, module in model.named_modules():
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            module.train()


def backbone_params(model: nn.Module) -> List[nn.Parameter]:
    return [p for n, p in model.named_parameters() if n.startswith("backbone.")]


def make_optimizer(model: nn.Module, run: TrainRunConfig) -> torch.optim.Optimizer:
    bb = set(id(p) for p in backbone_params(model))
    rest = [p for p in model.parameters() if id(p) not in bb]
    return torch.optim.AdamW(
        [{"params": rest, "lr_scale": 1.0}, {"params": backbone_params(model), "lr_scale": run.backbone_lr_scale}],
        lr=run.lr, weight_decay=run.weight_decay)


def stage_of(step: int, run: TrainRunConfig) -> int:
    return 1 if step < run.stage1_steps else 2


def lr_at(step: int, run: TrainRunConfig) -> float:
    """Linear warm-up then cosine decay to 10 %, restarted for each stage (stage 2 unfreezes new parameters)."""
    start, length = (0, run.stage1_steps) if stage_of(step, run) == 1 else (run.stage1_steps, run.stage2_steps)
    k = step - start
    if k < run.warmup_steps:
        return run.lr * (k + 1) / run.warmup_steps
    progress = (k - run.warmup_steps) / max(1, length - run.warmup_steps)
    return run.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def is_cnn_param(name: str) -> bool:
    return name.startswith("backbone.") and ".feature_extractor." in name


def set_stage(model: nn.Module, opt: torch.optim.Optimizer, step: int, run: TrainRunConfig) -> int:
    stage = stage_of(step, run)
    frozen = stage == 1
    prefixes = trainable_prefixes(run)
    for name, p in model.named_parameters():
        if prefixes:
            p.requires_grad_(any(name.startswith(x + ".") for x in prefixes))
        elif name.startswith("backbone."):
            p.requires_grad_(not frozen and not (run.freeze_cnn and is_cnn_param(name)))
    lr = lr_at(step, run)
    for g in opt.param_groups:
        # lr 0 for the frozen backbone also keeps AdamW's decoupled weight decay from touching it.
        g["lr"] = 0.0 if (frozen and g["lr_scale"] != 1.0) else lr * g["lr_scale"]
    return stage


def load_enhancer(path: str) -> nn.Module:
    model, cfg, _, _ = load_checkpoint(path)
    if not isinstance(cfg, ModelConfig) or cfg.kind not in ("se_only", "sparse_merit", "naive_mtl"):
        raise ValueError(f"--enhancer {path} is not an SE model")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


# ------------------------------------------------------------------------------------------------------------ dev eval


class ManifestPairs(torch.utils.data.Dataset):
    """Item k: (noisy [1, N], clean [1, N], label [1]) of record k, whole utterances (dev checks, calibration)."""

    def __init__(self, recs: List[Dict]):
        self.recs = recs

    def __len__(self) -> int:
        return len(self.recs)

    def __getitem__(self, k: int):
        r = self.recs[k]
        return (torch.from_numpy(read_audio(r["noisy_path"])).unsqueeze(0),
                torch.from_numpy(read_audio(r["clean_path"])).unsqueeze(0),
                torch.tensor([EMOTION_CLASSES.index(r["emotion"])]))


@torch.no_grad()
def dev_metrics(model: nn.Module, recs: List[Dict], cfg: ModelConfig, enhancer: Optional[nn.Module],
                rt: Optional[Runtime] = None) -> Dict:
    """Quick dev check on whole utterances: SER F1-macro / accuracy and the SE L1 loss."""
    from merit.metrics import f1_scores

    rt = rt or Runtime.create()
    model.eval()
    preds, labels, se_losses = [], [], []
    references = dev_references(recs) if getattr(cfg.ser, "speaker_reference", False) else None
    for k, item in enumerate(rt.loader(ManifestPairs(recs), seed=0)):
        noisy, clean, label = rt.to_device(item)
        with rt.autocast():
            x = enhancer(noisy).enhanced.float() if enhancer is not None else noisy
            out = model(x, rt.to_device(references[k])) if references is not None else model(x)
        parts = compute_losses(model, to_float(out), clean, label, cfg)
        if "se" in parts:
            se_losses.append(parts["se"].item())
        if out.emotion_logits is not None:
            preds.append(int(out.emotion_logits.argmax(-1)))
            labels.append(int(label))
    res: Dict = {}
    if preds:
        f = f1_scores(labels, preds, len(EMOTION_CLASSES))
        res.update({"f1_macro": round(float(f["f1_macro"]), 4), "accuracy": round(float(f["accuracy"]), 4)})
    if se_losses:
        res["se_l1"] = round(float(np.mean(se_losses)), 4)
    return res


DEV_REFERENCE_SIZE = 10


def manifest_references(recs: List[Dict], n: int, seed: int, only_emotion: Optional[str] = None
                        ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every item's own prosody (of its noisy audio) and a reference of `n` other items of the same speaker
    (`speaker_reference.references_for`) -> prosody [len, P] float32, speaker_ref [len, 2P], weights [len]."""
    feats = [speaker_reference.prosody_and_validity(read_audio(r["noisy_path"])) for r in recs]
    vectors = np.stack([f[0] for f in feats]).astype(np.float32)
    refs, weights = speaker_reference.references_for(recs, vectors, np.array([f[1] for f in feats]), n, seed,
                                                     only_emotion)
    return vectors, refs, weights


def dev_references(recs: List[Dict], n: int = DEV_REFERENCE_SIZE, seed: int = 0) -> List[ReferenceInputs]:
    """Per dev item, its own prosody and a reference of `n` other items of the same speaker (as `merit.evaluate`)."""
    vectors, refs, weights = manifest_references(recs, n, seed)
    return [ReferenceInputs(torch.from_numpy(vectors[k:k + 1]), torch.from_numpy(refs[k:k + 1]),
                            torch.from_numpy(weights[k:k + 1])) for k in range(len(recs))]


# ------------------------------------------------------------------------------------------------------------ training


def _save(path: str, blob: Dict) -> None:
    """Writes `blob` with every tensor on the CPU (a checkpoint loads on any machine, with or without CUDA)."""
    torch.save(to_cpu(blob), path + ".tmp")
    os.replace(path + ".tmp", path)


def train(run: TrainRunConfig, train_manifest: str, dev_manifest: Optional[str], out: str, log=print,
          base_config: Optional[ModelConfig] = None, runtime: Optional[Runtime] = None) -> str:
    """Runs (or resumes) one training run; returns the path of OUT/final.pt. `base_config` replaces the named tiny
    config of `run.model` (its sizes; the training fields are set from `run`). `runtime`: device, --amp and data
    workers (default: the CPU, float32, batches made in this process); a run resumes on any of them."""
    with RunningMarker(out), exact_conv_gradients():
        return _train(run, train_manifest, dev_manifest, out, log, base_config, runtime or Runtime.create())


def _train(run: TrainRunConfig, train_manifest: str, dev_manifest: Optional[str], out: str, log,
           base_config: Optional[ModelConfig], rt: Runtime) -> str:
    os.makedirs(out, exist_ok=True)
    train_recs = read_manifest(train_manifest)
    dev_recs = read_manifest(dev_manifest) if dev_manifest else []
    run = resolve_budget(run, len(train_recs))
    last = os.path.join(out, "last.pt")
    final = os.path.join(out, "final.pt")
    total = run.stage1_steps + run.stage2_steps
    enhancer = rt.prepare(load_enhancer(run.enhancer)) if run.enhancer else None

    torch.manual_seed(run.seed)
    reference = cached_reference_vectors(train_recs, run.seed, out, log) if run.speaker_reference else None
    blob = devices.load(last) if os.path.exists(last) else None
    if blob is not None:
        saved_run = TrainRunConfig(**blob["run"])
        # Logging cadence may change on resume; so may the stage-2 length while stage 2 has not started (the stage-1
        # schedule does not depend on it), e.g. to stop a run after its frozen-backbone stage.
        same = dict(log_every=run.log_every, checkpoint_every=run.checkpoint_every)
        if blob["step"] <= run.stage1_steps:
            same.update(stage2_steps=run.stage2_steps, stage2_epochs=run.stage2_epochs)
        if dataclasses.replace(saved_run, **same) != dataclasses.replace(run, **same):
            raise ValueError(f"{last} was written by a different run configuration: {saved_run} vs {run}; "
                             f"use another --out or delete it")
        cfg = config_from_dict(blob["config"])
        model = build_model(cfg)
        model.load_state_dict(blob["state_dict"])
    elif run.init_checkpoint:
        cfg, model = init_from_checkpoint(run, train_recs, reference)
        log(f"[train {run.name}] initialised from {run.init_checkpoint}")
    else:
        cfg = model_config(run, train_recs, base_config)
        if reference is not None:
            cfg = with_speaker_reference(cfg, *reference)
        model = build_model(cfg)
        if run.backbone_init:
            load_backbone_init(model.backbone, run.backbone_init)
            log(f"[train {run.name}] backbone initialised from {run.backbone_init}")
    # On the device before the optimizer exists: AdamW's state then lives beside each parameter, and a loaded state
    # (written on whatever device) is moved there by Optimizer.load_state_dict.
    model = rt.prepare(model)
    opt = make_optimizer(model, run)
    scaler = rt.grad_scaler()
    step, history, dev_hist = 0, [], []
    if blob is not None:
        opt.load_state_dict(blob["optimizer"])
        if scaler.is_enabled() and blob.get("scaler"):
            scaler.load_state_dict(blob["scaler"])
        step, history, dev_hist = blob["step"], blob["history"], blob.get("dev", [])
        if "rng" in blob:
            torch.set_rng_state(blob["rng"])  # dropout draws continue as if never interrupted
        rt.set_rng_state(blob.get("cuda_rng"))
        log(f"[train {run.name}] resumed from {last} at step {step}/{total}"
            + (f" (written on {blob['runtime']['device']})" if blob.get("runtime") else ""))
        del blob
    sampler = make_sampler(train_recs, run, reference)
    if rt.workers > 0 and isinstance(sampler, MixingSampler) and sampler.noise_files is None \
            and "babble" in sampler.noise_types:
        prewarm_babble(["train"])  # once here, inherited by the forked workers instead of made in each
    for m in model.modules():
        if isinstance(m, SEHead):
            m.synthesize_when_training = False
    log(f"[train {run.name}] {rt.describe()}; {total} steps of {effective_batch(run)} examples"
        + (f" ({run.accumulate} x {run.batch_size})" if run.accumulate > 1 else ""))
    runtime_record = {"device": str(rt.device), "amp": rt.amp, "workers": rt.workers, "torch": torch.__version__}

    def checkpoint() -> None:
        blob = {"config": config_to_dict(cfg), "state_dict": model.state_dict(), "optimizer": opt.state_dict(),
                "step": step, "history": history, "dev": dev_hist, "run": dataclasses.asdict(run),
                "rng": torch.get_rng_state(), "runtime": runtime_record}
        if scaler.is_enabled():
            blob["scaler"] = scaler.state_dict()
        if rt.rng_state() is not None:
            blob["cuda_rng"] = rt.rng_state()
        _save(last, blob)

    # Micro-batches from the resumed step on; each is a function of (seed, step, slot) alone, so neither a resume
    # nor the number of workers changes what the run sees.
    batches = iter(rt.loader(MicroBatches(sampler, step, total, run.accumulate), seed=run.seed * 1_000_003 + step))
    set_train_mode(model, run)
    t0, s0 = time.time(), step
    while step < total:
        t_step = time.time()
        stage = set_stage(model, opt, step, run)
        opt.zero_grad()
        sums: Dict[str, Tensor] = {}
        parts: Dict[str, Tensor] = {}
        finite = True
        waited = 0.0
        for _ in range(run.accumulate):
            t_data = time.time()
            clean, noisy, labels, *extra = rt.to_device(next(batches))
            waited += time.time() - t_data
            if not finite:
                continue  # the step is skipped; its other micro-batches are still consumed
            with rt.autocast():
                if enhancer is not None:
                    with torch.no_grad():
                        noisy = enhancer(noisy).enhanced.float()
                out_ = model(noisy, *extra)
            parts = compute_losses(model, to_float(out_), clean, labels, cfg)  # float32, outside autocast
            loss = parts["total"]
            if not torch.isfinite(loss):
                finite = False
                continue
            scaler.scale(loss / run.accumulate if run.accumulate > 1 else loss).backward()
            for k, v in parts.items():
                sums[k] = sums[k] + v.detach() if k in sums else v.detach()
        if finite:
            scaler.unscale_(opt)
            norm = nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], run.grad_clip)
            if torch.isfinite(norm):
                scaler.step(opt)
            else:
                # A finite loss can still give an inf/NaN gradient; clipping would scale every gradient by NaN and
                # one such step turns all weights into NaN (seen once in stage 2 of the first real run). With fp16
                # this is the loss scaler finding an overflow: update() lowers the scale.
                log(f"[train {run.name}] step {step + 1}: non-finite gradient norm, update skipped"
                    + (f" (fp16 loss scale {scaler.get_scale():g})" if scaler.is_enabled() else ""))
            scaler.update()
            shown = {k: v / run.accumulate for k, v in sums.items()} if run.accumulate > 1 else sums
        else:
            log(f"[train {run.name}] step {step + 1}: non-finite loss, batch skipped")
            shown = parts
        step += 1
        rec = {"step": step, "stage": stage, **{k: round(v.item(), 5) for k, v in shown.items()},
               "seconds": round(time.time() - t_step, 4), "data_seconds": round(waited, 4)}
        history.append(rec)
        if step % run.log_every == 0 or step == total:
            el = time.time() - t0
            per = el / max(1, step - s0)
            recent = history[-run.log_every:]
            mean = {k: np.mean([h[k] for h in recent if k in h]) for k in shown}
            log(f"[train {run.name}] step {step}/{total} stage {stage} "
                + " ".join(f"{k} {v:.4f}" for k, v in mean.items())
                + f" | {per:.2f} s/step, ETA {per * (total - step) / 60:.1f} min")
        stage_end = step == run.stage1_steps or step == total
        if stage_end and dev_recs:
            d = {"step": step, "stage": stage, **dev_metrics(model, dev_recs, cfg, enhancer, rt)}
            dev_hist.append(d)
            set_train_mode(model, run)
            log(f"[train {run.name}] dev after stage {stage}: {json.dumps(d)}")
        if step % run.checkpoint_every == 0 or stage_end:
            checkpoint()
        if step == run.stage1_steps and run.stage2_steps > 0:
            # The frozen-backbone model, kept for the pretraining ablation (same budget as a stage-1-only run).
            _save(os.path.join(out, "stage1.pt"), {"config": config_to_dict(cfg), "state_dict": model.state_dict(),
                                                   "data": None, "metrics": {"dev": dev_hist[-1] if dev_hist else None},
                                                   "history": history})
    blob = {"config": config_to_dict(cfg), "state_dict": model.state_dict(),
            "data": {"train_manifest": os.path.abspath(train_manifest), "train_items": len(train_recs),
                     "class_counts": dict(zip(EMOTION_CLASSES, class_counts(train_recs))),
                     "training": dataclasses.asdict(run)},
            "metrics": {"dev": dev_hist[-1] if dev_hist else None},
            "run": dataclasses.asdict(run), "history": history, "dev": dev_hist, "runtime": runtime_record}
    _save(final, blob)
    log(f"[train {run.name}] done: {final}")
    return final


def default_threads() -> int:
    """MERIT_THREADS, else every core (the recipe sets it to cores / parallel stages)."""
    return int(os.environ.get("MERIT_THREADS", str(os.cpu_count() or 1)))


def assemble_cascade(se_ckpt: str, ser_ckpt: str, out_path: str, name: str = "se-preproc") -> str:
    """One checkpoint (CascadeConfig) from the trained SE-only and SER-only halves, so it exports as one graph."""
    se_blob = devices.load(se_ckpt)
    ser_blob = devices.load(ser_ckpt)
    cfg = CascadeConfig(name=name, se_model=config_from_dict(se_blob["config"]),
                        ser_model=config_from_dict(ser_blob["config"]))
    model = build_model(cfg)
    model.se_model.load_state_dict(se_blob["state_dict"], strict=True)
    model.ser_model.load_state_dict(ser_blob["state_dict"], strict=True)
    _save(out_path, {"config": config_to_dict(cfg), "state_dict": model.state_dict(),
                     "data": {"se": se_blob.get("data"), "ser": ser_blob.get("data")},
                     "metrics": {"se_dev": (se_blob.get("metrics") or {}).get("dev"),
                                 "ser_dev": (ser_blob.get("metrics") or {}).get("dev")},
                     "history": {"se": se_blob.get("history"), "ser": ser_blob.get("history")}})
    return out_path


CHOICES = {"model": sorted(MODEL_CONFIGS), "backbone": ["tiny", "wavlm_large", "hubert_large", "wav2vec2_large"]}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python3 -m merit.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", help="train JSONL manifest")
    ap.add_argument("--dev", help="dev JSONL manifest (checked at each stage end)")
    ap.add_argument("--out", help="run folder (last.pt, final.pt)")
    ap.add_argument("--assemble-cascade", nargs=2, metavar=("SE_CKPT", "SER_CKPT"),
                    help="join two trained halves into OUT (a .pt path) and exit")
    devices.add_arguments(ap)
    for f in dataclasses.fields(TrainRunConfig):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            ap.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            ap.add_argument(flag, type=type(f.default), default=f.default, choices=CHOICES.get(f.name))
    return ap


def parse_run(argv) -> Tuple[argparse.Namespace, TrainRunConfig]:
    """merit.train's command line -> (the parsed arguments, the run it describes); the recipe's tests use it too."""
    a = build_parser().parse_args(argv)
    run = TrainRunConfig(**{f.name: getattr(a, f.name) for f in dataclasses.fields(TrainRunConfig)})
    if not run.name:
        run.name = run.model
    return a, run


def main(argv=None) -> int:
    ap = build_parser()
    a, run = parse_run(argv)
    torch.set_num_threads(default_threads())
    if a.assemble_cascade:
        if not a.out:
            ap.error("--assemble-cascade needs --out FILE.pt")
        print(assemble_cascade(a.assemble_cascade[0], a.assemble_cascade[1], a.out, a.name or "se-preproc"))
        return 0
    if not (a.train and a.out):
        ap.error("--train and --out are required")
    try:
        rt = Runtime.create(a.device, a.amp, a.workers)
        effective_batch(run)
    except ValueError as e:
        ap.error(str(e))
    train(run, a.train, a.dev, a.out, log=lambda s: print(s, flush=True), runtime=rt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
