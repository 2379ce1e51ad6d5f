"""Regenerates the tiny exported model + PyTorch reference outputs the Java parity test checks against.

    PYTHONPATH=model /usr/bin/python3 -m merit.fixtures --out flink-job/src/test/resources/fixtures   (repo root)

Writes NAME.onnx, NAME.json (model card) and references.json, an index of raw little-endian tensors
(`*.f32` float32, `*.i64` int64, row-major) for 2 lengths x 2 batch sizes, readable from Java without extra libraries.
The model is randomly initialised (the trained one comes from the training issue): parity, not quality, is tested.
"""
import argparse
import json
import os
from typing import Dict, List, Optional

import numpy as np
import torch

from merit.config import BackboneConfig, ModelConfig, MoEConfig, SEHeadConfig, SERHeadConfig
from merit import speaker_reference
from merit.export import INPUT_NAME, REFERENCE_INPUTS, ExportWrapper, export_model
from merit.factory import build_model

CASES = [(1, 16000), (3, 16000), (1, 48000), (3, 48000)]
# ORT and torch differ by ~1e-6 in gate probabilities; a top-1 / top-2 gap 10x that keeps routing identical.
MIN_ROUTING_MARGIN = 1e-5
MAX_SEEDS = 50


def fixture_config() -> ModelConfig:
    """A Sparse MERIT small enough to commit (about 1.7 MB of ONNX, most of it the 402 x 400 DFT kernel)."""
    return ModelConfig(
        name="sparse_merit_fixture",
        version="0.0.1-fixture",
        kind="sparse_merit",
        backbone=BackboneConfig(
            conv_channels=32, dim=64, num_layers=2, num_heads=2, ffn_dim=128, pos_conv_kernel=16, pos_conv_groups=4
        ),
        moe=MoEConfig(num_experts=3, expert_hidden=64, gate_mode="top1", dispatch="sparse"),
        se=SEHeadConfig(linear_dim=64, lstm_hidden=32),
        ser=SERHeadConfig(attention_dim=32, mlp_hidden=64, dropout=0.0, speaker_reference=True, reference_hidden=16,
                          prosody_mean=[0.5 * k for k in range(speaker_reference.NUM_FEATURES)],
                          prosody_scale=[1.0 / (1 + k) for k in range(speaker_reference.NUM_FEATURES)]),
    )


def reference_inputs_for(batch: int, seed: int) -> List[np.ndarray]:
    """Speaker-reference inputs of one case: prosody [B, P], speaker_ref [B, 2P], weight [B] (row 0 without one)."""
    rng = np.random.default_rng(seed)
    p = speaker_reference.NUM_FEATURES
    weight = np.arange(batch, dtype=np.float32) * 2.5
    return [rng.standard_normal((batch, p)).astype(np.float32),
            np.abs(rng.standard_normal((batch, 2 * p))).astype(np.float32), weight]


def randomise_reference_branch(model: torch.nn.Module, seed: int) -> None:
    """The branch's last layer starts at zero (a no-op); the fixture needs it to matter."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.ser_head.reference.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


def synthetic_speech(batch: int, samples: int, seed: int) -> np.ndarray:
    """Voiced-speech-like test signals [B, N]: harmonics of a gliding f0, 4 Hz syllable envelope, noise at ~5 dB SNR."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000.0
    rows = []
    for _ in range(batch):
        f0 = rng.uniform(100, 220) * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
        phase = 2 * np.pi * np.cumsum(f0) / 16000.0
        voiced = sum(np.sin(h * phase) / h for h in range(1, 12))
        envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t + rng.uniform(0, 2 * np.pi)))
        speech = 0.3 * envelope * voiced / np.max(np.abs(voiced))
        noise = rng.standard_normal(samples) * np.sqrt(np.mean(speech**2) / 10 ** (5 / 10))
        rows.append(speech + noise)
    return np.stack(rows).astype(np.float32)


def _routing_margin(gates: List[torch.Tensor]) -> float:
    """Smallest gap between the two most probable experts over every frame of every case."""
    margin = float("inf")
    for probs in gates:
        top2 = probs.topk(2, dim=-1).values
        margin = min(margin, float((top2[..., 0] - top2[..., 1]).min()))
    return margin


def _reference_outputs(model: torch.nn.Module, inputs: Dict[str, List[np.ndarray]]
                       ) -> Dict[str, Dict[str, torch.Tensor]]:
    wrapper = ExportWrapper(model).eval()
    with torch.no_grad():
        return {name: wrapper.named_outputs(*[torch.from_numpy(t) for t in x]) for name, x in inputs.items()}


def _write_tensor(out_dir: str, file: str, tensor: np.ndarray) -> Dict:
    dtype = {np.dtype("float32"): "float32", np.dtype("int64"): "int64"}[tensor.dtype]
    tensor.astype(tensor.dtype.newbyteorder("<")).tofile(os.path.join(out_dir, file))
    return {"file": file, "dtype": dtype, "shape": list(tensor.shape)}


def write_se_identity_model(out_dir: str) -> str:
    """A 131-byte graph with the contract's input and only an `enhanced` output (an Identity), and its card (an SE-only
    model's: no classes).

    It lets the Java tests check the error for a graph that lacks `emotion_logits` without committing a second model.
    """
    import onnx
    from onnx import TensorProto, helper

    from merit.export import OPSET, model_card

    graph = helper.make_graph(
        [helper.make_node("Identity", ["waveform"], ["enhanced"])],
        "se_identity",
        [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, ["B", "N"])],
        [helper.make_tensor_value_info("enhanced", TensorProto.FLOAT, ["B", "N"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="merit.fixtures")
    onnx.checker.check_model(model)
    path = os.path.join(out_dir, "se_identity.onnx")
    onnx.save(model, path)
    cfg = fixture_config()
    cfg.name, cfg.kind = "se_identity", "se_only"
    card = model_card(cfg, path, ["enhanced"], None, data="test graph without emotion_logits")
    with open(os.path.join(out_dir, "se_identity.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    return path


PROSODY_HALF_LIFE_S = 9.0  # short, so the fixture's reference sequence exercises the decay


def prosody_signals() -> Dict[str, np.ndarray]:
    """Test signals for the prosody features: speech-like ones with different pitch glides and noise, one with a silent
    second half, one of pure noise, one too short for a frame."""
    speech = synthetic_speech(4, 48000, seed=3000)
    half = speech[1].copy()
    half[24000:] = 0.0
    noise = (np.random.default_rng(3001).standard_normal(40000) * 0.01).astype(np.float32)
    return {"speech0": speech[0], "speech1": speech[2], "speech2": speech[3], "half_silent": half, "noise": noise,
            "short": speech[0][:300].copy()}


def write_prosody_fixture(out_dir: str) -> Dict:
    """Signals, their features and validity, and a reference built from them in order (Java parity)."""
    os.makedirs(out_dir, exist_ok=True)
    cases, ref = [], speaker_reference.SpeakerReference(PROSODY_HALF_LIFE_S)
    for name, x in prosody_signals().items():
        vec, n_active, n_voiced = speaker_reference.summarise(speaker_reference.frame_features(x))
        ref.update(vec)
        inputs, weight = ref.model_inputs()
        cases.append({"name": name, "file": _write_tensor(out_dir, f"{name}.f32", x)["file"], "samples": int(x.size),
                      "features": vec.tolist(), "active_frames": n_active, "voiced_frames": n_voiced,
                      "enough_speech": bool(speaker_reference.enough_speech(vec, n_active, n_voiced)),
                      "reference_after": {"speaker_ref": inputs.astype(float).tolist(), "weight": weight}})
    index = {"features": list(speaker_reference.FEATURE_NAMES), "half_life_s": PROSODY_HALF_LIFE_S,
             "segment_s": speaker_reference.SEGMENT_SECONDS, "cases": cases}
    with open(os.path.join(out_dir, "prosody.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    return index


STREAM_SAMPLES = 72000  # 4.5 s: four whole windows and a final partial one, as the job's windower cuts it


def write_streaming_fixture(out_dir: str, seed: int) -> Dict:
    """The fixture model (same seed) split into the streaming encoder and classifier (merit.streaming, the shipped
    model's shape), a 4.5 s signal, and what PyTorch streams out of it:
    each window's emotion logits and the cross-faded enhanced signal (Java parity of the job's streaming path)."""
    from merit.streaming import StreamingShape, export_streaming, stream_waveform

    torch.manual_seed(seed)
    model = build_model(fixture_config()).eval()
    randomise_reference_branch(model, seed)
    shape = StreamingShape.of(16000, 3.0, 1.0, 0.48, 0.16, 0.16)
    os.makedirs(out_dir, exist_ok=True)
    export_streaming(model, shape, out_dir, "sparse_merit_fixture_stream",
                     data="untrained (random initialisation, parity fixture)")
    x = synthetic_speech(1, STREAM_SAMPLES, seed=4000)
    # No speaker reference yet (weight 0), as in a channel's first windows: the job's windower then sends none.
    out = stream_waveform(model, torch.from_numpy(x), shape)
    tensors = {"waveform": _write_tensor(out_dir, "waveform.f32", x),
               "enhanced": _write_tensor(out_dir, "enhanced.f32", out.enhanced.numpy()),
               "window_logits": _write_tensor(out_dir, "window_logits.f32",
                                              torch.cat(out.window_logits, 0).numpy())}
    index = {"model": "sparse_merit_fixture_stream.onnx", "seed": seed, "byte_order": "little-endian",
             "tensors": tensors}
    with open(os.path.join(out_dir, "references.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    return index


def generate(out_dir: str, first_seed: int = 0) -> Dict:
    cfg = fixture_config()
    inputs = {f"b{b}_n{n}": [synthetic_speech(b, n, seed=1000 + i), *reference_inputs_for(b, 2000 + i)]
              for i, (b, n) in enumerate(CASES)}
    for seed in range(first_seed, first_seed + MAX_SEEDS):
        torch.manual_seed(seed)
        model = build_model(cfg).eval()
        randomise_reference_branch(model, seed)
        refs = _reference_outputs(model, inputs)
        margin = _routing_margin([r[k] for r in refs.values() for k in ("gate_se", "gate_ser")])
        if margin >= MIN_ROUTING_MARGIN:
            break
    else:
        raise RuntimeError(f"no seed in [{first_seed}, {first_seed + MAX_SEEDS}) gives a routing margin >= {MIN_ROUTING_MARGIN}")

    os.makedirs(out_dir, exist_ok=True)
    onnx_path, card_path = export_model(model, cfg, out_dir, data="untrained (random initialisation, parity fixture)")
    cases = []
    for name, x in inputs.items():
        b, n = x[0].shape
        tensors = {k: _write_tensor(out_dir, f"{name}.{k}.f32", t) for k, t in zip((INPUT_NAME,) + REFERENCE_INPUTS, x)}
        for out_name, value in refs[name].items():
            arr = value.numpy()
            ext = "i64" if arr.dtype == np.int64 else "f32"
            tensors[out_name] = _write_tensor(out_dir, f"{name}.{out_name}.{ext}", arr)
        cases.append({"name": name, "batch": b, "samples": n, "tensors": tensors})
    write_se_identity_model(out_dir)
    write_prosody_fixture(os.path.join(out_dir, "prosody"))
    write_streaming_fixture(os.path.join(out_dir, "streaming"), seed)
    index = {
        "model": os.path.basename(onnx_path),
        "card": os.path.basename(card_path),
        "seed": seed,
        "routing_margin": margin,
        "byte_order": "little-endian",
        "regenerate": "PYTHONPATH=model /usr/bin/python3 -m merit.fixtures --out flink-job/src/test/resources/fixtures",
        "cases": cases,
    }
    with open(os.path.join(out_dir, "references.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    return index


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="merit.fixtures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="fixture directory (flink-job/src/test/resources/fixtures)")
    parser.add_argument("--seed", type=int, default=0, help="first initialisation seed to try")
    parser.add_argument("--streaming-only", action="store_true",
                        help="only the streaming fixture (OUT/streaming), from the seed in OUT/references.json")
    args = parser.parse_args(argv)
    if args.streaming_only:
        with open(os.path.join(args.out, "references.json")) as f:
            seed = json.load(f)["seed"]
        print(json.dumps(write_streaming_fixture(os.path.join(args.out, "streaming"), seed)["tensors"]["window_logits"]))
        return
    index = generate(args.out, args.seed)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(json.dumps({"out": args.out, "seed": index["seed"], "routing_margin": index["routing_margin"], "bytes": total}))


if __name__ == "__main__":
    main()
