"""Training runs with oneDNN (mkldnn) convolutions off: Debian's torch 1.13 CPU build gets their weight gradients wrong.

Found while chasing a flaky resume test: the backward of conv1d -> GELU -> transpose (every conv block of the wav2vec2
feature extractor ends like that) hands oneDNN a non-contiguous gradient, and the weight gradient it returns is garbage
that changes from call to call (1e-36 one call, 1e7 another, inf now and then). Stage 2 fine-tuning and pretraining
both hit it: the first real runs logged "non-finite gradient norm" in stage 2 and, worse, clipping a 1e7 garbage norm
scaled every other gradient below Adam's epsilon. The native kernels are correct and only ~12 % slower per step here.
Inference is unaffected (the forward pass is right), so this is applied around training only.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def exact_conv_gradients() -> Iterator[None]:
    saved = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = saved
