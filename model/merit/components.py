"""Building blocks of Sparse MERIT: layer fusion, experts, per-task gates and the shared-pool MoE."""
from typing import Dict, NamedTuple, Sequence

import torch
from torch import Tensor, nn

from merit.config import MoEConfig

TASKS = ("se", "ser")


class LayerConcat(nn.Module):
    """LayerNorm every hidden state separately, then concatenate per frame.

    L x [B, T, D] -> [B, T, L * D]  (WavLM-Large: 25 x 1024 = 25,600).
    """

    def __init__(self, num_layers: int, dim: int):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(num_layers))

    def forward(self, states: Sequence[Tensor]) -> Tensor:
        if len(states) != len(self.norms):
            raise ValueError(f"expected {len(self.norms)} hidden states, got {len(states)}")
        return torch.cat([norm(h) for norm, h in zip(self.norms, states)], dim=-1)


class WeightedLayerSum(nn.Module):
    """The baselines' shared representation: softmax-weighted sum of LayerNorm'ed hidden states.

    L x [B, T, D] -> [B, T, D]
    """

    def __init__(self, num_layers: int, dim: int):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(num_layers))
        self.logits = nn.Parameter(torch.zeros(num_layers))  # uniform at start

    def forward(self, states: Sequence[Tensor]) -> Tensor:
        if len(states) != len(self.norms):
            raise ValueError(f"expected {len(self.norms)} hidden states, got {len(states)}")
        weights = torch.softmax(self.logits, dim=0)  # [L]
        stacked = torch.stack([norm(h) for norm, h in zip(self.norms, states)], dim=0)  # [L, B, T, D]
        return (stacked * weights.view(-1, 1, 1, 1)).sum(0)


class Expert(nn.Module):
    """Linear(D_cat -> H) -> ReLU -> Linear(H -> D): [..., D_cat] -> [..., D]."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class GateOutput(NamedTuple):
    probs: Tensor  # [B, T, E] softmax over experts
    weights: Tensor  # [B, T, E] probs kept for the selected experts, 0 elsewhere
    selected: Tensor  # [B, T, E] bool, experts this frame is dispatched to
    routing: Tensor  # [B, T] int64, the most probable expert


class Gate(nn.Module):
    """Per-task router: Linear(D_cat -> E) + softmax per frame.

    top1: weight p_chosen on the argmax expert (Switch); topk: the k largest probs, not renormalised, so top1 is the
    k = 1 case; dense: every expert with its soft weight.
    """

    def __init__(self, in_dim: int, num_experts: int, mode: str = "top1", top_k: int = 2):
        super().__init__()
        self.proj = nn.Linear(in_dim, num_experts)
        self.num_experts = num_experts
        self.mode = mode
        self.top_k = top_k

    def forward(self, x: Tensor) -> GateOutput:
        probs = torch.softmax(self.proj(x), dim=-1)  # [B, T, E]
        routing = probs.argmax(dim=-1)  # [B, T]
        if self.mode == "top1":
            # Equal against arange exports as one Equal node (one_hot would need a OneHot op).
            selected = routing.unsqueeze(-1) == torch.arange(self.num_experts, device=x.device)
        elif self.mode == "topk":
            top = probs.topk(self.top_k, dim=-1).indices  # [B, T, k]
            selected = (top.unsqueeze(-1) == torch.arange(self.num_experts, device=x.device)).any(dim=-2)
        else:
            selected = torch.ones_like(probs, dtype=torch.bool)
        weights = probs * selected.to(probs.dtype)
        return GateOutput(probs, weights, selected, routing)


class MoEOutput(NamedTuple):
    features: Dict[str, Tensor]  # task -> [B, T, D]
    gates: Dict[str, GateOutput]


class SharedMoE(nn.Module):
    """One pool of experts shared by both tasks, one gate per task.

    x [B, T, D_cat] -> per task [B, T, D] = sum_e weight_task[e] * expert_e(x).

    dispatch="sparse": each expert runs ONCE on the union of the frames either task selects it for (index_select ->
    expert -> index_put), so top-1 costs between 1x and 2x one expert pass per frame depending on how often the two
    gates agree, instead of 3x for a dense pool. dispatch="dense": every expert on every frame, weights mask the rest.
    Both give the same numbers; the dense form exists to compare cost and for the dense-MoE baseline.
    """

    def __init__(self, in_dim: int, out_dim: int, cfg: MoEConfig):
        super().__init__()
        self.cfg = cfg
        self.out_dim = out_dim
        self.experts = nn.ModuleList(Expert(in_dim, cfg.expert_hidden, out_dim) for _ in range(cfg.num_experts))
        self.gates = nn.ModuleDict({t: Gate(in_dim, cfg.num_experts, cfg.gate_mode, cfg.top_k) for t in TASKS})

    def forward(self, x: Tensor) -> MoEOutput:
        b, t, d = x.shape
        gates = {task: gate(x) for task, gate in self.gates.items()}
        flat = x.reshape(b * t, d)  # [BT, D_cat]
        weights = {task: g.weights.reshape(b * t, -1) for task, g in gates.items()}  # [BT, E]
        if self.cfg.dispatch == "sparse":
            selected = {task: g.selected.reshape(b * t, -1) for task, g in gates.items()}
            outs = self._sparse(flat, weights, selected)
        else:
            outs = self._dense(flat, weights)
        return MoEOutput({task: o.reshape(b, t, self.out_dim) for task, o in outs.items()}, gates)

    def _dense(self, flat: Tensor, weights: Dict[str, Tensor]) -> Dict[str, Tensor]:
        ys = [expert(flat) for expert in self.experts]  # E x [BT, D]
        return {task: sum(y * w[:, e : e + 1] for e, y in enumerate(ys)) for task, w in weights.items()}

    def _sparse(self, flat: Tensor, weights: Dict[str, Tensor], selected: Dict[str, Tensor]) -> Dict[str, Tensor]:
        outs: Dict[str, Tensor] = {}
        for e, expert in enumerate(self.experts):
            union = selected["se"][:, e] | selected["ser"][:, e]  # [BT]
            idx = torch.nonzero(union).squeeze(1)  # [n_e]; ORT accepts n_e = 0
            y = expert(flat.index_select(0, idx))  # [n_e, D]
            full = y.new_zeros((flat.shape[0], self.out_dim)).index_put((idx,), y)  # [BT, D], zeros off-route
            for task, w in weights.items():
                # Frames only the other task sent here have weight 0 for this task.
                part = full * w[:, e : e + 1]
                outs[task] = part if e == 0 else outs[task] + part
        return outs
