"""Sparse MERIT and its baselines (naive MTL, SE-only, SER-only, SE-preprocessing cascade, dense MoE by config)."""
from typing import Dict, NamedTuple, Optional

import torch
from torch import Tensor, nn

from merit.backbones import build_backbone
from merit.components import GateOutput, LayerConcat, SharedMoE, WeightedLayerSum
from merit.config import ModelConfig
from merit.heads import ReferenceInputs, SEHead, SEOutput, SERHead
from merit.losses import se_l1_loss, ser_cross_entropy, switch_load_balance_loss, total_loss

# Inputs shorter than one conv receptive field / one STFT frame have no frames at all.
MIN_SAMPLES = 400


class ModelOutput(NamedTuple):
    enhanced: Optional[Tensor]  # [B, N]
    emotion_logits: Optional[Tensor]  # [B, C]
    se: Optional[SEOutput]  # spectra for the SE loss
    gates: Optional[Dict[str, GateOutput]]  # task -> gate output (MoE models only)


def _check_waveform(waveform: Tensor) -> None:
    if torch.jit.is_tracing():
        return
    if waveform.dim() != 2:
        raise ValueError(f"waveform must be [B, N], got shape {tuple(waveform.shape)}")
    if waveform.shape[1] < MIN_SAMPLES:
        raise ValueError(f"waveform has {waveform.shape[1]} samples; need at least {MIN_SAMPLES} (25 ms at 16 kHz)")


class SparseMerit(nn.Module):
    """waveform [B, N] -> all hidden states -> LayerNorm+concat [B, T, L*D] -> shared MoE (one gate per task)
    -> SE head (enhanced [B, N]) and SER head (logits [B, 4]). Dense MoE = the same class with gate_mode "dense".
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg.backbone)
        n, d = self.backbone.num_hidden_states, self.backbone.hidden_dim
        self.fuse = LayerConcat(n, d)
        self.moe = SharedMoE(n * d, d, cfg.moe)
        self.se_head = SEHead(d, cfg.se)
        self.ser_head = SERHead(d, cfg.ser)

    def forward(self, waveform: Tensor, reference: Optional[ReferenceInputs] = None) -> ModelOutput:
        _check_waveform(waveform)
        fused = self.fuse(self.backbone(waveform))  # [B, T, L*D]
        moe = self.moe(fused)  # per task [B, T, D]
        se = self.se_head(moe.features["se"], waveform)
        logits = self.ser_head(moe.features["ser"], waveform, reference)  # [B, C]
        return ModelOutput(se.enhanced, logits, se, moe.gates)


class _WeightedSumEncoder(nn.Module):
    """Backbone + one learned weighted sum of its hidden states: the shared representation of the non-MoE models."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = build_backbone(cfg.backbone)
        self.fuse = WeightedLayerSum(self.backbone.num_hidden_states, self.backbone.hidden_dim)

    def encode(self, waveform: Tensor) -> Tensor:
        _check_waveform(waveform)
        return self.fuse(self.backbone(waveform))  # [B, T, D]


class NaiveMTL(_WeightedSumEncoder):
    """Both heads on one shared learned weighted sum of the hidden states; no experts, no routing."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.se_head = SEHead(self.backbone.hidden_dim, cfg.se)
        self.ser_head = SERHead(self.backbone.hidden_dim, cfg.ser)

    def forward(self, waveform: Tensor) -> ModelOutput:
        shared = self.encode(waveform)
        se = self.se_head(shared, waveform)
        return ModelOutput(se.enhanced, self.ser_head(shared, waveform), se, None)


class SEOnly(_WeightedSumEncoder):
    """Single-task enhancement model (first stage of the SE-preprocessing cascade)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.se_head = SEHead(self.backbone.hidden_dim, cfg.se)

    def forward(self, waveform: Tensor) -> ModelOutput:
        se = self.se_head(self.encode(waveform), waveform)
        return ModelOutput(se.enhanced, None, se, None)


class SEROnly(_WeightedSumEncoder):
    """Single-task emotion model (second stage of the cascade, or the SER-only baseline)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.ser_head = SERHead(self.backbone.hidden_dim, cfg.ser)

    def forward(self, waveform: Tensor) -> ModelOutput:
        return ModelOutput(None, self.ser_head(self.encode(waveform), waveform), None, None)


class SECascade(nn.Module):
    """SE-preprocessing baseline: SER runs on the SE model's enhanced audio; one module, so one exported graph."""

    def __init__(self, se_model: SEOnly, ser_model: SEROnly, cfg=None):
        super().__init__()
        self.cfg = cfg
        self.se_model = se_model
        self.ser_model = ser_model

    def forward(self, waveform: Tensor) -> ModelOutput:
        _check_waveform(waveform)
        se_out = self.se_model(waveform)
        ser_out = self.ser_model(se_out.enhanced)
        return ModelOutput(se_out.enhanced, ser_out.emotion_logits, se_out.se, None)


def compute_losses(
    model: nn.Module,
    out: ModelOutput,
    clean: Optional[Tensor],
    labels: Optional[Tensor],
    cfg: ModelConfig,
) -> Dict[str, Tensor]:
    """Loss parts plus `total` for whatever the model produces (SE needs `clean` [B, N], SER needs `labels` [B]).

    `cfg` is the model's own ModelConfig; the cascade's two stages are trained separately, each with its own config.
    """
    parts: Dict[str, Tensor] = {}
    if out.se is not None and clean is not None:
        head = _find_se_head(model)
        parts["se"] = se_l1_loss(out.se.enhanced_logmag, clean, head.stft, head.cfg.magnitude_scale)
    if out.emotion_logits is not None and labels is not None:
        parts["ser"] = ser_cross_entropy(out.emotion_logits, labels, cfg.training.class_weights)
    if out.gates is not None:
        parts["load_balance"] = sum(switch_load_balance_loss(g.probs, g.routing) for g in out.gates.values())
    parts["total"] = total_loss(parts, cfg.training.se_loss_weight, cfg.training.ser_loss_weight, cfg.moe.load_balance_alpha)
    return parts


def _find_se_head(model: nn.Module) -> SEHead:
    for module in model.modules():
        if isinstance(module, SEHead):
            return module
    raise ValueError("model has no SE head")
