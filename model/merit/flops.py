"""Floating-point operations of one forward pass, counted from the matrix products PyTorch actually runs.

A `TorchDispatchMode` sees every ATen op after composite ops (linear, conv1d, lstm, attention) have been lowered, so
the count follows the real execution: the LSTM's per-step products, the attention's batched products, and for sparse
dispatch only the frames each expert was given. Only products are counted (2 flops per multiply-add); elementwise
ops, norms and softmax are a small share and are not what a matrix-multiply peak measures.
"""
from typing import Dict, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_aten = torch.ops.aten


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


class FlopCounter(TorchDispatchMode):
    """Counts flops of mm / addmm / bmm / baddbmm / convolution, per op name."""

    def __init__(self):
        super().__init__()
        self.by_op: Dict[str, int] = {}

    def _add(self, name: str, flops: int) -> None:
        self.by_op[name] = self.by_op.get(name, 0) + int(flops)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        packet = func.overloadpacket
        if packet is _aten.mm:
            a, b = args[0], args[1]
            self._add("mm", 2 * a.shape[0] * a.shape[1] * b.shape[1])
        elif packet is _aten.addmm:
            a, b = args[1], args[2]
            self._add("addmm", 2 * a.shape[0] * a.shape[1] * b.shape[1])
        elif packet is _aten.bmm:
            a, b = args[0], args[1]
            self._add("bmm", 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2])
        elif packet is _aten.baddbmm:
            a, b = args[1], args[2]
            self._add("baddbmm", 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2])
        elif packet in (_aten.convolution, _aten._convolution):
            x, w = args[0], args[1]
            transposed = bool(args[6])
            groups = int(args[8])
            if transposed:
                # Every input element is multiplied into (out_channels / groups) * kernel outputs.
                flops = 2 * _numel(x.shape) * int(w.shape[1]) * _numel(w.shape[2:])
            else:
                # Every output element sums (in_channels / groups) * kernel products.
                flops = 2 * _numel(out.shape) * (int(x.shape[1]) // groups) * _numel(w.shape[2:])
            self._add("conv_transpose" if transposed else "conv", flops)
        return out


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> Tuple[int, Dict[str, int]]:
    """(total, per op) flops of `model(x)` under no_grad."""
    counter = FlopCounter()
    with torch.no_grad(), counter:
        model(x)
    return sum(counter.by_op.values()), dict(counter.by_op)
