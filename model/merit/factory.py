"""Builds any model in this package from its config dataclass (or the dict saved in a checkpoint / model card)."""
from typing import Any, Dict, Union

from torch import nn

from merit.config import AnyModelConfig, CascadeConfig, ModelConfig, config_from_dict
from merit.model import NaiveMTL, SECascade, SEOnly, SEROnly, SparseMerit

_SINGLE = {"sparse_merit": SparseMerit, "naive_mtl": NaiveMTL, "se_only": SEOnly, "ser_only": SEROnly}


def build_model(cfg: Union[AnyModelConfig, Dict[str, Any]]) -> nn.Module:
    if isinstance(cfg, dict):
        cfg = config_from_dict(cfg)
    if isinstance(cfg, CascadeConfig):
        return SECascade(build_model(cfg.se_model), build_model(cfg.ser_model), cfg)
    if isinstance(cfg, ModelConfig):
        return _SINGLE[cfg.kind](cfg)
    raise TypeError(f"expected ModelConfig, CascadeConfig or dict, got {type(cfg).__name__}")


def save_checkpoint(path: str, model: nn.Module, cfg: AnyModelConfig, data: Any = None, metrics: Any = None) -> None:
    """The checkpoint format the trainer writes and `merit.export --checkpoint` reads: config dict + state dict."""
    import torch

    from merit.config import config_to_dict

    torch.save(
        {"config": config_to_dict(cfg), "state_dict": model.state_dict(), "data": data, "metrics": metrics},
        path,
    )


def load_checkpoint(path: str):
    """-> (model in eval mode, config, data, metrics). Strict: every weight must match the saved config's model."""
    from merit.device import load

    blob = load(path)  # onto the CPU, whichever device wrote it
    missing = {"config", "state_dict"} - set(blob)
    if missing:
        raise ValueError(f"{path} is not a merit checkpoint: missing {sorted(missing)}")
    cfg = config_from_dict(blob["config"])
    model = build_model(cfg)
    model.load_state_dict(blob["state_dict"], strict=True)
    return model.eval(), cfg, blob.get("data"), blob.get("metrics")
