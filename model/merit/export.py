"""Exports one model as ONE ONNX graph plus a JSON model card beside it (the Python -> Java contract).

    /usr/bin/python3 -m merit.export --config tiny --out DIR
    /usr/bin/python3 -m merit.export --checkpoint model.pt --out DIR

Graph: `waveform` float32 [B, N] (16 kHz) -> `enhanced` float32 [B, N], `emotion_logits` float32 [B, 4],
`routing_se` / `routing_ser` int64 [B, T], `gate_se` / `gate_ser` float32 [B, T, E] (routing and gates only for models
with experts; single-task models have only their own output). B and N are dynamic; opset 17.

A model with a speaker reference (`ser.speaker_reference`) takes three more inputs: `prosody` float32 [B, P] (the
window's features), `speaker_ref` float32 [B, 2P] (the channel's reference: mean then std) and `speaker_ref_weight`
float32 [B] (0 = no reference yet), all from `merit.speaker_reference`; its card says so under `speaker_reference`.
"""
import argparse
import hashlib
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import onnx
import torch
from torch import Tensor, nn

from merit.config import AnyModelConfig, CascadeConfig, ModelConfig, NAMED_CONFIGS, config_to_dict, named_config
from merit.factory import build_model, load_checkpoint
from merit.heads import ReferenceInputs
from merit.model import MIN_SAMPLES
from merit import speaker_reference

OPSET = 17
INPUT_NAME = "waveform"
REFERENCE_INPUTS = ("prosody", "speaker_ref", "speaker_ref_weight")
FRAME_RATE_HZ = 50  # SSL frames per second (20 ms) -> T for routing/gate outputs

# name -> (dtype, symbolic shape); the order outputs appear in the graph.
OUTPUT_SPECS: Dict[str, Tuple[str, List[str]]] = {
    "enhanced": ("float32", ["B", "N"]),
    "emotion_logits": ("float32", ["B", "C"]),
    "routing_se": ("int64", ["B", "T"]),
    "routing_ser": ("int64", ["B", "T"]),
    "gate_se": ("float32", ["B", "T", "E"]),
    "gate_ser": ("float32", ["B", "T", "E"]),
}


class ExportWrapper(nn.Module):
    """Flattens a model's output into the contract's tuple of tensors (names in `output_names`)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, waveform: Tensor, *reference: Tensor) -> Tuple[Tensor, ...]:
        return tuple(self.named_outputs(waveform, *reference).values())

    def named_outputs(self, waveform: Tensor, *reference: Tensor) -> Dict[str, Tensor]:
        out = self.model(waveform, ReferenceInputs(*reference)) if reference else self.model(waveform)
        named: Dict[str, Tensor] = {}
        if out.enhanced is not None:
            named["enhanced"] = out.enhanced
        if out.emotion_logits is not None:
            named["emotion_logits"] = out.emotion_logits
        if out.gates is not None:
            named["routing_se"] = out.gates["se"].routing
            named["routing_ser"] = out.gates["ser"].routing
            named["gate_se"] = out.gates["se"].probs
            named["gate_ser"] = out.gates["ser"].probs
        return named


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _classes(cfg: AnyModelConfig) -> Optional[List[str]]:
    if isinstance(cfg, CascadeConfig):
        return list(cfg.ser_model.ser.classes)
    return list(cfg.ser.classes) if cfg.kind != "se_only" else None


def uses_speaker_reference(cfg: AnyModelConfig) -> bool:
    return isinstance(cfg, ModelConfig) and cfg.kind == "sparse_merit" and cfg.ser.speaker_reference


def reference_example(batch: int, generator: torch.Generator) -> Tuple[Tensor, Tensor, Tensor]:
    """Trace inputs for the reference: one row with a reference, the others without (both paths stay in the graph)."""
    p = speaker_reference.NUM_FEATURES
    weight = torch.zeros(batch)
    weight[0] = 3.0
    return torch.randn(batch, p, generator=generator), torch.randn(batch, 2 * p, generator=generator).abs(), weight


def export_onnx(model: nn.Module, path: str, trace_batch: int = 2, trace_samples: int = 16000) -> List[str]:
    """Traces `model` (eval mode) once and writes `path`; returns the output names. Checked with onnx.checker."""
    model = model.eval()
    wrapper = ExportWrapper(model).eval()
    # A fixed seed keeps the traced example (and so the file) reproducible; the trace is valid for any B and N.
    gen = torch.Generator().manual_seed(0)
    example = (torch.randn(trace_batch, trace_samples, generator=gen),)
    input_names = [INPUT_NAME]
    if uses_speaker_reference(model.cfg):
        example += reference_example(trace_batch, gen)
        input_names += list(REFERENCE_INPUTS)
    with torch.no_grad():
        names = list(wrapper.named_outputs(*example).keys())
    dynamic_axes = {INPUT_NAME: {0: "B", 1: "N"}, **{n: {0: "B"} for n in input_names[1:]}}
    for name in names:
        dims = OUTPUT_SPECS[name][1]
        dynamic_axes[name] = {i: d for i, d in enumerate(dims) if d in ("B", "N", "T")}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            example,
            path,
            input_names=input_names,
            output_names=names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            **legacy_exporter(),
        )
    onnx.checker.check_model(onnx.load(path))
    return names


def legacy_exporter() -> Dict[str, Any]:
    """torch.onnx.export's TorchScript exporter, which these graphs are written for: torch >= 2.9 defaults to the
    dynamo exporter (dynamo=True); 1.13 has no such argument."""
    import inspect

    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def input_specs(cfg: AnyModelConfig) -> List[Dict[str, Any]]:
    specs = [{"name": INPUT_NAME, "dtype": "float32", "shape": ["B", "N"]}]
    if uses_speaker_reference(cfg):
        p = speaker_reference.NUM_FEATURES
        specs += [{"name": "prosody", "dtype": "float32", "shape": ["B", p]},
                  {"name": "speaker_ref", "dtype": "float32", "shape": ["B", 2 * p]},
                  {"name": "speaker_ref_weight", "dtype": "float32", "shape": ["B"]}]
    return specs


def reference_card(cfg: AnyModelConfig) -> Optional[Dict[str, Any]]:
    """What the job must compute for the reference inputs (None: the graph takes none)."""
    if not uses_speaker_reference(cfg):
        return None
    return {"version": speaker_reference.VERSION, "features": list(speaker_reference.FEATURE_NAMES),
            "segment_seconds": speaker_reference.SEGMENT_SECONDS,
            "min_active_frames": speaker_reference.MIN_ACTIVE_FRAMES,
            "min_voiced_frames": speaker_reference.MIN_VOICED_FRAMES,
            "min_level_std_db": speaker_reference.MIN_LEVEL_STD_DB}


def model_card(
    cfg: AnyModelConfig,
    onnx_path: str,
    output_names: List[str],
    num_experts: Optional[int],
    data: Any = None,
    metrics: Any = None,
) -> Dict[str, Any]:
    classes = _classes(cfg)
    outputs = []
    for name in output_names:
        dtype, dims = OUTPUT_SPECS[name]
        dims = [len(classes) if d == "C" and classes else num_experts if d == "E" else d for d in dims]
        outputs.append({"name": name, "dtype": dtype, "shape": dims})
    return {
        "name": cfg.name,
        "version": cfg.version,
        "file": os.path.basename(onnx_path),
        "sha256": sha256_of(onnx_path),
        "size_bytes": os.path.getsize(onnx_path),
        "format": "onnx",
        "opset": OPSET,
        "sample_rate": cfg.sample_rate,
        "window_seconds": cfg.window_seconds,
        "hop_seconds": cfg.hop_seconds,
        "frame_rate_hz": FRAME_RATE_HZ,
        "min_samples": MIN_SAMPLES,
        "classes": classes,
        "inputs": input_specs(cfg),
        "outputs": outputs,
        "speaker_reference": reference_card(cfg),
        "config": config_to_dict(cfg),
        "data": data,
        "metrics": metrics or {},
        "torch_version": torch.__version__,
    }


def export_model(
    model: nn.Module, cfg: AnyModelConfig, out_dir: str, data: Any = None, metrics: Any = None
) -> Tuple[str, str]:
    """Writes OUT_DIR/NAME.onnx and OUT_DIR/NAME.json; returns both paths."""
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, f"{cfg.name}.onnx")
    names = export_onnx(model, onnx_path)
    num_experts = None if isinstance(cfg, CascadeConfig) or cfg.kind != "sparse_merit" else cfg.moe.num_experts
    card = model_card(cfg, onnx_path, names, num_experts, data, metrics)
    card_path = os.path.join(out_dir, f"{cfg.name}.json")
    with open(card_path, "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return onnx_path, card_path


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="merit.export", description=__doc__.split("\n\n")[0])
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", choices=NAMED_CONFIGS, help="export a randomly initialised model of this config")
    src.add_argument("--checkpoint", help="export a trained checkpoint (merit.factory.save_checkpoint format)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed for --config")
    args = parser.parse_args(argv)
    if args.checkpoint:
        model, cfg, data, metrics = load_checkpoint(args.checkpoint)
    else:
        torch.manual_seed(args.seed)
        cfg = named_config(args.config)
        model, data, metrics = build_model(cfg), "untrained (random initialisation)", None
    onnx_path, card_path = export_model(model, cfg, args.out, data, metrics)
    print(json.dumps({"onnx": onnx_path, "card": card_path, "bytes": os.path.getsize(onnx_path)}))


if __name__ == "__main__":
    main()
