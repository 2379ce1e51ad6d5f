import json
import os

import numpy as np
import onnx
import pytest
import torch

from merit.export import export_model, sha256_of
from merit.factory import build_model
from merit.fixtures import STREAM_SAMPLES, fixture_config, randomise_reference_branch, synthetic_speech
from merit.heads import frame_level_db
from merit.recover import recover
from merit.stream_eval import item_emotion, summarise, window_path
from merit.streaming import FRAME_HOP, StreamingEncoder, StreamingShape, export_streaming, stream_waveform

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STREAM_FIXTURE = os.path.join(REPO, "flink-job", "src", "test", "resources", "fixtures", "streaming")
SHAPE = StreamingShape.of(16000, 3.0, 1.0, 0.48, 0.16, 0.16)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model(fixture_config()).eval()
    randomise_reference_branch(m, 0)
    return m


def test_shape_checks_the_frame_grid_and_the_context():
    assert SHAPE == StreamingShape(16000, 7680, 3, 2560, 2560)
    assert SHAPE.chunk == 23680 and SHAPE.frames_per_hop == 50
    with pytest.raises(ValueError, match="multiples of 320"):
        StreamingShape.of(16000, 3.0, 1.0, 0.25)
    with pytest.raises(ValueError, match="fit in the context"):
        StreamingShape.of(16000, 3.0, 1.0, 0.32, 0.2, 0.2)
    with pytest.raises(ValueError, match="whole number of hops"):
        StreamingShape.of(16000, 2.5, 1.0, 0.48)


def test_a_hops_frames_are_the_calls_frames_that_start_in_it(model):
    """frame_db is computed from the raw audio alone, so it shows the alignment exactly: hop k's frames are the call's
    frames 50k - 1 ... 50k + 48 (the previous hop's last frame, then its own first 49)."""
    x = torch.from_numpy(synthetic_speech(1, 3 * 16000, seed=5))
    padded = torch.cat([torch.zeros(1, SHAPE.context), x], 1)
    whole_db = frame_level_db(padded)  # frame j starts at call sample 320 j - context
    encoder = StreamingEncoder(model, SHAPE)
    first_global = SHAPE.context // FRAME_HOP
    for k in range(3):
        with torch.no_grad():
            enhanced, frames, db, routing_se, _ = encoder(padded[:, k * SHAPE.hop:k * SHAPE.hop + SHAPE.chunk])
        start = first_global + 50 * k - 1
        np.testing.assert_allclose(db.numpy(), whole_db[:, start:start + 50].numpy(), atol=1e-4)
        assert enhanced.shape == (1, SHAPE.hop + SHAPE.overlap)
        assert frames.shape == (1, 50, 64) and routing_se.shape == (1, 50)


def test_streaming_pools_each_window_over_its_last_three_hops(model):
    x = torch.from_numpy(synthetic_speech(2, STREAM_SAMPLES, seed=6))
    out = stream_waveform(model, x, SHAPE)
    assert out.enhanced.shape == x.shape
    assert len(out.window_logits) == 5 and all(lg.shape == (2, 4) for lg in out.window_logits)
    # A window's emotion depends on its own hops only: changing the audio of hop 0 leaves window 3 (hops 1-3) alone,
    # except through hop 1's left context, which reaches 0.48 s back into hop 0.
    y = x.clone()
    y[:, :16000 - SHAPE.context] = 0.0
    again = stream_waveform(model, y, SHAPE)
    np.testing.assert_allclose(again.window_logits[3].numpy(), out.window_logits[3].numpy(), atol=1e-5)
    assert not torch.allclose(again.window_logits[0], out.window_logits[0])


def test_export_writes_both_graphs_and_a_card_the_job_reads(model, tmp_path):
    enc, ser, card_path = export_streaming(model, SHAPE, str(tmp_path), "s")
    with open(card_path) as f:
        card = json.load(f)
    assert card["sha256"] == sha256_of(enc) and card["streaming"]["classifier"]["sha256"] == sha256_of(ser)
    assert card["streaming"]["context_samples"] == 7680 and card["streaming"]["frames_per_hop"] == 50
    assert [o["name"] for o in card["outputs"]] == [o.name for o in onnx.load(enc).graph.output]
    assert [i.name for i in onnx.load(ser).graph.input] == ["ser_frames", "prosody", "speaker_ref",
                                                              "speaker_ref_weight"]  # no level features: no frame_db


def test_recover_reads_the_weights_back_from_an_exported_graph(model, tmp_path):
    onnx_path, card_path = export_model(model, model.cfg, str(tmp_path))
    again, _ = recover(onnx_path, card_path)
    for (name, p), q in zip(model.state_dict().items(), again.state_dict().values()):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_recover_refuses_a_graph_of_another_config(model, tmp_path):
    onnx_path, card_path = export_model(model, model.cfg, str(tmp_path))
    with open(card_path) as f:
        card = json.load(f)
    card["config"]["moe"]["expert_hidden"] = 32
    with open(card_path, "w") as f:
        json.dump(card, f)
    with pytest.raises(ValueError):
        recover(onnx_path, card_path)


def test_committed_streaming_fixture_matches_the_current_model_code(model):
    with open(os.path.join(STREAM_FIXTURE, "references.json")) as f:
        index = json.load(f)

    def load(name):
        spec = index["tensors"][name]
        return np.fromfile(os.path.join(STREAM_FIXTURE, spec["file"]), dtype="<f4").reshape(spec["shape"])

    torch.manual_seed(index["seed"])
    m = build_model(fixture_config()).eval()
    randomise_reference_branch(m, index["seed"])
    out = stream_waveform(m, torch.from_numpy(load("waveform")), SHAPE)
    np.testing.assert_allclose(torch.cat(out.window_logits).numpy(), load("window_logits"), atol=1e-5)
    np.testing.assert_allclose(out.enhanced.numpy(), load("enhanced"), atol=1e-5)


def test_window_path_and_item_emotion_follow_the_job():
    class Identity(torch.nn.Module):
        def forward(self, x):
            from merit.model import ModelOutput
            return ModelOutput(x.clone(), torch.tensor([[x.abs().sum().item(), 0.0, 0.0, 0.0]]), None, None)

    x = np.random.default_rng(0).standard_normal(40000).astype(np.float32)
    enhanced, probs = window_path(Identity(), x, 48000, 16000)
    np.testing.assert_allclose(enhanced, x, atol=1e-5)  # the overlap-add of identical windows is the input
    assert len(probs) == 3
    # Windows end at 16000, 32000, 48000: an item over [10000, 30000) gets those ending in it or up to half a hop
    # after it (16000 and 32000), one over [33000, 40000) the last one only.
    assert np.allclose(item_emotion([np.full(4, k) for k in range(3)], 16000, 10000, 30000), 0.5)
    assert np.allclose(item_emotion([np.full(4, k) for k in range(3)], 16000, 33000, 40000), 2.0)


def test_summary_pairs_the_two_ways_per_item():
    items = [{"call": c, "label": c % 4, "window": {"pred": c % 4, "ssnr_enhanced_db": 1.0, "stoi_enhanced": 0.8,
                                                   "ssnr_noisy_db": 0.0, "stoi_noisy": 0.7},
              "streaming": {"pred": 0, "ssnr_enhanced_db": 2.0, "stoi_enhanced": 0.7}} for c in range(8)]
    s = summarise(items, 4)
    assert s["window"]["f1_macro"] == pytest.approx(1.0)
    assert s["difference"]["ssnr_enhanced_db"]["difference"] == pytest.approx(1.0)
    assert s["difference"]["stoi_enhanced"]["difference"] == pytest.approx(-0.1)
    assert s["prediction_agreement"] == pytest.approx(0.25)
