"""Tiny wav2vec2/HuBERT-style encoder: the embedded default backbone.

Built from torchaudio's `wav2vec2_model` (which exports to ONNX) so the training issue can wrap the same
`Wav2Vec2Model` for HuBERT-style masked-prediction pretraining and load its weights back here unchanged.
"""
from typing import List

from torch import Tensor, nn
from torchaudio.models import Wav2Vec2Model, wav2vec2_model

from merit.config import BackboneConfig


def run_encoder_layer(layer: nn.Module, x: Tensor) -> Tensor:
    """One torchaudio wav2vec2 `EncoderLayer` without a mask: torchaudio 0.13 returns the tensor, 2.x (which added
    WavLM) a (tensor, position_bias) pair."""
    out = layer(x, None)
    return out[0] if isinstance(out, tuple) else out


def tiny_wav2vec2_model(cfg: BackboneConfig) -> Wav2Vec2Model:
    """Standard 7-layer conv front end (kernels 10,3,3,3,3,2,2; strides 5,2,2,2,2,2,2 -> 320x, 20 ms hop)."""
    c = cfg.conv_channels
    conv = [(c, 10, 5)] + [(c, 3, 2)] * 4 + [(c, 2, 2)] * 2
    return wav2vec2_model(
        extractor_mode="group_norm",
        extractor_conv_layer_config=conv,
        extractor_conv_bias=False,
        encoder_embed_dim=cfg.dim,
        encoder_projection_dropout=cfg.dropout,
        encoder_pos_conv_kernel=cfg.pos_conv_kernel,
        encoder_pos_conv_groups=cfg.pos_conv_groups,
        encoder_num_layers=cfg.num_layers,
        encoder_num_heads=cfg.num_heads,
        encoder_attention_dropout=cfg.dropout,
        encoder_ff_interm_features=cfg.ffn_dim,
        encoder_ff_interm_dropout=cfg.dropout,
        encoder_dropout=cfg.dropout,
        # Pre-LN like the large models: trains stably from scratch.
        encoder_layer_norm_first=True,
        # Layer drop would change how many hidden states a forward returns.
        encoder_layer_drop=0.0,
        aux_num_out=None,
    )


class TinyBackbone(nn.Module):
    """waveform [B, N] -> [hidden_0, ..., hidden_L], each [B, T, D] with T = floor((N - 400) / 320) + 1."""

    def __init__(self, cfg: BackboneConfig):
        super().__init__()
        self.model = tiny_wav2vec2_model(cfg)
        self.num_hidden_states = cfg.num_layers + 1
        self.hidden_dim = cfg.dim

    def forward(self, waveform: Tensor) -> List[Tensor]:
        # `extract_features` skips the feature-projection output, so walk the encoder by hand.
        features, _ = self.model.feature_extractor(waveform, None)  # [B, T, C]
        encoder = self.model.encoder
        x = encoder.feature_projection(features)  # [B, T, D]
        states = [x]
        transformer = encoder.transformer
        x = transformer._preprocess(x)  # + positional conv, pre-LN norm, dropout
        for layer in transformer.layers:
            x = run_encoder_layer(layer, x)  # [B, T, D]
            states.append(x)
        # Mirror torchaudio's Transformer.forward: its post-LN variant applies the final LayerNorm after the last layer.
        if not transformer.layer_norm_first:
            states[-1] = transformer.layer_norm(states[-1])
        return states


def build_tiny(cfg: BackboneConfig) -> TinyBackbone:
    if cfg.kind != "tiny":
        raise ValueError(f"build_tiny needs backbone.kind='tiny', got {cfg.kind!r}")
    return TinyBackbone(cfg)


def num_frames(num_samples: int) -> int:
    """Frames the 320x conv front end yields for `num_samples` (0 below one 400-sample receptive field)."""
    return max(0, (num_samples - 400) // 320 + 1)
