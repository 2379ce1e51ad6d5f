import json
import os

import numpy as np
import onnx
import pytest
import torch

from merit.config import config_from_dict
from merit.export import export_model, main, sha256_of
from merit.factory import build_model
from merit.fixtures import randomise_reference_branch, fixture_config
from merit.heads import ReferenceInputs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "flink-job", "src", "test", "resources", "fixtures")


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    out = str(tmp_path_factory.mktemp("export"))
    cfg = fixture_config()
    onnx_path, card_path = export_model(build_model(cfg), cfg, out)
    with open(card_path) as f:
        return onnx.load(onnx_path), json.load(f), onnx_path


def test_graph_follows_the_contract(exported):
    graph, _, _ = exported
    onnx.checker.check_model(graph)
    # the fixture model takes the speaker reference: the waveform, then the window's prosody and the reference
    assert [i.name for i in graph.graph.input] == ["waveform", "prosody", "speaker_ref", "speaker_ref_weight"]
    assert [_dims(i) for i in graph.graph.input] == [["B", "N"], ["B", 10], ["B", 20], ["B"]]
    outputs = {o.name: o for o in graph.graph.output}
    assert list(outputs) == ["enhanced", "emotion_logits", "routing_se", "routing_ser", "gate_se", "gate_ser"]
    assert _dims(outputs["enhanced"]) == ["B", "N"]
    assert _dims(outputs["emotion_logits"]) == ["B", 4]
    assert outputs["routing_se"].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert _dims(outputs["gate_ser"]) == ["B", "T", 3]
    assert graph.opset_import[0].version == 17


def test_sparse_graph_dispatches_each_expert_on_its_frames_only(exported):
    ops = [n.op_type for n in exported[0].graph.node]
    # One NonZero + ScatterND per expert: index_select -> expert -> index_put back.
    assert ops.count("NonZero") == 3 and ops.count("ScatterND") == 3


def test_dense_dispatch_graph_has_no_sparse_dispatch(tmp_path):
    cfg = fixture_config()
    cfg.name, cfg.moe.dispatch = "dense_dispatch", "dense"
    onnx_path, _ = export_model(build_model(cfg), cfg, str(tmp_path))
    assert "NonZero" not in [n.op_type for n in onnx.load(onnx_path).graph.node]


def test_card_records_hash_classes_audio_and_config(exported):
    _, card, onnx_path = exported
    assert card["sha256"] == sha256_of(onnx_path)
    assert card["classes"] == ["angry", "sad", "happy", "neutral"]
    assert (card["sample_rate"], card["window_seconds"], card["hop_seconds"]) == (16000, 3.0, 1.0)
    assert config_from_dict(card["config"]) == fixture_config()
    assert [o["name"] for o in card["outputs"]] == [o.name for o in exported[0].graph.output]


def test_cli_exports_a_baseline_without_routing(tmp_path, capsys):
    main(["--config", "naive_mtl_tiny", "--out", str(tmp_path)])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    graph = onnx.load(printed["onnx"])
    assert [o.name for o in graph.graph.output] == ["enhanced", "emotion_logits"]


def test_committed_fixture_matches_the_current_model_code():
    """Rebuilds the fixture model from its seed and checks it still produces the committed references."""
    with open(os.path.join(FIXTURES, "references.json")) as f:
        index = json.load(f)
    with open(os.path.join(FIXTURES, index["card"])) as f:
        card = json.load(f)
    assert card["sha256"] == sha256_of(os.path.join(FIXTURES, index["model"]))
    assert config_from_dict(card["config"]) == fixture_config()
    torch.manual_seed(index["seed"])
    model = build_model(fixture_config()).eval()
    randomise_reference_branch(model, index["seed"])
    case = next(c for c in index["cases"] if c["batch"] == 3 and c["samples"] == 16000)

    def load(name):
        spec = case["tensors"][name]
        dtype = "<f4" if spec["dtype"] == "float32" else "<i8"
        return np.fromfile(os.path.join(FIXTURES, spec["file"]), dtype=dtype).reshape(spec["shape"])

    reference = ReferenceInputs(*[torch.from_numpy(load(n)) for n in ("prosody", "speaker_ref", "speaker_ref_weight")])
    with torch.no_grad():
        out = model(torch.from_numpy(load("waveform")), reference)
    np.testing.assert_allclose(out.emotion_logits.numpy(), load("emotion_logits"), atol=1e-5)
    np.testing.assert_allclose(out.enhanced.numpy(), load("enhanced"), atol=1e-5)
    np.testing.assert_array_equal(out.gates["se"].routing.numpy(), load("routing_se"))
