import pytest
import torch

from merit.components import Gate, LayerConcat, SharedMoE, WeightedLayerSum
from merit.config import MoEConfig
from merit.losses import switch_load_balance_loss


def _states(n=3, b=2, t=7, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, t, d, generator=g) * (i + 1) + i for i in range(n)]


def test_layer_concat_normalises_each_state_then_concatenates():
    states = _states()
    out = LayerConcat(3, 8)(states)
    assert out.shape == (2, 7, 24)
    # Every 8-dim block is normalised on its own, whatever the scale and offset of its layer.
    blocks = out.view(2, 7, 3, 8)
    assert torch.allclose(blocks.mean(-1), torch.zeros(2, 7, 3), atol=1e-5)
    assert torch.allclose(blocks.var(-1, unbiased=False), torch.ones(2, 7, 3), atol=1e-3)


def test_layer_concat_rejects_wrong_number_of_states():
    with pytest.raises(ValueError, match="expected 4 hidden states, got 3"):
        LayerConcat(4, 8)(_states())


def test_weighted_layer_sum_starts_uniform_and_learns_weights():
    fuse = WeightedLayerSum(3, 8)
    states = _states()
    out = fuse(states)
    expected = sum(norm(h) for norm, h in zip(fuse.norms, states)) / 3
    assert torch.allclose(out, expected, atol=1e-6)
    out.pow(2).sum().backward()
    assert fuse.logits.grad is not None and fuse.logits.grad.abs().sum() > 0


@pytest.mark.parametrize("mode,k,per_frame", [("top1", 1, 1), ("topk", 2, 2), ("dense", 2, 3)])
def test_gate_selects_k_experts_with_their_probabilities(mode, k, per_frame):
    gate = Gate(16, 3, mode, top_k=k)
    x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(1))
    out = gate(x)
    assert torch.allclose(out.probs.sum(-1), torch.ones(2, 5), atol=1e-6)
    assert (out.selected.sum(-1) == per_frame).all()
    assert torch.equal(out.weights, out.probs * out.selected)
    assert out.routing.dtype == torch.int64
    assert torch.equal(out.routing, out.probs.argmax(-1))


def test_top1_routing_is_one_hot_on_the_argmax():
    out = Gate(16, 3, "top1")(torch.randn(4, 9, 16, generator=torch.Generator().manual_seed(2)))
    one_hot = torch.nn.functional.one_hot(out.routing, 3).bool()
    assert torch.equal(out.selected, one_hot)
    assert torch.allclose(out.weights.sum(-1), out.probs.max(-1).values)


def _moe_pair(gate_mode, seed=0):
    torch.manual_seed(seed)
    sparse = SharedMoE(24, 8, MoEConfig(num_experts=3, expert_hidden=16, gate_mode=gate_mode, dispatch="sparse"))
    dense = SharedMoE(24, 8, MoEConfig(num_experts=3, expert_hidden=16, gate_mode=gate_mode, dispatch="dense"))
    dense.load_state_dict(sparse.state_dict())
    return sparse, dense


@pytest.mark.parametrize("gate_mode", ["top1", "topk", "dense"])
def test_sparse_and_dense_dispatch_agree(gate_mode):
    sparse, dense = _moe_pair(gate_mode)
    x = torch.randn(3, 11, 24, generator=torch.Generator().manual_seed(3))
    a, b = sparse(x), dense(x)
    for task in ("se", "ser"):
        assert torch.equal(a.gates[task].routing, b.gates[task].routing)
        assert torch.allclose(a.features[task], b.features[task], atol=1e-6)


def test_top1_output_is_chosen_probability_times_chosen_expert():
    sparse, _ = _moe_pair("top1")
    x = torch.randn(2, 6, 24, generator=torch.Generator().manual_seed(4))
    out = sparse(x)
    for task in ("se", "ser"):
        g = out.gates[task]
        all_experts = torch.stack([e(x) for e in sparse.experts], -2)  # [B, T, E, D]
        chosen = all_experts.gather(-2, g.routing[..., None, None].expand(-1, -1, 1, 8)).squeeze(-2)
        p = g.probs.gather(-1, g.routing[..., None])
        assert torch.allclose(out.features[task], p * chosen, atol=1e-6)


def test_sparse_dispatch_handles_experts_that_get_no_frames():
    sparse, dense = _moe_pair("top1")
    # Force both gates to send every frame to expert 2: experts 0 and 1 run on zero rows.
    for gate in list(sparse.gates.values()) + list(dense.gates.values()):
        with torch.no_grad():
            gate.proj.weight.zero_()
            gate.proj.bias.copy_(torch.tensor([0.0, 0.0, 5.0]))
    x = torch.randn(2, 4, 24)
    a, b = sparse(x), dense(x)
    assert (a.gates["se"].routing == 2).all()
    assert torch.allclose(a.features["se"], b.features["se"], atol=1e-6)


def test_gradients_reach_gates_and_experts_through_top1_routing():
    sparse, _ = _moe_pair("top1")
    x = torch.randn(2, 6, 24, generator=torch.Generator().manual_seed(5))
    out = sparse(x)
    (out.features["se"].pow(2).sum() + out.features["ser"].sum()).backward()
    for task in ("se", "ser"):
        assert sparse.gates[task].proj.weight.grad.abs().sum() > 0
    used = set(out.gates["se"].routing.flatten().tolist()) | set(out.gates["ser"].routing.flatten().tolist())
    for e in used:
        assert sparse.experts[e].net[0].weight.grad.abs().sum() > 0


def test_load_balance_loss_hand_computed():
    # 4 frames, 2 experts. Routing (argmax): e0, e0, e0, e1 -> f = [0.75, 0.25].
    probs = torch.tensor([[[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]]])
    routing = probs.argmax(-1)
    # P = mean probs = [0.65, 0.35]; loss = E * sum f*P = 2 * (0.75*0.65 + 0.25*0.35) = 1.15
    assert switch_load_balance_loss(probs, routing).item() == pytest.approx(1.15, abs=1e-6)
    # Masking out the last frame: f = [1, 0], P = [0.7667, 0.2333] -> 2 * 0.7667 = 1.5333
    mask = torch.tensor([[True, True, True, False]])
    assert switch_load_balance_loss(probs, routing, mask).item() == pytest.approx(2 * 2.3 / 3, abs=1e-6)


def test_load_balance_loss_is_one_when_balanced_and_pulls_probabilities_to_balance():
    probs = torch.full((1, 4, 2), 0.5)
    assert switch_load_balance_loss(probs, torch.tensor([[0, 1, 0, 1]])).item() == pytest.approx(1.0)
    logits = torch.tensor([[[2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [0.0, 2.0]]], requires_grad=True)
    p = torch.softmax(logits, -1)
    switch_load_balance_loss(p, p.argmax(-1)).backward()
    # Expert 0 is overloaded (3 of 4 frames): the gradient lowers its logits.
    assert (logits.grad[0, :, 0] > 0).all()


def test_balanced_class_weights():
    from merit.losses import class_weights_from_counts

    assert class_weights_from_counts([10, 10, 10, 10]) == [1.0, 1.0, 1.0, 1.0]
    # 60 samples over 3 present classes: 60 / (3 * n_c); the unseen class gets 0.
    assert class_weights_from_counts([40, 10, 10, 0]) == pytest.approx([0.5, 2.0, 2.0, 0.0])
