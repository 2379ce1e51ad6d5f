"""SSL backbones. Every backbone returns ALL hidden states so the model can LayerNorm and concatenate them.

Interface (agreed with the large-backbone code in wavlm.py / torchaudio_ssl.py):
    backbone = build_backbone(cfg)            # cfg: merit.config.BackboneConfig
    states = backbone(waveform)               # waveform [B, N] 16 kHz -> List[Tensor[B, T, D]], T at 50 Hz (20 ms)
    len(states) == backbone.num_hidden_states # index 0 = feature-projection output, then one per transformer layer
    states[i].shape[-1] == backbone.hidden_dim
"""
from typing import List, Protocol

from torch import Tensor, nn

from merit.config import BackboneConfig


class Backbone(Protocol):
    num_hidden_states: int
    hidden_dim: int

    def __call__(self, waveform: Tensor) -> List[Tensor]:
        ...


def build_backbone(cfg: BackboneConfig) -> nn.Module:
    """Builds the backbone named by `cfg.kind`; the large kinds are imported lazily (they are big modules)."""
    if cfg.kind == "tiny":
        from merit.backbones.tiny import build_tiny

        return build_tiny(cfg)
    if cfg.kind == "wavlm_large":
        from merit.backbones.wavlm import build_wavlm_large

        return build_wavlm_large(cfg)
    if cfg.kind == "hubert_large":
        from merit.backbones.torchaudio_ssl import build_hubert_large

        return build_hubert_large(cfg)
    if cfg.kind == "wav2vec2_large":
        from merit.backbones.torchaudio_ssl import build_wav2vec2_large

        return build_wav2vec2_large(cfg)
    raise ValueError(f"backbone.kind={cfg.kind!r} is not one of ['tiny', 'wavlm_large', 'hubert_large', 'wav2vec2_large']")
