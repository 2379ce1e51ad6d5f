"""Training losses: L1 on log1p spectra (SE), class-weighted cross-entropy (SER), Switch load balance (gates)."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from merit.stft import ConvSTFT


def switch_load_balance_loss(probs: Tensor, routing: Tensor, frame_mask: Optional[Tensor] = None) -> Tensor:
    """Switch Transformer auxiliary loss E * sum_e f_e * P_e (1.0 when perfectly balanced).

    probs [B, T, E] gate softmax; routing [B, T] chosen expert; frame_mask [B, T] (True = real frame) excludes padding.
    f_e is the fraction of frames routed to expert e (not differentiable), P_e the mean probability of e (carries the
    gradient into the gate). Multiply by alpha (0.01 in the paper) in the total loss.
    """
    num_experts = probs.shape[-1]
    if frame_mask is None:
        frame_mask = torch.ones(routing.shape, dtype=torch.bool, device=probs.device)
    m = frame_mask.to(probs.dtype).unsqueeze(-1)  # [B, T, 1]
    count = m.sum().clamp(min=1.0)
    onehot = F.one_hot(routing, num_experts).to(probs.dtype)  # [B, T, E]
    fraction = (onehot * m).sum((0, 1)) / count  # [E]
    mean_prob = (probs * m).sum((0, 1)) / count  # [E]
    return num_experts * (fraction * mean_prob).sum()


def log1p_magnitude(waveform: Tensor, stft: ConvSTFT, scale: float = 1.0) -> Tensor:
    """[B, N] -> log1p(scale * |STFT|) [B, Ts, F], the domain the SE head masks in."""
    real, imag = stft(waveform)
    return torch.log1p(scale * torch.sqrt(real * real + imag * imag + 1e-12)).transpose(1, 2)


def se_l1_loss(enhanced_logmag: Tensor, clean_waveform: Tensor, stft: ConvSTFT, scale: float = 1.0) -> Tensor:
    """Mean L1 between the enhanced and clean log1p magnitudes, both [B, Ts, F]."""
    return (enhanced_logmag - log1p_magnitude(clean_waveform, stft, scale)).abs().mean()


def ser_cross_entropy(logits: Tensor, labels: Tensor, class_weights: Optional[Sequence[float]] = None) -> Tensor:
    """Class-weighted cross-entropy; logits [B, C], labels [B] int64."""
    weight = None if class_weights is None else torch.tensor(class_weights, dtype=logits.dtype, device=logits.device)
    return F.cross_entropy(logits, labels, weight=weight)


def class_weights_from_counts(counts: Sequence[int]) -> List[float]:
    """"Balanced" weights n / (k * n_c) over the k classes present (1.0 each when balanced); unseen classes get 0."""
    total = float(sum(counts))
    present = sum(1 for c in counts if c > 0)
    return [total / (present * c) if c > 0 else 0.0 for c in counts]


def total_loss(parts: Dict[str, Tensor], se_weight: float, ser_weight: float, alpha: float) -> Tensor:
    """Weighted sum of whichever of `se`, `ser`, `load_balance` are present."""
    if not parts:
        raise ValueError("no loss parts: pass clean audio for SE and/or labels for SER")
    total = torch.zeros((), device=next(iter(parts.values())).device)
    if "se" in parts:
        total = total + se_weight * parts["se"]
    if "ser" in parts:
        total = total + ser_weight * parts["ser"]
    if "load_balance" in parts:
        total = total + alpha * parts["load_balance"]
    return total
