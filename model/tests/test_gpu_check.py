"""scripts/gpu-check's CPU-side paths: --cpu-smoke shrinks every part to seconds; the JSON's structure, the guards
(a broken part is recorded, the others still run) and the ONNX part (skipped without onnxruntime, as here, and run
against a stand-in module that mimics its API)."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "gpu-check")

# onnxruntime's API as the script uses it; outputs shaped like the card says, the "CUDA" one off by 1e-6.
FAKE_ORT = textwrap.dedent('''
    import json, os
    import numpy as np
    __version__ = "0.0-fake"
    CARD = json.load(open(os.environ["FAKE_ORT_CARD"]))

    def get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    class _Arg:
        def __init__(self, spec):
            self.name, self.shape = spec["name"], spec["shape"]

    class InferenceSession:
        def __init__(self, path, providers):
            assert os.path.isfile(path)
            self.providers = [p if isinstance(p, str) else p[0] for p in providers]

        def get_providers(self):
            return self.providers

        def get_inputs(self):
            return [_Arg(s) for s in CARD["inputs"]]

        def get_outputs(self):
            return [_Arg(s) for s in CARD["outputs"]]

        def run(self, names, feed):
            x = feed["waveform"]
            b, n = x.shape
            t = (n - 400) // 320 + 1
            off = 1e-6 if self.providers[0] == "CUDAExecutionProvider" else 0.0
            out = {"enhanced": x + off, "emotion_logits": np.zeros((b, 4), np.float32) + off,
                   "routing_se": np.zeros((b, t), np.int64), "routing_ser": np.ones((b, t), np.int64),
                   "gate_se": np.full((b, t, 3), 1 / 3, np.float32), "gate_ser": np.full((b, t, 3), 1 / 3, np.float32)}
            return [out[o["name"]] for o in CARD["outputs"]]
''')


def run_check(out, *args, env=None):
    proc = subprocess.run([sys.executable, SCRIPT, str(out), "--cpu-smoke", *args], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, OPENBLAS_NUM_THREADS="1", **(env or {})), cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


def test_cpu_smoke_writes_one_json_with_every_part(tmp_path):
    try:
        import onnxruntime  # noqa: F401
        have_ort = True
    except ImportError:
        have_ort = False
    report = run_check(tmp_path / "gpu-check.json")
    assert set(report) >= {"environment", "parts", "summary", "seconds", "budget_s", "device"}
    assert report["cpu_smoke"] and report["device"] == "cpu" and report["environment"]["torch"]
    assert list(report["parts"]) == ["train_tiny", "paper_size", "onnx"]
    assert all(p["ok"] for p in report["parts"].values()) and report["summary"]["failed_parts"] == []
    train = report["parts"]["train_tiny"]
    assert train["steps_done"] == 4 and train["step_s"]["mean"] > 0 and train["examples_per_s"] > 0
    assert train["data_wait_s"]["mean"] >= 0 and train["runtime"].startswith("cpu") and "bf16" in train["runtime"]
    assert train["final_on_cpu"]["max_abs_diff_emotion_logits"] == 0.0  # the same device here
    assert train["cpu_checkpoint_resumed_on_device"] == {"resumed": True, "steps": 4,
                                                         "max_abs_weight_diff_vs_cpu": 0.0}
    paper = report["parts"]["paper_size"]
    assert paper["parameters"] > paper["backbone_parameters"] > 0 and paper["forward_gflop_per_window"] > 0
    for stage in ("stage1_backbone_frozen", "stage2_fine_tuning"):
        s = paper[stage]
        assert s["step_s"] > 0 and s["forward_backward_s"]["n"] == 2 and "peak_memory_bytes" not in s  # CPU
    assert paper["stage2_fine_tuning"]["trainable_parameters"] > paper["stage1_backbone_frozen"]["trainable_parameters"]
    onnx = report["parts"]["onnx"]
    if not have_ort:
        assert onnx["skipped"].startswith("onnxruntime is not importable")
    assert report["summary"]["tiny_train_step_s"] == train["step_s"]["mean"]


def test_a_broken_part_is_recorded_and_the_onnx_part_runs(tmp_path):
    fake = tmp_path / "fake"
    (fake / "onnxruntime").mkdir(parents=True)
    (fake / "onnxruntime" / "__init__.py").write_text(FAKE_ORT)
    env = {"PYTHONPATH": str(fake), "FAKE_ORT_CARD": os.path.join(ROOT, "models", "merit-sparse.json")}
    report = run_check(tmp_path / "out.json", "--parts", "train_tiny,onnx", "--break", "train_tiny", env=env)
    broken = report["parts"]["train_tiny"]
    assert broken["ok"] is False and broken["error"] == "RuntimeError: --break train_tiny" and broken["traceback"]
    assert report["summary"]["failed_parts"] == ["train_tiny"] and "paper_size" not in report["parts"]
    onnx = report["parts"]["onnx"]
    assert onnx["ok"] and onnx["onnxruntime"] == "0.0-fake" and onnx["model"]["sha256_matches_card"]
    parity = onnx["parity_cuda_vs_cpu"]
    assert parity["pass"] and parity["max_abs_diff"] == pytest.approx(1e-6, rel=0.5)
    assert parity["outputs"]["routing_se"] == {"agreement": 1.0}
    for provider in ("CUDAExecutionProvider", "CPUExecutionProvider"):
        rows = onnx["throughput"][provider]
        assert [r["batch"] for r in rows] == [1, 2, 4]
        for r in rows:
            assert r["audio_s_per_s"] == pytest.approx(3 * r["windows_per_s"], rel=1e-2)
            assert r["realtime_channels"] == pytest.approx(r["audio_s_per_s"] / 3, rel=1e-2)
    assert report["summary"]["onnx_parity_pass"] is True
