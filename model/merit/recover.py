"""Recovers a trained model's weights from its exported ONNX graph and card, as a checkpoint.

    /usr/bin/python3 -m merit.recover --model ../models/merit-sparse.onnx --out merit-sparse.pt

The committed models ship as ONNX only (the training runs' checkpoints are hours of CPU and not committed). A new export
of a shipped model (more outputs, the streaming graphs of `merit.streaming`) needs its PyTorch weights: this reads them
back from the graph's initializers instead of training again.

How: the card's config builds the same module; every parameter is given a distinct integer value (exact in float32)
and the module is exported with the same exporter. Each initializer of that probe export is then a copy of parameter
elements (as is, transposed, or regrouped like the LSTM's gates), and its integers name which; the shipped graph's
initializer read by the same node inputs gives those elements' trained values. One parameter is not a copy: torchaudio's
positional convolution is weight-normalised (weight = g · v / ||v||), which the exporter folds into one constant; it is
recovered as v = that constant and g = its norm (the same weight).

The result is checked, not trusted: the recovered model is exported again and every initializer must equal the shipped
graph's bit for bit (`verify`; the folded positional weight within 1e-5 relative, as g · v / ||v|| rounds), else this
fails naming the first that differs.
"""
import argparse
import json
import os
import tempfile
from typing import Dict, List, Tuple

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from merit.config import config_from_dict
from merit.export import export_onnx
from merit.factory import build_model, save_checkpoint


def _initializers(path: str) -> Dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}


def _counterparts(probe: Dict[str, np.ndarray], shipped_path: str) -> Dict[str, str]:
    """Probe initializer -> the shipped graph's initializer with its values. Names agree, except where the exporter
    merged initializers of equal values (an untrained model's LayerNorms are all ones): the merged name then survives
    as the output of an Identity node that reads the kept one."""
    graph = onnx.load(shipped_path).graph
    kept = {i.name for i in graph.initializer}
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity" and n.input[0] in kept}
    return {name: name if name in kept else alias[name] for name in probe if name in kept or name in alias}


def _weight_norm_pairs(model: nn.Module) -> List[Tuple[str, str, int]]:
    """(g name, v name, dim) of every weight-normalised parameter (torch.nn.utils.weight_norm's hook)."""
    pairs = []
    for mod_name, module in model.named_modules():
        for hook in module._forward_pre_hooks.values():
            if type(hook).__name__ == "WeightNorm":
                prefix = f"{mod_name}." if mod_name else ""
                pairs.append((prefix + hook.name + "_g", prefix + hook.name + "_v", hook.dim))
    return pairs


def _norm_except(v: torch.Tensor, dim: int) -> torch.Tensor:
    """||v|| over every dimension but `dim`, shaped to broadcast (torch's _weight_norm)."""
    dims = [d for d in range(v.dim()) if d != dim]
    return v.pow(2).sum(dim=dims, keepdim=True).sqrt()


def recover(onnx_path: str, card_path: str) -> Tuple[nn.Module, Dict]:
    """The card's model with the graph's trained weights (eval mode), and the card."""
    with open(card_path) as f:
        card = json.load(f)
    cfg = config_from_dict(card["config"])
    model = build_model(cfg).eval()
    shipped = _initializers(onnx_path)
    params = dict(model.named_parameters())
    norm_pairs = _weight_norm_pairs(model)
    folded_v = {v for _, v, _ in norm_pairs}

    # Probe: parameter element k (over all parameters in order) holds the value k + 1; 0 is "no parameter". The
    # weight-normalised ones come first: their folded copy is rounded by g * v / ||v||, and integers below 2^17 stay within
    # a few ulp (< 0.1) of themselves through that.
    offsets: Dict[str, int] = {}
    total = 0
    order = sorted(params, key=lambda n: n not in folded_v)
    with torch.no_grad():
        for name in order:
            p = params[name]
            offsets[name] = total
            p.copy_(torch.arange(total + 1, total + 1 + p.numel(), dtype=torch.float64).view_as(p).float())
            total += p.numel()
        if total >= 1 << 24:
            raise ValueError(f"{total} parameters: more than float32 counts exactly, the probe cannot name them")
        for g, v, dim in norm_pairs:
            # weight = g * v / ||v||: with g = ||v|| the folded constant is v itself, so its integers name v.
            params[g].copy_(_norm_except(params[v], dim))
    with tempfile.TemporaryDirectory() as tmp:
        probe_path = os.path.join(tmp, "probe.onnx")
        export_onnx(model, probe_path)
        probe = _initializers(probe_path)
        counterpart = _counterparts(probe, onnx_path)

    flat = np.zeros(total, dtype=np.float32)
    seen = np.zeros(total, dtype=bool)
    for name, values in probe.items():
        if values.dtype != np.float32 or name not in counterpart:
            continue
        ids = values.astype(np.float64).ravel()
        integral = (np.abs(ids - np.round(ids)) < 0.4) & (np.round(ids) >= 1) & (np.round(ids) <= total)
        if not integral.all():
            continue  # a constant of the graph itself (DFT kernel, window, prosody statistics)
        index = np.round(ids).astype(np.int64) - 1
        trained = shipped[counterpart[name]].astype(np.float32).ravel()
        if seen[index].any() and not np.array_equal(flat[index[seen[index]]], trained[seen[index]]):
            raise ValueError(f"initializer {name} disagrees with another copy of the same parameters")
        flat[index] = trained
        seen[index] = True

    with torch.no_grad():
        for name, p in params.items():
            start = offsets[name]
            part = slice(start, start + p.numel())
            if name in {g for g, _, _ in norm_pairs}:
                continue
            if not seen[part].all():
                raise ValueError(f"parameter {name}: {int((~seen[part]).sum())} of {p.numel()} elements are in no "
                                 "initializer of the graph; the graph was not exported from this config")
            p.copy_(torch.from_numpy(flat[part].copy()).view_as(p))
        for g, v, dim in norm_pairs:
            params[g].copy_(_norm_except(params[v], dim))
    verify(model, onnx_path)
    return model, card


def verify(model: nn.Module, onnx_path: str) -> None:
    """Exports `model` again; every initializer must equal the graph's at `onnx_path`: bit for bit, except a folded
    weight norm's (only initializers no parameter has its name for can be one), within 1e-5 of its largest value."""
    shipped = _initializers(onnx_path)
    with tempfile.TemporaryDirectory() as tmp:
        again_path = os.path.join(tmp, "again.onnx")
        export_onnx(model, again_path)
        again = _initializers(again_path)
    if set(again) != set(shipped):
        raise ValueError(f"the export has other initializers: {sorted(set(again) ^ set(shipped))[:5]}")
    named = {f"model.{n}" for n, _ in model.named_parameters()}
    for name, values in shipped.items():
        if values.shape == again[name].shape and name not in named and values.dtype == np.float32:
            if np.abs(values - again[name]).max() <= 1e-5 * np.abs(values).max():
                continue
        if values.shape != again[name].shape or not np.array_equal(values, again[name]):
            diff = float(np.abs(values.astype(np.float64) - again[name].astype(np.float64)).max()) \
                if values.shape == again[name].shape else "shape"
            raise ValueError(f"initializer {name} differs after recovery (max |diff| {diff})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="merit.recover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the exported graph; its card is beside it (NAME.json)")
    parser.add_argument("--out", required=True, help="checkpoint to write (merit.factory.save_checkpoint format)")
    args = parser.parse_args(argv)
    card_path = os.path.splitext(args.model)[0] + ".json"
    model, card = recover(args.model, card_path)
    save_checkpoint(args.out, model, model.cfg, card.get("data"), card.get("metrics"))
    print(json.dumps({"checkpoint": args.out, "verified_against": args.model,
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
