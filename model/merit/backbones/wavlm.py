"""WavLM (Large by default): wav2vec2-style encoder with a gated relative position bias.

torchaudio 0.13 has no WavLM, so this is our own implementation of the architecture published in
microsoft/unilm `wavlm/WavLM.py` + `wavlm/modules.py` (the code the Sparse MERIT authors load `WavLM-Large.pt` with).
Module and parameter names follow that code exactly so the published state dict loads with the identity map:

    feature_extractor.conv_layers.{0..6}.0.weight            conv (no bias: WavLM-Large has conv_bias=False)
    feature_extractor.conv_layers.{0..6}.2.1.{weight,bias}   LayerNorm inside Sequential(TransposeLast, LN, TransposeLast)
                                                             ("layer_norm" extractor mode; "default" mode instead has a
                                                             GroupNorm at conv_layers.0.2.{weight,bias} only)
    layer_norm.{weight,bias}                                 LayerNorm(512) on the conv features
    post_extract_proj.{weight,bias}                          Linear 512 -> 1024
    mask_emb                                                 [1024] masked-frame embedding (pretraining only)
    encoder.pos_conv.0.{weight_g,weight_v,bias}              weight-normed Conv1d(1024, 1024, 128, groups=16), dim=2
    encoder.layers.N.self_attn.{q,k,v,out}_proj.{weight,bias}
    encoder.layers.N.self_attn.grep_linear.{weight,bias}     Linear(head_dim 64 -> 8): gated relative position bias
    encoder.layers.N.self_attn.grep_a                        [1, heads, 1, 1]
    encoder.layers.0.self_attn.relative_attention_bias.weight  Embedding(320 buckets, heads): first layer only
    encoder.layers.N.{self_attn_layer_norm,fc1,fc2,final_layer_norm}.{weight,bias}
    encoder.layer_norm.{weight,bias}

HuggingFace `WavLMModel` names (transformers `models/wavlm/modeling_wavlm.py`, and the correspondence table in
`convert_wavlm_original_pytorch_checkpoint_to_pytorch.py`) are mapped onto these by `WAVLM_KEYMAP`:
`feature_extractor.conv_layers.N.conv` / `.layer_norm`, `feature_projection.{layer_norm,projection}`,
`encoder.pos_conv_embed.conv`, `encoder.layers.N.attention.{q,k,v,out}_proj`, `...attention.gru_rel_pos_linear`,
`...attention.gru_rel_pos_const`, `...attention.rel_attn_embed`, `encoder.layers.N.{layer_norm, feed_forward.
intermediate_dense, feed_forward.output_dense, final_layer_norm}`, `masked_spec_embed`.

Written for export: attention is plain matmul/softmax (no fused kernels), the bucket function avoids log(0), and the
position bias is computed once per forward from the dynamic frame count.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from merit.backbones.checkpoints import (
    CheckpointError,
    KeyMap,
    LoadReport,
    Rule,
    check_arch_fields,
    checkpoint_arch_fields,
    checkpoint_normalize_flag,
    hf_config_beside,
    load_checkpoint_file,
    normalize_waveform,
    require_file,
)

# The standard wav2vec2 front end: 400-sample receptive field, 320-sample hop (20 ms at 16 kHz).
STANDARD_CONV_LAYERS: Tuple[Tuple[int, int, int], ...] = ((512, 10, 5),) + ((512, 3, 2),) * 4 + ((512, 2, 2),) * 2


@dataclass(frozen=True)
class WavLMArch:
    """Architecture hyper-parameters; the defaults are WavLM-Large (checkpoint cfg of microsoft/unilm WavLM-Large.pt,
    HF microsoft/wavlm-large config: conv_bias False, layer-norm extractor, stable (pre-) layer norm, 320 buckets,
    max bucket distance 800). Smaller values are for tests."""

    conv_layers: Tuple[Tuple[int, int, int], ...] = STANDARD_CONV_LAYERS
    extractor_mode: str = "layer_norm"  # "layer_norm" (Large) or "default" (GroupNorm in the first block; Base/Base+)
    conv_bias: bool = False
    embed_dim: int = 1024
    num_layers: int = 24
    num_heads: int = 16
    ffn_dim: int = 4096
    pos_conv_kernel: int = 128
    pos_conv_groups: int = 16
    num_buckets: int = 320
    max_distance: int = 800
    layer_norm_first: bool = True
    gru_rel_pos: bool = True
    # Dropouts default to 0: this encoder is used as a feature extractor / fine-tuned with its own trainer settings.
    dropout: float = 0.0
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    dropout_input: float = 0.0

    def __post_init__(self) -> None:
        if self.extractor_mode not in ("layer_norm", "default"):
            raise ValueError(f"extractor_mode={self.extractor_mode!r} is not one of ['layer_norm', 'default']")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")

    def unilm_cfg(self) -> dict:
        """The same architecture as fields of unilm's WavLMConfig (for checking a checkpoint's stored cfg)."""
        return {
            "extractor_mode": self.extractor_mode,
            "encoder_layers": self.num_layers,
            "encoder_embed_dim": self.embed_dim,
            "encoder_ffn_embed_dim": self.ffn_dim,
            "encoder_attention_heads": self.num_heads,
            "activation_fn": "gelu",
            "layer_norm_first": self.layer_norm_first,
            "conv_bias": self.conv_bias,
            "conv_pos": self.pos_conv_kernel,
            "conv_pos_groups": self.pos_conv_groups,
            "relative_position_embedding": True,
            "num_buckets": self.num_buckets,
            "max_distance": self.max_distance,
            "gru_rel_pos": self.gru_rel_pos,
        }

    def hf_config(self) -> dict:
        """The same architecture as fields of HuggingFace's WavLMConfig (config.json)."""
        return {
            "hidden_size": self.embed_dim,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "intermediate_size": self.ffn_dim,
            "conv_dim": [c for c, _, _ in self.conv_layers],
            "conv_kernel": [k for _, k, _ in self.conv_layers],
            "conv_stride": [s for _, _, s in self.conv_layers],
            "conv_bias": self.conv_bias,
            "feat_extract_norm": "layer" if self.extractor_mode == "layer_norm" else "group",
            "do_stable_layer_norm": self.layer_norm_first,
            "num_conv_pos_embeddings": self.pos_conv_kernel,
            "num_conv_pos_embedding_groups": self.pos_conv_groups,
            "num_buckets": self.num_buckets,
            "max_bucket_distance": self.max_distance,
        }


WAVLM_LARGE = WavLMArch()


# --------------------------------------------------------------------------------------------------------------------
# Relative position buckets
# --------------------------------------------------------------------------------------------------------------------

def relative_position_bucket(relative_position: Tensor, num_buckets: int = 320, max_distance: int = 800) -> Tensor:
    """T5-style bidirectional buckets, as in unilm `MultiheadAttention._relative_positions_bucket`.

    relative_position = key index - query index (int64, any shape). Half of the buckets are for keys after the query
    (offset num_buckets/2), half for keys at or before it. Within each half, distances below max_exact = num_buckets/4
    get their own bucket; larger ones share log-spaced buckets up to max_distance, beyond which everything falls into
    the last bucket. With 320 buckets / 800: |d| < 80 exact, 80 <= |d| < 800 log-spaced, |d| >= 800 -> bucket 159.
    """
    half = num_buckets // 2
    buckets = (relative_position > 0).to(torch.long) * half
    distance = relative_position.abs()
    max_exact = half // 2
    is_small = distance < max_exact
    # max(distance, 1) keeps log() finite on the distances the is_small branch replaces anyway (0 would give -inf and
    # an undefined float->int cast, which ONNX runtimes need not reproduce); selected values are unchanged. (max with
    # ones_like, not clamp: torch 1.13 exports clamp's scalar bound as an untyped constant.)
    at_least_1 = torch.max(distance, torch.ones_like(distance))
    log_ratio = torch.log(at_least_1.to(torch.float32) / max_exact) / math.log(max_distance / max_exact)
    if_large = max_exact + (log_ratio * (half - max_exact)).to(torch.long)  # cast truncates like the reference
    if_large = torch.min(if_large, torch.full_like(if_large, half - 1))
    return buckets + torch.where(is_small, distance, if_large)


# --------------------------------------------------------------------------------------------------------------------
# Modules (names follow unilm so state dict keys match)
# --------------------------------------------------------------------------------------------------------------------

class TransposeLast(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(-2, -1)


class SamePad(nn.Module):
    """Drops the extra frame an even-kernel 'same' conv produces."""

    def __init__(self, kernel_size: int):
        super().__init__()
        self.remove = 1 if kernel_size % 2 == 0 else 0

    def forward(self, x: Tensor) -> Tensor:  # [B, C, T + remove] -> [B, C, T]
        return x[:, :, : x.shape[2] - self.remove] if self.remove else x


def _conv_block(n_in: int, n_out: int, k: int, stride: int, bias: bool, norm: str) -> nn.Sequential:
    """Index layout matches unilm's ConvFeatureExtractionModel blocks (0 conv, 1 dropout, 2 norm, 3 GELU)."""
    conv = nn.Conv1d(n_in, n_out, k, stride=stride, bias=bias)
    nn.init.kaiming_normal_(conv.weight)
    if norm == "layer":
        return nn.Sequential(conv, nn.Dropout(0.0), nn.Sequential(TransposeLast(), nn.LayerNorm(n_out), TransposeLast()),
                             nn.GELU())
    if norm == "group":
        return nn.Sequential(conv, nn.Dropout(0.0), nn.GroupNorm(n_out, n_out, affine=True), nn.GELU())
    return nn.Sequential(conv, nn.Dropout(0.0), nn.GELU())


class ConvFeatureExtractor(nn.Module):
    def __init__(self, arch: WavLMArch):
        super().__init__()
        layers = []
        n_in = 1
        for i, (dim, k, stride) in enumerate(arch.conv_layers):
            if arch.extractor_mode == "layer_norm":
                norm = "layer"
            else:
                norm = "group" if i == 0 else "none"
            layers.append(_conv_block(n_in, dim, k, stride, arch.conv_bias, norm))
            n_in = dim
        self.conv_layers = nn.ModuleList(layers)

    def forward(self, waveform: Tensor) -> Tensor:
        x = waveform.unsqueeze(1)  # [B, 1, N]
        for block in self.conv_layers:
            x = block(x)  # [B, C, T_i]
        return x  # [B, C, T]


class GatedRelPosAttention(nn.Module):
    """Multi-head self-attention plus WavLM's gated relative position bias.

    logits[b, h, i, j] = (q_i . k_j) / sqrt(d) + g[b, h, i] * E[bucket(j - i), h]
    g = sigmoid(a) * (sigmoid(b) * grep_a[h] - 1) + 2,  (a, b) = sums of the two halves of grep_linear(x_i,h) (8 -> 2x4)
    where x_i,h is head h's 64-dim slice of the attention input (the layer-normed hidden state, not the projected
    query: unilm's fast path and HF both gate on the input). E is only owned by layer 0; its raw (ungated) bias is
    passed to every later layer, which applies its own gate.
    """

    def __init__(self, arch: WavLMArch, has_relative_attention_bias: bool):
        super().__init__()
        self.embed_dim = arch.embed_dim
        self.num_heads = arch.num_heads
        self.head_dim = arch.embed_dim // arch.num_heads
        self.scaling = self.head_dim ** -0.5
        self.num_buckets = arch.num_buckets
        self.max_distance = arch.max_distance
        self.gru_rel_pos = arch.gru_rel_pos
        self.dropout = nn.Dropout(arch.attention_dropout)
        self.has_relative_attention_bias = has_relative_attention_bias
        if has_relative_attention_bias:
            self.relative_attention_bias = nn.Embedding(arch.num_buckets, arch.num_heads)
            nn.init.xavier_normal_(self.relative_attention_bias.weight)
        self.k_proj = nn.Linear(arch.embed_dim, arch.embed_dim)
        self.v_proj = nn.Linear(arch.embed_dim, arch.embed_dim)
        self.q_proj = nn.Linear(arch.embed_dim, arch.embed_dim)
        self.out_proj = nn.Linear(arch.embed_dim, arch.embed_dim)
        if self.gru_rel_pos:
            self.grep_linear = nn.Linear(self.head_dim, 8)
            self.grep_a = nn.Parameter(torch.ones(1, arch.num_heads, 1, 1))
        for proj in (self.k_proj, self.v_proj, self.q_proj):
            nn.init.xavier_uniform_(proj.weight, gain=1 / math.sqrt(2))
        nn.init.xavier_uniform_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def compute_bias(self, length: int) -> Tensor:
        """Raw position bias [1, H, T, T] for T = length frames (traced from x.shape, so the export stays dynamic)."""
        pos = torch.arange(length, device=self.relative_attention_bias.weight.device)  # [T]
        relative = pos.unsqueeze(0) - pos.unsqueeze(1)  # [T, T]: [i, j] = j - i (key minus query)
        bucket = relative_position_bucket(relative, self.num_buckets, self.max_distance)  # [T, T]
        values = self.relative_attention_bias(bucket)  # [T, T, H]
        return values.permute(2, 0, 1).unsqueeze(0)  # [1, H, T, T]

    def gate(self, x: Tensor) -> Tensor:
        """Per-query gate [B, H, T, 1] from the attention input x [B, T, D]."""
        b, t, _ = x.shape
        heads = x.reshape(b, t, self.num_heads, self.head_dim).transpose(1, 2)  # [B, H, T, d]
        ab = self.grep_linear(heads).reshape(b, self.num_heads, t, 2, 4).sum(-1)  # [B, H, T, 2]
        ab = torch.sigmoid(ab)
        gate_a, gate_b = ab[..., 0:1], ab[..., 1:2]  # [B, H, T, 1] each
        return gate_a * (gate_b * self.grep_a - 1.0) + 2.0

    def forward(self, x: Tensor, position_bias: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """x [B, T, D], position_bias [1, H, T, T] or None (layer 0 computes it) -> ([B, T, D], raw bias)."""
        b, t, _ = x.shape
        if position_bias is None:
            if not self.has_relative_attention_bias:
                raise RuntimeError("the first WavLM layer must own relative_attention_bias")
            position_bias = self.compute_bias(t)
        shape = (b, t, self.num_heads, self.head_dim)
        q = (self.q_proj(x) * self.scaling).reshape(shape).transpose(1, 2)  # [B, H, T, d]
        k = self.k_proj(x).reshape(shape).transpose(1, 2)  # [B, H, T, d]
        v = self.v_proj(x).reshape(shape).transpose(1, 2)  # [B, H, T, d]
        bias = self.gate(x) * position_bias if self.gru_rel_pos else position_bias  # [B, H, T, T]
        logits = torch.matmul(q, k.transpose(-1, -2)) + bias  # [B, H, T, T]
        probs = self.dropout(torch.softmax(logits, dim=-1))
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.embed_dim)  # [B, T, D]
        return self.out_proj(out), position_bias


class WavLMLayer(nn.Module):
    def __init__(self, arch: WavLMArch, has_relative_attention_bias: bool):
        super().__init__()
        self.layer_norm_first = arch.layer_norm_first
        self.self_attn = GatedRelPosAttention(arch, has_relative_attention_bias)
        self.self_attn_layer_norm = nn.LayerNorm(arch.embed_dim)
        self.fc1 = nn.Linear(arch.embed_dim, arch.ffn_dim)
        self.fc2 = nn.Linear(arch.ffn_dim, arch.embed_dim)
        self.final_layer_norm = nn.LayerNorm(arch.embed_dim)
        self.dropout1 = nn.Dropout(arch.dropout)
        self.dropout2 = nn.Dropout(arch.activation_dropout)
        self.dropout3 = nn.Dropout(arch.dropout)

    def _ffn(self, x: Tensor) -> Tensor:
        return self.dropout3(self.fc2(self.dropout2(F.gelu(self.fc1(x)))))

    def forward(self, x: Tensor, position_bias: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """x [B, T, D] -> [B, T, D]; same order of operations as unilm TransformerSentenceEncoderLayer."""
        residual = x
        if self.layer_norm_first:
            h, position_bias = self.self_attn(self.self_attn_layer_norm(x), position_bias)
            x = residual + self.dropout1(h)
            x = x + self._ffn(self.final_layer_norm(x))
        else:
            h, position_bias = self.self_attn(x, position_bias)
            x = self.self_attn_layer_norm(residual + self.dropout1(h))
            x = self.final_layer_norm(x + self._ffn(x))
        return x, position_bias


class WavLMEncoder(nn.Module):
    def __init__(self, arch: WavLMArch):
        super().__init__()
        d = arch.embed_dim
        conv = nn.Conv1d(d, d, kernel_size=arch.pos_conv_kernel, padding=arch.pos_conv_kernel // 2,
                         groups=arch.pos_conv_groups)
        nn.init.normal_(conv.weight, mean=0.0, std=math.sqrt(4.0 / (arch.pos_conv_kernel * d)))
        nn.init.zeros_(conv.bias)
        # dim=2: one norm per kernel tap, as in unilm/fairseq (weight_g has shape [1, 1, K]).
        conv = nn.utils.weight_norm(conv, name="weight", dim=2)
        self.pos_conv = nn.Sequential(conv, SamePad(arch.pos_conv_kernel), nn.GELU())
        self.layers = nn.ModuleList([WavLMLayer(arch, has_relative_attention_bias=(i == 0))
                                     for i in range(arch.num_layers)])
        self.layer_norm = nn.LayerNorm(d)
        self.layer_norm_first = arch.layer_norm_first
        self.dropout = nn.Dropout(arch.dropout)


class WavLM(nn.Module):
    """waveform [B, N] (16 kHz) -> List of num_layers + 1 hidden states, each [B, T, D], T = (N - 400) // 320 + 1.

    Hidden state 0 is chosen by `state0`:
      "projection" (default, the interface shared by every backbone here): the post_extract_proj output, before the
                   positional convolution;
      "pos_conv":  the input of transformer layer 0 (projection + positional conv), which is what the Sparse MERIT
                   reference code takes (`layer_results[0]` of unilm's `extract_features(..., ret_layer_results=True)`).
    States 1..L are the raw outputs of each transformer layer (the reference's layer_results[1:]; for the pre-LN
    Large model the final encoder.layer_norm is NOT applied, matching the reference when an output layer is named).

    normalize_input: normalise each waveform to zero mean / unit variance first, as WavLM-Large was pretrained
    (unilm cfg normalize=True). Loading a checkpoint whose config states `normalize` sets it from there.
    """

    def __init__(self, arch: WavLMArch = WAVLM_LARGE, state0: str = "projection", normalize_input: bool = False):
        super().__init__()
        if state0 not in ("projection", "pos_conv"):
            raise ValueError(f"state0={state0!r} is not one of ['projection', 'pos_conv']")
        self.arch = arch
        self.state0 = state0
        self.normalize_input = normalize_input
        embed = arch.conv_layers[-1][0]
        self.feature_extractor = ConvFeatureExtractor(arch)
        self.layer_norm = nn.LayerNorm(embed)
        self.post_extract_proj = nn.Linear(embed, arch.embed_dim)
        self.dropout_input = nn.Dropout(arch.dropout_input)
        # Pretraining-only (masked frames); kept so the published state dict loads strictly, unused in forward.
        self.mask_emb = nn.Parameter(torch.empty(arch.embed_dim).uniform_())
        self.encoder = WavLMEncoder(arch)
        self.num_hidden_states = arch.num_layers + 1
        self.hidden_dim = arch.embed_dim

    def forward(self, waveform: Tensor) -> List[Tensor]:
        if self.normalize_input:
            waveform = normalize_waveform(waveform)  # [B, N]
        features = self.feature_extractor(waveform).transpose(1, 2)  # [B, T, C]
        features = self.layer_norm(features)
        x = self.dropout_input(self.post_extract_proj(features))  # [B, T, D]
        states = [x] if self.state0 == "projection" else []
        enc = self.encoder
        x = x + enc.pos_conv(x.transpose(1, 2)).transpose(1, 2)  # [B, T, D]
        if not enc.layer_norm_first:
            x = enc.layer_norm(x)
        x = enc.dropout(x)
        if self.state0 == "pos_conv":
            states.append(x)
        position_bias: Optional[Tensor] = None
        for layer in enc.layers:
            x, position_bias = layer(x, position_bias)  # [B, T, D], bias [1, H, T, T] shared by all layers
            states.append(x)
        return states

    def load_checkpoint(self, path: str, strict: bool = True) -> LoadReport:
        return load_wavlm_checkpoint(self, path, strict=strict)


# --------------------------------------------------------------------------------------------------------------------
# Checkpoint key map
# --------------------------------------------------------------------------------------------------------------------

_L = r"encoder\.layers\.(\d+)\."
_P = r"(weight|bias)"

WAVLM_KEYMAP = KeyMap(
    rules=[
        # unilm / fairseq names are ours: identity. Checkpoints written by torch >= 2.1's parametrized weight norm
        # (e.g. a WavLM re-saved by the Sparse MERIT code, which uses nn.utils.parametrizations.weight_norm) spell the
        # positional conv as parametrizations.weight.original0 (g) / original1 (v).
        Rule("unilm", r"encoder\.pos_conv\.0\.parametrizations\.weight\.original0", r"encoder.pos_conv.0.weight_g"),
        Rule("unilm", r"encoder\.pos_conv\.0\.parametrizations\.weight\.original1", r"encoder.pos_conv.0.weight_v"),
        Rule("unilm", r"(feature_extractor\.conv_layers\.\d+\.(?:0|2|2\.1)\.(?:weight|bias))", r"\1"),
        Rule("unilm", r"((?:layer_norm|post_extract_proj)\.(?:weight|bias)|mask_emb)", r"\1"),
        Rule("unilm", r"(encoder\.pos_conv\.0\.(?:weight_g|weight_v|bias)|encoder\.layer_norm\.(?:weight|bias))", r"\1"),
        Rule("unilm", r"(encoder\.layers\.\d+\.self_attn\.(?:[qkv]|out)_proj\.(?:weight|bias))", r"\1"),
        Rule("unilm", r"(encoder\.layers\.\d+\.self_attn\.(?:grep_linear\.(?:weight|bias)|grep_a|"
                      r"relative_attention_bias\.weight))", r"\1"),
        Rule("unilm", r"(encoder\.layers\.\d+\.(?:self_attn_layer_norm|fc1|fc2|final_layer_norm)\.(?:weight|bias))",
             r"\1"),
        # HuggingFace WavLMModel.
        Rule("huggingface", r"feature_extractor\.conv_layers\.(\d+)\.conv\." + _P,
             r"feature_extractor.conv_layers.\1.0.\2"),
        # HF's LayerNorm conv layer is the layer_norm-mode block (index 2.1 here); its GroupNorm layer (only layer 0,
        # "group" mode) sits at index 2. Both are called `layer_norm` in HF; the model decides which one exists.
        Rule("huggingface", r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\." + _P,
             r"feature_extractor.conv_layers.\1.2.1.\2"),
        Rule("huggingface", r"feature_projection\.layer_norm\." + _P, r"layer_norm.\1"),
        Rule("huggingface", r"feature_projection\.projection\." + _P, r"post_extract_proj.\1"),
        Rule("huggingface", r"masked_spec_embed", r"mask_emb"),
        Rule("huggingface", r"encoder\.pos_conv_embed\.conv\.(weight_g|weight_v|bias)", r"encoder.pos_conv.0.\1"),
        Rule("huggingface", r"encoder\.pos_conv_embed\.conv\.parametrizations\.weight\.original0",
             r"encoder.pos_conv.0.weight_g"),
        Rule("huggingface", r"encoder\.pos_conv_embed\.conv\.parametrizations\.weight\.original1",
             r"encoder.pos_conv.0.weight_v"),
        Rule("huggingface", r"encoder\.layer_norm\." + _P, r"encoder.layer_norm.\1"),
        Rule("huggingface", _L + r"attention\.((?:[qkv]|out)_proj)\." + _P, r"encoder.layers.\1.self_attn.\2.\3"),
        Rule("huggingface", _L + r"attention\.gru_rel_pos_linear\." + _P, r"encoder.layers.\1.self_attn.grep_linear.\2"),
        Rule("huggingface", _L + r"attention\.gru_rel_pos_const", r"encoder.layers.\1.self_attn.grep_a"),
        Rule("huggingface", _L + r"attention\.rel_attn_embed\.weight",
             r"encoder.layers.\1.self_attn.relative_attention_bias.weight"),
        Rule("huggingface", _L + r"layer_norm\." + _P, r"encoder.layers.\1.self_attn_layer_norm.\2"),
        Rule("huggingface", _L + r"feed_forward\.intermediate_dense\." + _P, r"encoder.layers.\1.fc1.\2"),
        Rule("huggingface", _L + r"feed_forward\.output_dense\." + _P, r"encoder.layers.\1.fc2.\2"),
        Rule("huggingface", _L + r"final_layer_norm\." + _P, r"encoder.layers.\1.final_layer_norm.\2"),
    ],
    ignore=[
        # unilm/fairseq pretraining and fine-tuning heads.
        r"(label_embs_concat|final_proj\..*|quantizer\..*|project_q\..*|proj\..*|w2v_encoder\.proj\..*)",
        # HF heads: pretraining, CTC, sequence classification, x-vector, adapters.
        r"(project_hid\..*|lm_head\..*|projector\..*|classifier\..*|layer_weights|tdnn\..*|feature_extractor\.weight"
        r"|objective\..*|adapter\..*)",
    ],
    strip_prefixes=["wavlm.", "w2v_model.", "w2v_encoder.w2v_model."],
    optional_targets=["mask_emb"],
)


def _validate_wavlm(arch: WavLMArch, raw: Any, path: str) -> None:
    check_arch_fields(checkpoint_arch_fields(raw), arch.unilm_cfg(), "this WavLM architecture", path)
    hf = hf_config_beside(path)
    if hf.get("model_type") == "wavlm":
        check_arch_fields(hf, arch.hf_config(), "this WavLM architecture", os.path.join(os.path.dirname(path),
                                                                                        "config.json"))


def wavlm_keymap(extractor_mode: str = "layer_norm") -> KeyMap:
    """WAVLM_KEYMAP for the given extractor mode.

    HF calls every conv-block norm `conv_layers.N.layer_norm`; here (as in unilm) the LayerNorm of "layer_norm" mode
    sits at index 2.1 but the single GroupNorm of "default" mode at conv_layers.0.2, so that one rule changes.
    """
    if extractor_mode == "layer_norm":
        return WAVLM_KEYMAP
    group_norm = Rule("huggingface", r"feature_extractor\.conv_layers\.0\.layer_norm\." + _P,
                      r"feature_extractor.conv_layers.0.2.\1")
    rules = [group_norm if "conv_layers\\.(\\d+)\\.layer_norm" in r.pattern else r for r in WAVLM_KEYMAP.rules]
    return KeyMap(rules=rules, ignore=WAVLM_KEYMAP.ignore, strip_prefixes=WAVLM_KEYMAP.strip_prefixes,
                  optional_targets=WAVLM_KEYMAP.optional_targets)


def load_wavlm_checkpoint(model: WavLM, path: str, strict: bool = True) -> LoadReport:
    normalize: List[Optional[bool]] = []

    def validate(raw: Any, p: str) -> None:
        _validate_wavlm(model.arch, raw, p)
        normalize.append(checkpoint_normalize_flag(raw, p))

    report = load_checkpoint_file(model, path, wavlm_keymap(model.arch.extractor_mode), strict=strict,
                                  validate=validate)
    if normalize and normalize[0] is not None:
        model.normalize_input = normalize[0]
    return report


def build_wavlm_large(cfg: Any) -> WavLM:
    """`cfg`: anything with `.kind` ("wavlm_large") and `.checkpoint_path` (merit.config.BackboneConfig)."""
    kind = getattr(cfg, "kind", "wavlm_large")
    if kind != "wavlm_large":
        raise ValueError(f"build_wavlm_large needs backbone.kind='wavlm_large', got {kind!r}")
    path = getattr(cfg, "checkpoint_path", None)
    if path:
        require_file(path)
    # Input normalisation on by default: the published WavLM-Large weights expect it (a checkpoint cfg overrides).
    model = WavLM(WAVLM_LARGE, normalize_input=True)
    if path:
        model.load_checkpoint(path)
    return model

