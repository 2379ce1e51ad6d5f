"""Config dataclasses for every model in this package.

One dataclass tree per model; it is saved inside every checkpoint and model card (as plain JSON via
`config_to_dict`) and rebuilt with `config_from_dict`, so nothing is ever configured by exec.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

# Paper order (A, S, H, N); the exported `emotion_logits` columns follow it.
EMOTION_CLASSES: Tuple[str, ...] = ("angry", "sad", "happy", "neutral")

BACKBONE_KINDS = ("tiny", "wavlm_large", "hubert_large", "wav2vec2_large")
GATE_MODES = ("top1", "topk", "dense")
DISPATCH_MODES = ("sparse", "dense")
MODEL_KINDS = ("sparse_merit", "naive_mtl", "se_only", "ser_only")


def _check_choice(name: str, value: Any, allowed: Tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {list(allowed)}")


@dataclass
class BackboneConfig:
    """SSL encoder. `kind` picks the architecture; the other fields size the tiny encoder only.

    The large kinds have fixed published sizes and take their weights from `checkpoint_path`.
    """

    kind: str = "tiny"
    checkpoint_path: Optional[str] = None
    # Tiny wav2vec2/HuBERT-style encoder: 7 conv layers with the standard kernels/strides (320x, 20 ms frames).
    conv_channels: int = 64
    dim: int = 128
    num_layers: int = 4
    num_heads: int = 4
    ffn_dim: int = 256
    pos_conv_kernel: int = 32
    pos_conv_groups: int = 4
    dropout: float = 0.0
    # Train-time freezing is read by the trainer (stage 1 keeps the backbone frozen).
    freeze: bool = False

    def __post_init__(self) -> None:
        _check_choice("backbone.kind", self.kind, BACKBONE_KINDS)


@dataclass
class MoEConfig:
    """Shared expert pool with one gate per task (SE, SER)."""

    num_experts: int = 3
    # Expert FFN hidden width H (paper: 4096). Output width is the backbone's hidden dim (paper: 1024).
    expert_hidden: int = 256
    gate_mode: str = "top1"
    top_k: int = 2
    # "sparse": each expert runs once on the union of frames either task routes to it (saves work when routed);
    # "dense": every expert runs on every frame and the unused outputs get weight 0 (same numbers, more work).
    dispatch: str = "sparse"
    load_balance_alpha: float = 0.01

    def __post_init__(self) -> None:
        _check_choice("moe.gate_mode", self.gate_mode, GATE_MODES)
        _check_choice("moe.dispatch", self.dispatch, DISPATCH_MODES)
        if self.num_experts < 1:
            raise ValueError(f"moe.num_experts={self.num_experts} must be >= 1")
        if self.gate_mode == "topk" and not 1 <= self.top_k <= self.num_experts:
            raise ValueError(f"moe.top_k={self.top_k} must be in [1, num_experts={self.num_experts}]")


@dataclass
class SEHeadConfig:
    """Mask-based enhancement head on 10 ms STFT frames."""

    n_fft: int = 400
    hop_length: int = 160
    linear_dim: int = 256
    lstm_hidden: int = 64
    lstm_layers: int = 2
    dropout: float = 0.0
    # The mask works on log1p(magnitude_scale * |X|). At raw scale speech magnitudes are small and log1p(x) ~ x, so the
    # L1 loss is in effect linear and under-weights quiet high-frequency speech; the trainer sets 1 / (global std of
    # the training waveforms), the z-normalisation of the paper's code, as a constant inside the graph.
    magnitude_scale: float = 1.0

    @property
    def num_bins(self) -> int:
        return self.n_fft // 2 + 1


@dataclass
class SERHeadConfig:
    """Attentive statistics pooling over 20 ms frames, then an MLP classifier."""

    attention_dim: int = 128
    mlp_hidden: int = 256
    dropout: float = 0.1
    # The paper's code: dropout on the pooled input, Linear, LayerNorm, ReLU, dropout, Linear.
    input_dropout: float = 0.0
    layer_norm: bool = False
    # Two per-frame level channels beside the features (log energy, and log energy relative to the window's loudest
    # frame): the tiny backbone's GroupNorm front end is gain-invariant, so without them the head cannot see level,
    # a main arousal cue.
    level_features: bool = False
    # 1 / the softmax temperature fitted on the dev split after training (merit.evaluate --export --calibrate): the
    # job's alert thresholds are probabilities, so they need calibrated ones. Training always runs at 1.
    logit_scale: float = 1.0
    classes: List[str] = field(default_factory=lambda: list(EMOTION_CLASSES))
    # Speaker-relative emotion (merit.speaker_reference): the graph takes the window's prosody features and the
    # channel's running reference as extra inputs, and a small branch adds its logits to the head's. The feature mean
    # and 1 / std of the training set are kept as graph constants.
    speaker_reference: bool = False
    reference_hidden: int = 64
    prosody_mean: Optional[List[float]] = None
    prosody_scale: Optional[List[float]] = None


@dataclass
class TrainingConfig:
    """Read by the trainer (a later issue); recorded here so each checkpoint says how it was trained."""

    lr: float = 5e-5
    backbone_lr_scale: float = 0.5
    weight_decay: float = 0.01
    se_loss_weight: float = 1.0
    ser_loss_weight: float = 1.0
    class_weights: Optional[List[float]] = None
    stage1_epochs: int = 5
    stage2_epochs: int = 10
    snr_db_range: Tuple[float, float] = (-5.0, 20.0)


@dataclass
class ModelConfig:
    """One jointly-trained model: Sparse MERIT (experts), naive MTL (weighted layer sum), or a single-task model."""

    name: str = "sparse_merit_tiny"
    version: str = "0.1.0"
    kind: str = "sparse_merit"
    sample_rate: int = 16000
    # The streaming job feeds windows of this size; the card records them so Java can check its settings.
    window_seconds: float = 3.0
    hop_seconds: float = 1.0
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    moe: MoEConfig = field(default_factory=MoEConfig)
    se: SEHeadConfig = field(default_factory=SEHeadConfig)
    ser: SERHeadConfig = field(default_factory=SERHeadConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        _check_choice("kind", self.kind, MODEL_KINDS)


@dataclass
class CascadeConfig:
    """SE-preprocessing baseline: an SE-only model enhances, an SER-only model classifies the enhanced audio."""

    name: str = "se_cascade_tiny"
    version: str = "0.1.0"
    kind: str = "se_cascade"
    sample_rate: int = 16000
    window_seconds: float = 3.0
    hop_seconds: float = 1.0
    se_model: ModelConfig = field(default_factory=lambda: ModelConfig(name="se_only_tiny", kind="se_only"))
    ser_model: ModelConfig = field(default_factory=lambda: ModelConfig(name="ser_only_tiny", kind="ser_only"))

    def __post_init__(self) -> None:
        if self.se_model.kind != "se_only" or self.ser_model.kind != "ser_only":
            raise ValueError(
                f"cascade needs se_model.kind='se_only' and ser_model.kind='ser_only', "
                f"got {self.se_model.kind!r} and {self.ser_model.kind!r}"
            )


AnyModelConfig = Union[ModelConfig, CascadeConfig]


def config_to_dict(cfg: AnyModelConfig) -> Dict[str, Any]:
    """JSON-ready dict (tuples become lists)."""
    return dataclasses.asdict(cfg)


def _build(cls, data: Dict[str, Any]):
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {unknown}")
    kwargs = {}
    nested = {
        "backbone": BackboneConfig,
        "moe": MoEConfig,
        "se": SEHeadConfig,
        "ser": SERHeadConfig,
        "training": TrainingConfig,
        "se_model": ModelConfig,
        "ser_model": ModelConfig,
    }
    for key, value in data.items():
        if key in nested and isinstance(value, dict):
            kwargs[key] = _build(nested[key], value)
        elif key == "snr_db_range" and value is not None:
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(data: Dict[str, Any]) -> AnyModelConfig:
    """Inverse of `config_to_dict`; the `kind` field tells a cascade from a single model."""
    if data.get("kind") == "se_cascade":
        return _build(CascadeConfig, data)
    return _build(ModelConfig, data)


def tiny_config(kind: str = "sparse_merit", **moe_overrides: Any) -> ModelConfig:
    """The embedded default sizes (tiny backbone, 3 experts of width 256, BLSTM 64)."""
    names = {"sparse_merit": "sparse_merit_tiny", "naive_mtl": "naive_mtl_tiny"}
    cfg = ModelConfig(name=names.get(kind, f"{kind}_tiny"), kind=kind, moe=MoEConfig(**moe_overrides))
    return cfg


# The paper's expert width (3 shared experts, 25 x 1024 = 25,600 inputs each, 1024 outputs).
PAPER_EXPERT_HIDDEN = 4096


def paper_config(kind: str = "sparse_merit", backbone: str = "wavlm_large", checkpoint_path: Optional[str] = None,
                 **moe_overrides: Any) -> ModelConfig:
    """The paper's sizes: a published Large SSL backbone (24 layers of 1024: 25 hidden states), 3 shared experts of
    width 4096 (top-1 gates unless overridden, e.g. gate_mode="dense", dispatch="dense" for the dense MoE), and its
    optimiser record (AdamW 5e-5, backbone 0.5x; 20 epochs, 5 of them with the backbone frozen). The heads keep this
    package's sizes. The backbone's weights come from `checkpoint_path` (a local file; nothing is downloaded)."""
    _check_choice("backbone.kind", backbone, BACKBONE_KINDS[1:])
    moe = dict(expert_hidden=PAPER_EXPERT_HIDDEN, **moe_overrides)
    return ModelConfig(name=f"{kind}_{backbone}", kind=kind,
                       backbone=BackboneConfig(kind=backbone, checkpoint_path=checkpoint_path),
                       moe=MoEConfig(**moe),
                       training=TrainingConfig(lr=5e-5, backbone_lr_scale=0.5, stage1_epochs=5, stage2_epochs=15))


def named_config(name: str) -> AnyModelConfig:
    """Configs the export CLI knows by name (`--config NAME`)."""
    if name in ("tiny", "sparse_merit_tiny"):
        return tiny_config("sparse_merit")
    if name == "dense_moe_tiny":
        cfg = tiny_config("sparse_merit", gate_mode="dense", dispatch="dense")
        cfg.name = "dense_moe_tiny"
        return cfg
    if name == "sparse_merit_tiny_dense_dispatch":
        cfg = tiny_config("sparse_merit", dispatch="dense")
        cfg.name = name
        return cfg
    if name == "naive_mtl_tiny":
        return tiny_config("naive_mtl")
    if name == "se_only_tiny":
        return tiny_config("se_only")
    if name == "ser_only_tiny":
        return tiny_config("ser_only")
    if name == "se_cascade_tiny":
        return CascadeConfig()
    raise ValueError(f"unknown config {name!r}; known: {list(NAMED_CONFIGS)}")


NAMED_CONFIGS = (
    "tiny",
    "dense_moe_tiny",
    "sparse_merit_tiny_dense_dispatch",
    "naive_mtl_tiny",
    "se_only_tiny",
    "ser_only_tiny",
    "se_cascade_tiny",
)
