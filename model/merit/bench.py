"""PyTorch eager timings for the tiny config and sparse-vs-dense MoE dispatch ratios (ratios measured in one run).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -m merit.bench [--json] [--reps 10]

ORT-vs-PyTorch is measured from Java (ONNX Runtime is not available to Python here): `bin/merit bench` runs
`merit.bench --json --card MODEL.json --threads N --batches ...` for the eager timings and flops of the model a card
describes, and `--export-moe DIR` for the MoE block graphs it times in ONNX Runtime.
"""
import argparse
import json
import os
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch

from merit.components import SharedMoE
from merit.config import MoEConfig, config_from_dict, tiny_config
from merit.export import legacy_exporter
from merit.streaming import StreamingEncoder, StreamingShape
from merit.factory import build_model
from merit.flops import count_flops


def _time_pair(fn_a: Callable[[], object], fn_b: Callable[[], object], reps: int, warmup: int = 2) -> Dict[str, float]:
    """Median wall and process-CPU times (ms) of two functions, run alternately so that load from other processes hits
    both alike. CPU time counts only this process's work, so ratios of it hold on a busy machine; wall time does not."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    wall: Dict[str, List[float]] = {"a": [], "b": []}
    cpu: Dict[str, List[float]] = {"a": [], "b": []}
    for i in range(reps):
        for key in ("a", "b") if i % 2 == 0 else ("b", "a"):
            fn = fn_a if key == "a" else fn_b
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            cpu[key].append((time.process_time() - c0) * 1000)
            wall[key].append((time.perf_counter() - w0) * 1000)
    return {
        "a_wall": statistics.median(wall["a"]),
        "b_wall": statistics.median(wall["b"]),
        "a_cpu": statistics.median(cpu["a"]),
        "b_cpu": statistics.median(cpu["b"]),
    }


def _routed_input(frames: int, dim: int, agreement: float, generator: torch.Generator) -> torch.Tensor:
    """[1, frames, dim] where the SE gate's choice is argmax(x[:3]) and the SER gate's argmax(x[3:6]) (see
    `_steer_gates`); a fraction `agreement` of frames sends both tasks to the same expert, experts evenly used."""
    x = torch.randn(1, frames, dim, generator=generator) * 0.1
    se = torch.arange(frames) % 3
    agree = torch.rand(frames, generator=generator) < agreement
    ser = torch.where(agree, se, (se + 1 + torch.randint(0, 2, (frames,), generator=generator)) % 3)
    x[0, torch.arange(frames), se] = 1.0
    x[0, torch.arange(frames), 3 + ser] = 1.0
    return x


def _steer_gates(moe: SharedMoE) -> None:
    """Gate logits become 20 * x[offset + e], so routing follows the planted one-hot features of `_routed_input`."""
    with torch.no_grad():
        for offset, task in ((0, "se"), (3, "ser")):
            proj = moe.gates[task].proj
            proj.weight.zero_()
            proj.bias.zero_()
            for e in range(3):
                proj.weight[e, offset + e] = 20.0


def bench_moe(frames: int, in_dim: int, hidden: int, out_dim: int, reps: int) -> List[Dict]:
    rows = []
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    sparse = SharedMoE(in_dim, out_dim, MoEConfig(expert_hidden=hidden, dispatch="sparse")).eval()
    dense = SharedMoE(in_dim, out_dim, MoEConfig(expert_hidden=hidden, dispatch="dense")).eval()
    dense.load_state_dict(sparse.state_dict())
    _steer_gates(sparse)
    _steer_gates(dense)
    for agreement in (0.0, 0.5, 0.9, 1.0):
        x = _routed_input(frames, in_dim, agreement, g)
        with torch.no_grad():
            out = sparse(x)
            measured_agreement = float((out.gates["se"].routing == out.gates["ser"].routing).float().mean())
            t = _time_pair(lambda: sparse(x), lambda: dense(x), reps)
        rows.append(
            {
                "frames": frames,
                "in_dim": in_dim,
                "hidden": hidden,
                "gate_agreement": round(measured_agreement, 3),
                "sparse_ms": round(t["a_wall"], 3),
                "dense_ms": round(t["b_wall"], 3),
                "sparse_cpu_ms": round(t["a_cpu"], 3),
                "dense_cpu_ms": round(t["b_cpu"], 3),
                "dense_over_sparse": round(t["b_cpu"] / t["a_cpu"], 3),
                # 3 expert passes per frame (dense) vs 2 - agreement (sparse union dispatch), FFN flops only.
                "ideal_dense_over_sparse": round(3 / (2 - measured_agreement), 3),
            }
        )
    return rows


def bench_models(batches: List[int], seconds: float, reps: int) -> List[Dict]:
    """Whole tiny Sparse MERIT, sparse vs dense dispatch (same weights), eager, per batch of 3 s windows."""
    torch.manual_seed(0)
    sparse = build_model(tiny_config("sparse_merit", dispatch="sparse")).eval()
    dense = build_model(tiny_config("sparse_merit", dispatch="dense")).eval()
    dense.load_state_dict(sparse.state_dict())
    rows = []
    for b in batches:
        x = torch.randn(b, int(seconds * 16000), generator=torch.Generator().manual_seed(b))
        with torch.no_grad():
            t = _time_pair(lambda: sparse(x), lambda: dense(x), reps)
        rows.append(
            {
                "model": "sparse_merit_tiny",
                "batch": b,
                "seconds": seconds,
                "eager_ms": round(t["a_wall"], 2),
                "eager_cpu_ms": round(t["a_cpu"], 2),
                "eager_ms_dense_dispatch": round(t["b_wall"], 2),
                "eager_cpu_ms_dense_dispatch": round(t["b_cpu"], 2),
                "dense_over_sparse": round(t["b_cpu"] / t["a_cpu"], 3),
                "audio_seconds_per_second": round(b * seconds / (t["a_wall"] / 1000), 1),
            }
        )
    return rows


class _MoEBlock(torch.nn.Module):
    """The MoE alone as a graph: x [1, T, D_cat] -> (se [1, T, D], ser [1, T, D])."""

    def __init__(self, moe: SharedMoE):
        super().__init__()
        self.moe = moe

    def forward(self, x: torch.Tensor):
        out = self.moe(x)
        return out.features["se"], out.features["ser"]


def export_moe_graphs(out_dir: str, frames: int = 8 * 149) -> Dict[str, str]:
    """Writes moe_sparse.onnx / moe_dense.onnx (tiny sizes, same weights, steered gates) and moe_x_<agreement>.f32
    inputs (little-endian [1, frames, 640]) so ONNX Runtime can time sparse vs dense dispatch of the block alone."""
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    sparse = SharedMoE(640, 128, MoEConfig(expert_hidden=256, dispatch="sparse")).eval()
    dense = SharedMoE(640, 128, MoEConfig(expert_hidden=256, dispatch="dense")).eval()
    dense.load_state_dict(sparse.state_dict())
    _steer_gates(sparse)
    _steer_gates(dense)
    g = torch.Generator().manual_seed(0)
    files = {}
    for agreement in (0.0, 0.5, 0.9, 1.0):
        x = _routed_input(frames, 640, agreement, g)
        path = os.path.join(out_dir, f"moe_x_{agreement}.f32")
        x.numpy().astype("<f4").tofile(path)
        files[f"x_{agreement}"] = path
    for name, moe in (("sparse", sparse), ("dense", dense)):
        path = os.path.join(out_dir, f"moe_{name}.onnx")
        torch.onnx.export(
            _MoEBlock(moe),
            (x,),
            path,
            input_names=["x"],
            output_names=["se", "ser"],
            dynamic_axes={"x": {1: "T"}, "se": {1: "T"}, "ser": {1: "T"}},
            opset_version=17,
            **legacy_exporter(),
        )
        files[name] = path
    return files


def bench_card(card_path: str, batches: List[int], reps: int) -> Dict:
    """The model a card describes (its config; random weights, as the card carries none), eager per batch of windows of
    the card's length, and the flops of one window. `bin/merit bench` compares these with ONNX Runtime Java on the
    exported graph. Cost does not depend on the weights except through sparse routing, which the gate agreement shows."""
    with open(card_path) as f:
        card = json.load(f)
    torch.manual_seed(0)
    model = build_model(config_from_dict(card["config"])).eval()
    window_seconds = card.get("window_seconds", 3.0)
    samples = int(window_seconds * card.get("sample_rate", 16000))
    stream = card.get("streaming")
    if stream:
        # A streaming model's graph is its encoder: one call per window, on the hop and its context.
        shape = StreamingShape(stream["hop_samples"], stream["context_samples"], stream["hops_per_window"],
                               stream["lookahead_samples"], stream["overlap_samples"])
        model, samples = StreamingEncoder(model, shape).eval(), shape.chunk
    one = torch.randn(1, samples, generator=torch.Generator().manual_seed(0))
    flops, by_op = count_flops(model, one)
    rows = []
    for b in batches:
        x = torch.randn(b, samples, generator=torch.Generator().manual_seed(b))
        with torch.no_grad():
            t = _time_pair(lambda: model(x), lambda: None, reps)  # one model: its partner is a no-op
        rows.append(
            {
                "batch": b,
                "eager_ms": round(t["a_wall"], 2),
                "eager_cpu_ms": round(t["a_cpu"], 2),
                "audio_seconds_per_second": round(b * window_seconds / (t["a_wall"] / 1000), 1),
                "audio_seconds_per_cpu_second": round(b * window_seconds / (t["a_cpu"] / 1000), 1),
            }
        )
    return {
        "name": card.get("name"),
        "version": card.get("version"),
        "window_samples": samples,
        "streaming": bool(stream),
        "weights": "random (seed 0); the card carries no weights",
        "flops_per_window": flops,
        "flops_by_op": by_op,
        "batches": rows,
    }


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="merit.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--paper-size", action="store_true", help="also time the MoE at WavLM-Large sizes (slow)")
    parser.add_argument("--export-moe", metavar="DIR", help="only write the MoE-block graphs + inputs for ORT timing")
    parser.add_argument("--card", metavar="JSON", help="only time the model a model card describes (+ its flops)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.export_moe:
        print(json.dumps(export_moe_graphs(args.export_moe)))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.card:
        result = {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "load_average": round(os.getloadavg()[0], 2),
            "card_model": bench_card(args.card, args.batches, args.reps),
        }
        print(json.dumps(result) if args.json else json.dumps(result, indent=2))
        return
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        # Wall times mean little when other processes share the cores; the ratios use CPU time.
        "load_average": round(os.getloadavg()[0], 2),
        # Tiny MoE: 5 hidden states x 128 = 640 in, 256 hidden, 128 out; 8 windows of 3 s = 8 x 149 frames.
        "moe_tiny": bench_moe(8 * 149, 640, 256, 128, 3 * args.reps),
        "models": bench_models(args.batches, 3.0, args.reps),
    }
    if args.paper_size:
        # Paper MoE: 25 x 1024 = 25,600 in, 4096 hidden, 1024 out; one 3 s window.
        result["moe_paper"] = bench_moe(149, 25600, 4096, 1024, max(2, args.reps // 5))
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"torch {result['torch']}, {result['threads']} threads, OPENBLAS_NUM_THREADS={result['openblas_threads']},"
        f" load average {result['load_average']}"
    )
    for key in ("moe_tiny", "moe_paper"):
        for r in result.get(key, []):
            print(
                f"{key}: agreement {r['gate_agreement']:.2f}  sparse {r['sparse_ms']:8.2f} ms"
                f" (cpu {r['sparse_cpu_ms']:8.2f})  dense {r['dense_ms']:8.2f} ms (cpu {r['dense_cpu_ms']:8.2f})"
                f"  dense/sparse cpu {r['dense_over_sparse']:.2f} (ideal {r['ideal_dense_over_sparse']:.2f})"
            )
    for r in result["models"]:
        print(
            f"{r['model']}: B={r['batch']} x {r['seconds']} s  eager {r['eager_ms']:8.1f} ms"
            f" (cpu {r['eager_cpu_ms']:8.1f}, {r['audio_seconds_per_second']} s of audio per second);"
            f" dense dispatch {r['eager_ms_dense_dispatch']:8.1f} ms (cpu {r['eager_cpu_ms_dense_dispatch']:8.1f});"
            f" dense/sparse cpu {r['dense_over_sparse']:.2f}"
        )


if __name__ == "__main__":
    main()
