"""STFT / inverse STFT as convolutions with fixed DFT kernels.

torch 1.13 cannot export `torch.stft` / `torch.istft` or complex tensors to ONNX, so the transforms are written as
`conv1d` / `conv_transpose1d` with windowed DFT kernels and real/imaginary parts carried separately. They match
`torch.stft(center=True, pad_mode="reflect", onesided=True)` and `torch.istft(center=True)` with the same window.
"""
import math
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ConvSTFT(nn.Module):
    """waveform [B, N] -> (real, imag), each [B, F, Ts] with F = n_fft // 2 + 1 and Ts = 1 + N // hop."""

    def __init__(self, n_fft: int = 400, hop_length: int = 160):
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.num_bins = n_fft // 2 + 1
        window = torch.hamming_window(n_fft, periodic=True, dtype=torch.float64)
        n = torch.arange(n_fft, dtype=torch.float64)
        k = torch.arange(self.num_bins, dtype=torch.float64)
        angle = 2 * math.pi * k[:, None] * n[None, :] / n_fft  # [F, n_fft]
        real = window * torch.cos(angle)
        imag = -window * torch.sin(angle)
        # [2F, 1, n_fft]: the first F output channels are the real parts, the rest the imaginary parts.
        self.register_buffer("kernel", torch.cat([real, imag], 0).unsqueeze(1).float(), persistent=False)
        self.register_buffer("window", window.float(), persistent=False)

    def forward(self, waveform: Tensor) -> Tuple[Tensor, Tensor]:
        pad = self.n_fft // 2
        x = F.pad(waveform.unsqueeze(1), (pad, pad), mode="reflect")  # [B, 1, N + n_fft]
        spec = F.conv1d(x, self.kernel, stride=self.hop_length)  # [B, 2F, Ts]
        return spec[:, : self.num_bins], spec[:, self.num_bins :]


class ConvISTFT(nn.Module):
    """(real, imag) [B, F, Ts] -> waveform [B, length]; overlap-add normalised by the window-square envelope.

    The inverse kernel is the forward kernel with a per-bin weight (one-sided inverse DFT: DC and Nyquist once, every
    other bin twice, all / n_fft), so the spectrum is weighted instead and the graph keeps ONE 402 x 400 constant,
    shared with `stft` (0.6 MB less per exported model).
    """

    def __init__(self, stft: ConvSTFT):
        super().__init__()
        self.n_fft = stft.n_fft
        self.hop_length = stft.hop_length
        self.num_bins = stft.num_bins
        scale = torch.full((self.num_bins,), 2.0 / self.n_fft)
        scale[0] = 1.0 / self.n_fft
        if self.n_fft % 2 == 0:
            scale[-1] = 1.0 / self.n_fft
        self.register_buffer("bin_scale", torch.cat([scale, scale]).view(1, -1, 1), persistent=False)  # [1, 2F, 1]
        # The same tensor object as the forward kernel: the exporter writes one initializer for both.
        self.register_buffer("kernel", stft.kernel, persistent=False)  # [2F, 1, n_fft]
        self.register_buffer("window_sq", (stft.window**2).view(1, 1, self.n_fft), persistent=False)

    def forward(self, real: Tensor, imag: Tensor, length: int) -> Tensor:
        spec = torch.cat([real, imag], 1) * self.bin_scale  # [B, 2F, Ts]
        frames = F.conv_transpose1d(spec, self.kernel, stride=self.hop_length)  # [B, 1, (Ts-1)*hop + n_fft]
        # The envelope is built from the actual frame count so it stays dynamic in the exported graph.
        ones = torch.ones_like(real[:1, :1, :])  # [1, 1, Ts]
        envelope = F.conv_transpose1d(ones, self.window_sq, stride=self.hop_length)  # [1, 1, L]
        pad = self.n_fft // 2
        # (Ts-1)*hop + n_fft - pad >= length whenever Ts = 1 + length // hop, so the slice never runs short.
        out = frames[:, 0, pad : pad + length]
        env = envelope[:, 0, pad : pad + length]
        return out / env.clamp(min=1e-11)
