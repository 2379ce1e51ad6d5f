"""Large SSL backbones (WavLM / HuBERT / wav2vec2) and their checkpoint loaders.

No real weights are available here (nothing downloads), so the loaders are tested on checkpoints that use the real
published key names, written out by this file from its own name tables (transcribed from microsoft/unilm
wavlm/WavLM.py, fairseq's wav2vec2/hubert modules and HuggingFace's WavLMModel/Wav2Vec2Model/HubertModel; see the
comments at each table). The tables pair every source name with the module name it must land in, so a loader that
swaps two same-shaped tensors (q/k projections, fc1/fc2 biases, ...) fails.

Full-size key coverage uses "scalar" checkpoints: tensor i is a single float i expanded to its full shape, so the file
is a few KB while every parameter of the 315M-parameter models is checked to hold the value of the right source key.
Numerical identity is checked on reduced-size models (same code paths, fewer layers and channels).
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import struct
import sys
import types
import warnings
from typing import Dict, List, Sequence, Tuple

import pytest
import torch

from merit.backbones import checkpoints as ck
from merit.backbones.checkpoints import CheckpointError
from merit.backbones.torchaudio_ssl import (
    STANDARD_CONV_LAYERS,
    TORCHAUDIO_SSL_KEYMAP,
    TorchaudioSSL,
    build_hubert_large,
    build_wav2vec2_large,
    large_model,
)
from merit.backbones.wavlm import (
    WAVLM_LARGE,
    GatedRelPosAttention,
    WavLM,
    WavLMArch,
    build_wavlm_large,
    relative_position_bucket,
)
from merit.config import BackboneConfig

torch.set_num_threads(min(2, torch.get_num_threads()))

Spec = List[Tuple[Dict[str, str], Tuple[int, ...]]]  # ({convention: key}, shape)


# --------------------------------------------------------------------------------------------------------------------
# Published key names, per convention
# --------------------------------------------------------------------------------------------------------------------

def _conv_shapes(conv_layers: Sequence[Tuple[int, int, int]]) -> List[Tuple[int, int, int]]:
    shapes, n_in = [], 1
    for dim, k, _ in conv_layers:
        shapes.append((dim, n_in, k))
        n_in = dim
    return shapes


def wavlm_spec(arch: WavLMArch) -> Spec:
    """unilm WavLM (= our module's names) vs HuggingFace WavLMModel, for the "layer_norm" extractor.

    unilm: ConvFeatureExtractionModel blocks are Sequential(conv, Dropout, Sequential(TransposeLast, Fp32LayerNorm,
    TransposeLast), GELU) -> conv_layers.N.0 / conv_layers.N.2.1; TransformerEncoder.pos_conv =
    Sequential(weight_norm(Conv1d), SamePad, GELU) -> pos_conv.0.weight_g/weight_v/bias; MultiheadAttention has
    k/v/q/out_proj, grep_linear (Linear(head_dim, 8)), grep_a [1, H, 1, 1], relative_attention_bias (layer 0 only).
    HF: WavLMLayerNormConvLayer.conv/.layer_norm, WavLMFeatureProjection.layer_norm/.projection,
    WavLMPositionalConvEmbedding.conv, WavLMAttention.{k,v,q,out}_proj / gru_rel_pos_linear / gru_rel_pos_const /
    rel_attn_embed, WavLMFeedForward.intermediate_dense / output_dense, masked_spec_embed.
    """
    d, f, h = arch.embed_dim, arch.ffn_dim, arch.num_heads
    c_last = arch.conv_layers[-1][0]
    spec: Spec = []
    for i, shape in enumerate(_conv_shapes(arch.conv_layers)):
        spec.append(({"unilm": f"feature_extractor.conv_layers.{i}.0.weight",
                      "huggingface": f"feature_extractor.conv_layers.{i}.conv.weight"}, shape))
        for p in ("weight", "bias"):
            spec.append(({"unilm": f"feature_extractor.conv_layers.{i}.2.1.{p}",
                          "huggingface": f"feature_extractor.conv_layers.{i}.layer_norm.{p}"}, (shape[0],)))
    for p in ("weight", "bias"):
        spec.append(({"unilm": f"layer_norm.{p}", "huggingface": f"feature_projection.layer_norm.{p}"}, (c_last,)))
    spec.append(({"unilm": "post_extract_proj.weight", "huggingface": "feature_projection.projection.weight"},
                 (d, c_last)))
    spec.append(({"unilm": "post_extract_proj.bias", "huggingface": "feature_projection.projection.bias"}, (d,)))
    spec.append(({"unilm": "mask_emb", "huggingface": "masked_spec_embed"}, (d,)))
    k, g = arch.pos_conv_kernel, arch.pos_conv_groups
    spec.append(({"unilm": "encoder.pos_conv.0.weight_g", "huggingface": "encoder.pos_conv_embed.conv.weight_g"},
                 (1, 1, k)))
    spec.append(({"unilm": "encoder.pos_conv.0.weight_v", "huggingface": "encoder.pos_conv_embed.conv.weight_v"},
                 (d, d // g, k)))
    spec.append(({"unilm": "encoder.pos_conv.0.bias", "huggingface": "encoder.pos_conv_embed.conv.bias"}, (d,)))
    for p in ("weight", "bias"):
        spec.append(({"unilm": f"encoder.layer_norm.{p}", "huggingface": f"encoder.layer_norm.{p}"}, (d,)))
    for n in range(arch.num_layers):
        u, hf = f"encoder.layers.{n}.", f"encoder.layers.{n}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            spec.append(({"unilm": u + f"self_attn.{proj}.weight", "huggingface": hf + f"attention.{proj}.weight"},
                         (d, d)))
            spec.append(({"unilm": u + f"self_attn.{proj}.bias", "huggingface": hf + f"attention.{proj}.bias"}, (d,)))
        spec.append(({"unilm": u + "self_attn.grep_linear.weight",
                      "huggingface": hf + "attention.gru_rel_pos_linear.weight"}, (8, d // h)))
        spec.append(({"unilm": u + "self_attn.grep_linear.bias",
                      "huggingface": hf + "attention.gru_rel_pos_linear.bias"}, (8,)))
        spec.append(({"unilm": u + "self_attn.grep_a", "huggingface": hf + "attention.gru_rel_pos_const"},
                     (1, h, 1, 1)))
        if n == 0:
            spec.append(({"unilm": u + "self_attn.relative_attention_bias.weight",
                          "huggingface": hf + "attention.rel_attn_embed.weight"}, (arch.num_buckets, h)))
        for p in ("weight", "bias"):
            spec.append(({"unilm": u + f"self_attn_layer_norm.{p}", "huggingface": hf + f"layer_norm.{p}"}, (d,)))
            spec.append(({"unilm": u + f"final_layer_norm.{p}", "huggingface": hf + f"final_layer_norm.{p}"}, (d,)))
        spec.append(({"unilm": u + "fc1.weight", "huggingface": hf + "feed_forward.intermediate_dense.weight"}, (f, d)))
        spec.append(({"unilm": u + "fc1.bias", "huggingface": hf + "feed_forward.intermediate_dense.bias"}, (f,)))
        spec.append(({"unilm": u + "fc2.weight", "huggingface": hf + "feed_forward.output_dense.weight"}, (d, f)))
        spec.append(({"unilm": u + "fc2.bias", "huggingface": hf + "feed_forward.output_dense.bias"}, (d,)))
    for names, _ in spec:
        names["ours"] = names["unilm"]
    return spec


def torchaudio_spec(conv_bias: bool, num_layers: int, d: int = 1024, f: int = 4096,
                    conv_layers=STANDARD_CONV_LAYERS, k: int = 128, g: int = 16) -> Spec:
    """fairseq (wav2vec2 Wav2Vec2Model / hubert HubertModel) vs HuggingFace vs torchaudio (ours) names.

    fairseq's ConvFeatureExtractionModel and TransformerEncoder are the modules WavLM was forked from, so the fairseq
    names equal unilm's minus the WavLM-only attention keys. HF: Wav2Vec2LayerNormConvLayer.conv/.layer_norm,
    Wav2Vec2FeatureProjection.layer_norm/.projection, Wav2Vec2PositionalConvEmbedding.conv,
    Wav2Vec2Attention.{q,k,v,out}_proj, Wav2Vec2FeedForward.intermediate_dense/output_dense. torchaudio:
    FeatureExtractor.conv_layers.N.conv/.layer_norm, Encoder.feature_projection, Transformer.pos_conv_embed.conv,
    EncoderLayer.attention/.layer_norm/.feed_forward/.final_layer_norm.
    """
    spec: Spec = []
    for i, shape in enumerate(_conv_shapes(conv_layers)):
        conv_params = [("weight", shape)] + ([("bias", (shape[0],))] if conv_bias else [])
        for p, s in conv_params:
            spec.append(({"fairseq": f"feature_extractor.conv_layers.{i}.0.{p}",
                          "huggingface": f"feature_extractor.conv_layers.{i}.conv.{p}",
                          "ours": f"feature_extractor.conv_layers.{i}.conv.{p}"}, s))
        for p in ("weight", "bias"):
            spec.append(({"fairseq": f"feature_extractor.conv_layers.{i}.2.1.{p}",
                          "huggingface": f"feature_extractor.conv_layers.{i}.layer_norm.{p}",
                          "ours": f"feature_extractor.conv_layers.{i}.layer_norm.{p}"}, (shape[0],)))
    c_last = conv_layers[-1][0]
    for p in ("weight", "bias"):
        spec.append(({"fairseq": f"layer_norm.{p}", "huggingface": f"feature_projection.layer_norm.{p}",
                      "ours": f"encoder.feature_projection.layer_norm.{p}"}, (c_last,)))
    spec.append(({"fairseq": "post_extract_proj.weight", "huggingface": "feature_projection.projection.weight",
                  "ours": "encoder.feature_projection.projection.weight"}, (d, c_last)))
    spec.append(({"fairseq": "post_extract_proj.bias", "huggingface": "feature_projection.projection.bias",
                  "ours": "encoder.feature_projection.projection.bias"}, (d,)))
    for p, s in (("weight_g", (1, 1, k)), ("weight_v", (d, d // g, k)), ("bias", (d,))):
        spec.append(({"fairseq": f"encoder.pos_conv.0.{p}", "huggingface": f"encoder.pos_conv_embed.conv.{p}",
                      "ours": f"encoder.transformer.pos_conv_embed.conv.{p}"}, s))
    for p in ("weight", "bias"):
        spec.append(({"fairseq": f"encoder.layer_norm.{p}", "huggingface": f"encoder.layer_norm.{p}",
                      "ours": f"encoder.transformer.layer_norm.{p}"}, (d,)))
    for n in range(num_layers):
        fs, hf, ta = f"encoder.layers.{n}.", f"encoder.layers.{n}.", f"encoder.transformer.layers.{n}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            for p, s in (("weight", (d, d)), ("bias", (d,))):
                spec.append(({"fairseq": fs + f"self_attn.{proj}.{p}", "huggingface": hf + f"attention.{proj}.{p}",
                              "ours": ta + f"attention.{proj}.{p}"}, s))
        for p in ("weight", "bias"):
            spec.append(({"fairseq": fs + f"self_attn_layer_norm.{p}", "huggingface": hf + f"layer_norm.{p}",
                          "ours": ta + f"layer_norm.{p}"}, (d,)))
            spec.append(({"fairseq": fs + f"final_layer_norm.{p}", "huggingface": hf + f"final_layer_norm.{p}",
                          "ours": ta + f"final_layer_norm.{p}"}, (d,)))
        for p, s1, s2 in (("weight", (f, d), (d, f)), ("bias", (f,), (d,))):
            spec.append(({"fairseq": fs + f"fc1.{p}", "huggingface": hf + f"feed_forward.intermediate_dense.{p}",
                          "ours": ta + f"feed_forward.intermediate_dense.{p}"}, s1))
            spec.append(({"fairseq": fs + f"fc2.{p}", "huggingface": hf + f"feed_forward.output_dense.{p}",
                          "ours": ta + f"feed_forward.output_dense.{p}"}, s2))
    return spec


# Keys real checkpoints carry beside the encoder (pretraining / fine-tuning heads); the loader must skip them.
EXTRA_KEYS = {
    "unilm": {"label_embs_concat": (504, 768), "final_proj.weight": (768, 1024)},
    "fairseq": {"mask_emb": (1024,), "label_embs_concat": (504, 768), "final_proj.weight": (768, 1024),
                "quantizer.vars": (1, 640, 384), "project_q.weight": (768, 768)},
    "huggingface": {"masked_spec_embed": (1024,), "quantizer.codevectors": (1, 640, 384),
                    "project_hid.weight": (768, 1024), "lm_head.weight": (32, 1024)},
}


def scalar_checkpoint(spec: Spec, convention: str, prefix: str = "", extras: bool = True):
    """{source key: float(i) expanded to the key's shape} (a few KB on disk), and {our key: i}."""
    state, expected = {}, {}
    for i, (names, shape) in enumerate(spec):
        state[prefix + names[convention]] = torch.full((1,) * len(shape), float(i + 1)).expand(*shape)
        expected[names["ours"]] = float(i + 1)
    if extras:
        for key, shape in EXTRA_KEYS.get(convention, {}).items():
            if key not in {n[convention] for n, _ in spec}:
                state[prefix + key] = torch.zeros(1).expand(*shape)
    return state, expected


def assert_scalar_values(module: torch.nn.Module, expected: Dict[str, float]) -> None:
    state = module.state_dict()
    assert set(state) == set(expected), (sorted(set(state) ^ set(expected)))[:10]
    wrong = []
    for key, value in expected.items():
        t = state[key]
        if not (float(t.min()) == value == float(t.max())):
            wrong.append((key, value, float(t.min()), float(t.max())))
    assert not wrong, wrong[:10]


def rename(state: Dict[str, torch.Tensor], spec: Spec, convention: str) -> Dict[str, torch.Tensor]:
    """Our module's state dict re-spelled in `convention` (the spec must cover every key)."""
    to_source = {names["ours"]: names[convention] for names, _ in spec}
    assert set(to_source) == set(state), sorted(set(to_source) ^ set(state))[:10]
    return {to_source[k]: v.clone() for k, v in state.items()}


def randomize_(module: torch.nn.Module, seed: int, all_weights: bool = False) -> None:
    """Random values in every tensor, including norms and gates that init to constants (so a mis-mapped LayerNorm or
    grep_a would change the outputs). all_weights also redraws the matrices (after a scalar checkpoint)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.state_dict().items():
            if all_weights:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
            if name.endswith("weight_g") or name.endswith("layer_norm.weight") or name.endswith(".2.1.weight") \
                    or name.endswith("conv_layers.0.2.weight") \
                    or name.endswith("grep_a") or name == "layer_norm.weight":
                p.copy_(1.0 + 0.2 * torch.rand(p.shape, generator=gen))
            elif name.endswith("bias") or name.endswith("mask_emb"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


# Reduced sizes that keep the standard 320x front end (so frame counts are the real ones) but are fast.
SMALL_CONV = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2
SMALL_WAVLM = WavLMArch(conv_layers=tuple(SMALL_CONV), embed_dim=64, num_layers=3, num_heads=4, ffn_dim=96,
                        pos_conv_kernel=16, pos_conv_groups=4)


def small_torchaudio(conv_bias: bool, num_layers: int = 3) -> TorchaudioSSL:
    return TorchaudioSSL(large_model(conv_bias=conv_bias, num_layers=num_layers, embed_dim=64, num_heads=4, ffn_dim=96,
                                     conv_layers=SMALL_CONV, pos_conv_kernel=16, pos_conv_groups=4))


def small_torchaudio_spec(conv_bias: bool, num_layers: int = 3) -> Spec:
    return torchaudio_spec(conv_bias, num_layers, d=64, f=96, conv_layers=SMALL_CONV, k=16, g=4)


def assert_states_equal(a: List[torch.Tensor], b: List[torch.Tensor], atol: float = 0.0) -> None:
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x.shape == y.shape, (i, x.shape, y.shape)
        if atol == 0.0:
            assert torch.equal(x, y), (i, float((x - y).abs().max()))
        else:
            assert torch.allclose(x, y, atol=atol, rtol=0), (i, float((x - y).abs().max()))


# --------------------------------------------------------------------------------------------------------------------
# Full-size architectures: every published key maps, values land in the right parameter, 25 states, 49 frames
# --------------------------------------------------------------------------------------------------------------------

def _frames(n: int) -> int:
    return (n - 400) // 320 + 1


def test_wavlm_large_full_size_checkpoints_unilm_and_huggingface(tmp_path):
    spec = wavlm_spec(WAVLM_LARGE)
    state, expected = scalar_checkpoint(spec, "unilm")
    path = str(tmp_path / "WavLM-Large.pt")
    # unilm's WavLM-Large.pt: {"cfg": WavLMConfig fields, "model": state dict}.
    torch.save({"cfg": dict(WAVLM_LARGE.unilm_cfg(), dropout=0.1), "model": state}, path)
    model = build_wavlm_large(BackboneConfig(kind="wavlm_large", checkpoint_path=path))
    assert_scalar_values(model, expected)
    assert model.normalize_input is True  # the builder's default; this cfg does not say
    assert model.num_hidden_states == 25 and model.hidden_dim == 1024

    # HF WavLMForCTC-style file: "wavlm." prefix, heads beside the encoder, config.json next to it.
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    hf_state, _ = scalar_checkpoint(spec, "huggingface", prefix="wavlm.")
    torch.save(hf_state, str(hf_dir / "pytorch_model.bin"))
    (hf_dir / "config.json").write_text(json.dumps(dict(WAVLM_LARGE.hf_config(), model_type="wavlm")))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    report = model.load_checkpoint(str(hf_dir / "pytorch_model.bin"))
    assert report.ok and report.convention == "huggingface" and report.conventions["huggingface"] == len(spec)
    assert sorted(report.ignored) == sorted("wavlm." + k for k in EXTRA_KEYS["huggingface"] if k != "masked_spec_embed")
    assert_scalar_values(model, expected)

    # Real weights -> real forward: 1 s at 16 kHz gives 49 frames of 1024 dims in each of the 25 states.
    randomize_(model, 0, all_weights=True)
    model.eval()
    with torch.no_grad():
        states = model(torch.randn(1, 16000))
    assert len(states) == 25
    assert all(s.shape == (1, 49, 1024) for s in states)
    assert all(torch.isfinite(s).all() for s in states)


@pytest.mark.parametrize("kind,builder,conv_bias", [("hubert_large", build_hubert_large, False),
                                                    ("wav2vec2_large", build_wav2vec2_large, True)])
def test_torchaudio_large_full_size_checkpoints_fairseq_and_huggingface(tmp_path, kind, builder, conv_bias):
    spec = torchaudio_spec(conv_bias, 24)
    # fairseq pretraining checkpoint: {"cfg": {"model": ...}, "model": state dict with heads}.
    state, expected = scalar_checkpoint(spec, "fairseq")
    path = str(tmp_path / f"{kind}.pt")
    torch.save({"cfg": {"model": {"_name": kind.split("_")[0], "extractor_mode": "layer_norm", "conv_bias": conv_bias,
                                  "encoder_layers": 24, "layer_norm_first": True}}, "model": state}, path)
    backbone = builder(BackboneConfig(kind=kind, checkpoint_path=path))
    assert backbone.num_hidden_states == 25 and backbone.hidden_dim == 1024
    assert backbone.normalize_input is True  # the builder's default; this cfg does not say
    assert_scalar_values(backbone.model, expected)

    # Fine-tuned fairseq (CTC) spelling: everything under w2v_encoder.w2v_model., head at w2v_encoder.proj.
    ft_state, _ = scalar_checkpoint(spec, "fairseq", prefix="w2v_encoder.w2v_model.", extras=False)
    ft_state["w2v_encoder.proj.weight"] = torch.zeros(1).expand(32, 1024)
    torch.save({"model": ft_state}, path)
    with torch.no_grad():
        for p in backbone.parameters():
            p.zero_()
    report = backbone.load_checkpoint(path)
    assert report.ignored == ["w2v_encoder.proj.weight"]
    assert report.convention == "fairseq" and report.conventions["fairseq"] == len(spec)
    assert_scalar_values(backbone.model, expected)

    # HF (Wav2Vec2ForPreTraining / HubertForCTC style: model prefix, heads), pos conv with torch>=2.1 parametrized
    # weight norm spelling. HF configs of HuBERT-Large say conv_bias true, so this file flips the conv bias: the
    # builder must follow the weights (bias present for HuBERT, absent for wav2vec2).
    del backbone
    spec = torchaudio_spec(not conv_bias, 24)
    prefix = "hubert." if kind == "hubert_large" else "wav2vec2."
    hf_state, expected = scalar_checkpoint(spec, "huggingface", prefix=prefix)
    for old, new in (("weight_g", "parametrizations.weight.original0"), ("weight_v", "parametrizations.weight.original1")):
        hf_state[prefix + f"encoder.pos_conv_embed.conv.{new}"] = hf_state.pop(prefix + f"encoder.pos_conv_embed.conv.{old}")
    hf_path = str(tmp_path / "pytorch_model.bin")
    torch.save(hf_state, hf_path)
    backbone = builder(BackboneConfig(kind=kind, checkpoint_path=hf_path))
    assert (backbone.model.feature_extractor.conv_layers[3].conv.bias is not None) == (not conv_bias)
    assert_scalar_values(backbone.model, expected)
    report = backbone.load_checkpoint(hf_path)
    assert report.ok and report.convention == "huggingface" and report.conventions["huggingface"] == len(spec)
    assert sorted(report.ignored) == sorted(prefix + k for k in EXTRA_KEYS["huggingface"])

    randomize_(backbone.model, 1, all_weights=True)
    backbone.eval()
    with torch.no_grad():
        states = backbone(torch.randn(1, 16000))
    assert len(states) == 25 and all(s.shape == (1, 49, 1024) for s in states)


def test_build_backbone_dispatch_reaches_the_large_builders(tmp_path):
    """A1's build_backbone -> ours, with a checkpoint that is missing one key: the error names it."""
    from merit.backbones import build_backbone

    spec = small_torchaudio_spec(False)  # wrong (reduced) sizes for a Large model: every key mismatches
    state, _ = scalar_checkpoint(spec, "fairseq")
    path = str(tmp_path / "small.pt")
    torch.save({"model": state}, path)
    with pytest.raises(CheckpointError, match="shape mismatches"):
        build_backbone(BackboneConfig(kind="hubert_large", checkpoint_path=path))
    for kind in ("wavlm_large", "hubert_large", "wav2vec2_large"):  # before spending seconds building the model
        with pytest.raises(CheckpointError, match="no such file"):
            build_backbone(BackboneConfig(kind=kind, checkpoint_path=str(tmp_path / "absent.pt")))


# --------------------------------------------------------------------------------------------------------------------
# Reduced size: numerically identical outputs after a round trip through each file convention
# --------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("convention", ["unilm", "huggingface"])
def test_wavlm_roundtrip_outputs_identical(tmp_path, convention):
    torch.manual_seed(0)
    source = WavLM(SMALL_WAVLM).eval()
    randomize_(source, 2)
    spec = wavlm_spec(SMALL_WAVLM)
    state = rename(source.state_dict(), spec, convention)
    path = str(tmp_path / ("ckpt.pt" if convention == "unilm" else "model.bin"))
    torch.save({"cfg": SMALL_WAVLM.unilm_cfg(), "model": state} if convention == "unilm" else state, path)

    torch.manual_seed(1)
    target = WavLM(SMALL_WAVLM).eval()
    report = target.load_checkpoint(path)
    assert report.ok and len(report.loaded) == len(spec) and not report.optional_missing
    wave = torch.randn(2, 16000 + 480)
    with torch.no_grad():
        assert_states_equal(source(wave), target(wave))

    # HF only creates masked_spec_embed when masking is configured; without it the encoder still loads whole.
    if convention == "huggingface":
        del state["masked_spec_embed"]
        torch.save(state, path)
        report = WavLM(SMALL_WAVLM).load_checkpoint(path)
        assert report.ok and report.optional_missing == ["mask_emb"]
        del state["encoder.layers.2.final_layer_norm.bias"]
        torch.save(state, path)
        with pytest.raises(CheckpointError, match=r"1 model keys missing from the checkpoint: "
                                                  r"encoder\.layers\.2\.final_layer_norm\.bias"):
            WavLM(SMALL_WAVLM).load_checkpoint(path)


@pytest.mark.parametrize("conv_bias", [False, True])
@pytest.mark.parametrize("convention", ["fairseq", "huggingface", "ours"])
def test_torchaudio_roundtrip_outputs_identical(tmp_path, convention, conv_bias):
    torch.manual_seed(0)
    source = small_torchaudio(conv_bias).eval()
    randomize_(source.model, 3)
    state = rename(source.model.state_dict(), small_torchaudio_spec(conv_bias), convention)
    path = str(tmp_path / "ckpt.pt")
    torch.save({"model": state} if convention == "fairseq" else state, path)
    torch.manual_seed(1)
    target = small_torchaudio(conv_bias).eval()
    report = target.load_checkpoint(path)
    name = "torchaudio" if convention == "ours" else convention
    assert report.ok and report.convention == name and report.conventions[name] == len(state)
    wave = torch.randn(2, 8000)
    with torch.no_grad():
        assert_states_equal(source(wave), target(wave))


def test_loader_reports_every_misfit_precisely(tmp_path):
    spec = small_torchaudio_spec(False)
    model = small_torchaudio(False)
    good = rename(model.model.state_dict(), spec, "fairseq")

    bad = dict(good)
    del bad["encoder.layers.2.fc2.bias"]
    bad["encoder.layers.1.self_attn.rotary.weight"] = torch.zeros(3)  # no rule knows this
    bad["encoder.layers.7.fc1.bias"] = torch.zeros(96)  # a rule matches, but the model has only 3 layers
    bad["post_extract_proj.weight"] = torch.zeros(64, 31)  # wrong shape
    bad["encoder.layers.0.attention.q_proj.weight"] = good["encoder.layers.0.self_attn.q_proj.weight"]  # HF twin
    path = str(tmp_path / "bad.pt")
    torch.save({"model": bad}, path)
    with pytest.raises(CheckpointError) as err:
        model.load_checkpoint(path)
    msg = str(err.value)
    assert "2 source keys match no rule: " in msg
    assert "encoder.layers.1.self_attn.rotary.weight" in msg and "encoder.layers.7.fc1.bias" in msg
    # The missing target: fc2.bias of layer 2 and the projection weight whose shape did not fit.
    assert "2 model keys missing from the checkpoint: " in msg
    assert "encoder.transformer.layers.2.feed_forward.output_dense.bias" in msg
    assert "post_extract_proj.weight -> encoder.feature_projection.projection.weight: (64, 31) vs model (64, 32)" in msg
    assert "encoder.transformer.layers.0.attention.q_proj.weight <- ['encoder.layers.0.self_attn.q_proj.weight', " \
           "'encoder.layers.0.attention.q_proj.weight']" in msg

    # strict=False loads what fits and returns the same accounting.
    report = model.load_checkpoint(path, strict=False)
    assert not report.ok and len(report.unmapped) == 2 and len(report.shape_mismatches) == 1


def test_wavlm_checkpoint_config_is_checked(tmp_path):
    """Shape-invisible differences (max distance, post-LN) must not load silently."""
    source = WavLM(SMALL_WAVLM)
    state = source.state_dict()
    path = str(tmp_path / "ckpt.pt")
    torch.save({"cfg": dict(SMALL_WAVLM.unilm_cfg(), max_distance=1280, layer_norm_first=False), "model": state}, path)
    with pytest.raises(CheckpointError, match=r"layer_norm_first=False \(need True\), max_distance=1280 \(need 800\)"):
        WavLM(SMALL_WAVLM).load_checkpoint(path)

    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    torch.save(rename(state, wavlm_spec(SMALL_WAVLM), "huggingface"), str(hf_dir / "pytorch_model.bin"))
    (hf_dir / "config.json").write_text(json.dumps(dict(SMALL_WAVLM.hf_config(), model_type="wavlm",
                                                        max_bucket_distance=1280)))
    with pytest.raises(CheckpointError, match=r"max_bucket_distance=1280 \(need 800\)"):
        WavLM(SMALL_WAVLM).load_checkpoint(str(hf_dir / "pytorch_model.bin"))


def test_fairseq_config_objects_load_without_fairseq(tmp_path):
    """fairseq pickles omegaconf/fairseq objects beside the weights; they must not need those packages (or run)."""
    mod = types.ModuleType("fake_fairseq_dataclass")

    class FairseqConfig:  # stands in for an omegaconf DictConfig / fairseq dataclass
        def __init__(self, **kw):
            self.__dict__.update(kw)

    FairseqConfig.__module__ = mod.__name__
    FairseqConfig.__qualname__ = "FairseqConfig"
    mod.FairseqConfig = FairseqConfig
    sys.modules[mod.__name__] = mod
    try:
        model = small_torchaudio(True)
        randomize_(model.model, 4)
        state = rename(model.model.state_dict(), small_torchaudio_spec(True), "fairseq")
        import numpy as np

        ckpt = {"cfg": FairseqConfig(model={"_name": "wav2vec2"}), "model": state,
                "extra_state": {"train_iterator": {"epoch": 3}, "rng": np.arange(4)}}
        path, legacy = str(tmp_path / "fs.pt"), str(tmp_path / "fs_legacy.pt")
        torch.save(ckpt, path)
        torch.save(ckpt, legacy, _use_new_zipfile_serialization=False)  # the pre-1.6 format old checkpoints use
    finally:
        del sys.modules[mod.__name__]
    for p in (path, legacy):
        with pytest.raises(Exception):  # the stock safe loader refuses the foreign global
            torch.load(p, weights_only=True)
        raw = ck.read_checkpoint(p)
        assert isinstance(raw["cfg"], ck._Opaque) and "fake_fairseq_dataclass.FairseqConfig" in repr(raw["cfg"])
        target = small_torchaudio(True)
        assert target.load_checkpoint(p).ok
        for key, value in model.model.state_dict().items():
            assert torch.equal(target.model.state_dict()[key], value), key


def _write_safetensors(path: str, tensors: Dict[str, torch.Tensor]) -> None:
    names = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def test_safetensors_checkpoint(tmp_path):
    source = WavLM(SMALL_WAVLM).eval()
    randomize_(source, 5)
    state = rename(source.state_dict(), wavlm_spec(SMALL_WAVLM), "huggingface")
    fc1 = "encoder.layers.1.feed_forward.intermediate_dense.weight"
    state[fc1] = state[fc1].half().float()  # one fp16 tensor: the loader must cast it into the fp32 parameter
    halves = {k: (v.half() if k == fc1 else v) for k, v in state.items()}
    path = str(tmp_path / "model.safetensors")
    _write_safetensors(path, halves)
    read = ck.read_safetensors(path)
    assert read.keys() == halves.keys() and all(torch.equal(read[k], halves[k]) for k in halves)
    target = WavLM(SMALL_WAVLM).eval()
    assert target.load_checkpoint(path).ok
    assert torch.equal(target.encoder.layers[1].fc1.weight, state[fc1])
    assert torch.equal(target.encoder.layers[2].self_attn.grep_a, source.encoder.layers[2].self_attn.grep_a)


# --------------------------------------------------------------------------------------------------------------------
# WavLM computation
# --------------------------------------------------------------------------------------------------------------------

def test_relative_position_bucket_hand_computed():
    # 320 buckets / max distance 800: half = 160 (offset for keys after the query), exact below 80, then
    # 80 + floor(ln(d / 80) / ln(10) * 80) capped at 159.
    cases = {
        0: 0, -1: 1, -5: 5, 5: 165, -79: 79, 79: 239,
        -80: 80,  # ln(1) = 0
        -100: 87,  # ln(1.25) / ln(10) * 80 = 7.75
        400: 160 + 80 + 55,  # ln(5) / ln(10) * 80 = 55.92
        -799: 159,  # 79.96 -> 80 + 79
        -800: 159,  # 80 + 80 capped at 159
        1000: 319,
        -100000: 159,
    }
    rel = torch.tensor(list(cases), dtype=torch.long)
    assert relative_position_bucket(rel, 320, 800).tolist() == list(cases.values())
    # Small table (8 buckets, max 16): half 4, exact below 2, log-spaced 2..15.
    rel = torch.tensor([-3, -2, -1, 0, 1, 2, 3, 4, 8, 16])
    assert relative_position_bucket(rel, 8, 16).tolist() == [2, 2, 1, 0, 5, 6, 6, 6, 7, 7]


def test_gated_relative_attention_hand_computed():
    """2 frames, 1 head of 4 dims, q = k = 0: attention is softmax of the gated bias alone.

    grep_linear = 0 gives gate = sigmoid(0) * (sigmoid(0) * grep_a - 1) + 2 = 0.5 * (0.5 - 1) + 2 = 1.75 (grep_a 1).
    Bias for key-after-query (bucket 5) = ln(3) / 1.75, others 0, so row 0 attends [1/4, 3/4], row 1 [1/2, 1/2].
    """
    arch = WavLMArch(embed_dim=4, num_heads=1, ffn_dim=4, num_buckets=8, max_distance=16)
    attn = GatedRelPosAttention(arch, has_relative_attention_bias=True)
    with torch.no_grad():
        for proj in (attn.q_proj, attn.k_proj):
            proj.weight.zero_()
            proj.bias.zero_()
        for proj in (attn.v_proj, attn.out_proj):
            proj.weight.copy_(torch.eye(4))
            proj.bias.zero_()
        attn.grep_linear.weight.zero_()
        attn.grep_linear.bias.zero_()
        attn.relative_attention_bias.weight.zero_()
        attn.relative_attention_bias.weight[5, 0] = math.log(3.0) / 1.75
    x = torch.tensor([[[1.0, 0, 0, 0], [0, 1.0, 0, 0]]])  # [B=1, T=2, D=4]
    out, bias = attn(x, None)
    assert torch.allclose(out, torch.tensor([[[0.25, 0.75, 0, 0], [0.5, 0.5, 0, 0]]]), atol=1e-6)
    assert torch.allclose(bias, torch.tensor([[[[0.0, math.log(3.0) / 1.75], [0.0, 0.0]]]]))

    # grep_a scales the gate: with grep_a = 3, gate = 0.5 * (1.5 - 1) + 2 = 2.25 -> row 0 weights 1 : 3^(2.25/1.75).
    with torch.no_grad():
        attn.grep_a.fill_(3.0)
    out, _ = attn(x, None)
    w = 3.0 ** (2.25 / 1.75)
    assert torch.allclose(out[0, 0, :2], torch.tensor([1 / (1 + w), w / (1 + w)]), atol=1e-6)


def _bucket_scalar(rel: int, num_buckets: int, max_distance: int) -> int:
    half = num_buckets // 2
    out = half if rel > 0 else 0
    n = abs(rel)
    max_exact = half // 2
    if n < max_exact:
        return out + n
    return out + min(half - 1, max_exact + int(math.log(n / max_exact) / math.log(max_distance / max_exact)
                                                * (half - max_exact)))


def test_gated_attention_matches_loop_reference():
    """Random weights, 3 heads; logits built element by element from the formula in unilm's MultiheadAttention."""
    torch.manual_seed(0)
    arch = WavLMArch(embed_dim=12, num_heads=3, ffn_dim=8, num_buckets=16, max_distance=20)
    attn = GatedRelPosAttention(arch, has_relative_attention_bias=True).eval()
    with torch.no_grad():
        attn.grep_a.copy_(torch.rand(1, 3, 1, 1) + 0.5)
        attn.grep_linear.bias.normal_()
    b, t, h, d = 2, 30, 3, 4
    x = torch.randn(b, t, 12)
    out, _ = attn(x, None)

    with torch.no_grad():
        q = attn.q_proj(x) * d ** -0.5
        k = attn.k_proj(x)
        v = attn.v_proj(x)
        table = attn.relative_attention_bias.weight
        ref = torch.zeros(b, t, 12)
        for bi in range(b):
            for hi in range(h):
                sl = slice(hi * d, (hi + 1) * d)
                for i in range(t):
                    proj = attn.grep_linear(x[bi, i, sl])  # [8]
                    ga = torch.sigmoid(proj[:4].sum())
                    gb = torch.sigmoid(proj[4:].sum())
                    gate = ga * (gb * attn.grep_a[0, hi, 0, 0] - 1.0) + 2.0
                    logits = torch.stack([q[bi, i, sl] @ k[bi, j, sl]
                                          + gate * table[_bucket_scalar(j - i, 16, 20), hi] for j in range(t)])
                    ref[bi, i, sl] = torch.softmax(logits, 0) @ v[bi, :, sl]
        ref = attn.out_proj(ref)
    assert torch.allclose(out, ref, atol=1e-5), float((out - ref).abs().max())


@pytest.mark.parametrize("layer_norm_first,extractor_mode", [(True, "layer_norm"), (False, "default")])
def test_wavlm_without_position_bias_equals_torchaudio_wav2vec2(layer_norm_first, extractor_mode):
    """Zero relative-position table -> WavLM is a plain wav2vec2 encoder. torchaudio's independent implementation, fed
    the same weights through the fairseq key map, must give the same hidden states: this checks our conv front end,
    projection, positional conv, pre-/post-LN layer order and the fairseq names of both key maps at once."""
    torch.manual_seed(0)
    arch = WavLMArch(conv_layers=tuple(SMALL_CONV), embed_dim=64, num_layers=2, num_heads=4, ffn_dim=96,
                     pos_conv_kernel=16, pos_conv_groups=4, layer_norm_first=layer_norm_first,
                     extractor_mode=extractor_mode)
    wavlm = WavLM(arch, state0="pos_conv").eval()
    randomize_(wavlm, 6)
    with torch.no_grad():
        wavlm.encoder.layers[0].self_attn.relative_attention_bias.weight.zero_()
    from torchaudio.models import wav2vec2_model
    ta = wav2vec2_model(
        extractor_mode="layer_norm" if extractor_mode == "layer_norm" else "group_norm",
        extractor_conv_layer_config=SMALL_CONV, extractor_conv_bias=False, encoder_embed_dim=64,
        encoder_projection_dropout=0.0, encoder_pos_conv_kernel=16, encoder_pos_conv_groups=4, encoder_num_layers=2,
        encoder_num_heads=4, encoder_attention_dropout=0.0, encoder_ff_interm_features=96,
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.0, encoder_layer_norm_first=layer_norm_first,
        encoder_layer_drop=0.0, aux_num_out=None)
    wavlm_only = ("grep_linear", "grep_a", "relative_attention_bias")
    state = {k: v for k, v in wavlm.state_dict().items() if not any(w in k for w in wavlm_only)}
    report = ck.load_mapped(ta, state, TORCHAUDIO_SSL_KEYMAP)
    assert report.ignored == ["mask_emb"] and report.conventions["fairseq"] == len(state) - 1
    backbone = TorchaudioSSL(ta, state0="pos_conv").eval()
    wave = torch.randn(2, 6400)
    with torch.no_grad():
        got, want = wavlm(wave), backbone(wave)
    assert_states_equal(got, want, atol=2e-5)


def test_hidden_state_conventions_and_frame_counts():
    torch.manual_seed(0)
    proj, posc = WavLM(SMALL_WAVLM).eval(), WavLM(SMALL_WAVLM, state0="pos_conv").eval()
    posc.load_state_dict(proj.state_dict())
    for n in (400, 719, 720, 16000, 48000):
        wave = torch.randn(2, n)
        with torch.no_grad():
            a, b = proj(wave), posc(wave)
        assert len(a) == len(b) == SMALL_WAVLM.num_layers + 1
        assert all(s.shape == (2, _frames(n), 64) for s in a + b)
        assert_states_equal(a[1:], b[1:])  # layer outputs do not depend on what state 0 reports
        assert not torch.allclose(a[0], b[0])  # projection vs projection + positional conv
    ta = small_torchaudio(False).eval()
    with torch.no_grad():
        states = ta(torch.randn(1, 16000))
    assert len(states) == 4 and all(s.shape == (1, 49, 64) for s in states)
    with pytest.raises(ValueError, match="state0"):
        WavLM(SMALL_WAVLM, state0="cnn")


def test_input_normalisation_and_where_it_comes_from(tmp_path):
    torch.manual_seed(0)
    wave = torch.randn(2, 8000) * torch.tensor([[0.01], [3.0]]) + torch.tensor([[0.2], [-1.0]])
    for make in (lambda n: WavLM(SMALL_WAVLM, normalize_input=n), lambda n: small_torchaudio(False)):
        on, off = make(True).eval(), make(False).eval()
        on.normalize_input, off.normalize_input = True, False
        off.load_state_dict(on.state_dict())
        with torch.no_grad():
            # Same as fairseq's F.layer_norm(wav, wav.shape) applied to each utterance on its own.
            ref = torch.stack([torch.nn.functional.layer_norm(w, w.shape) for w in wave])
            assert_states_equal(on(wave), off(ref), atol=1e-4)
            assert_states_equal(on(wave), on(5.0 * wave - 0.3), atol=1e-4)  # gain/offset invariant

    # The large builders default to normalising (the published weights expect it) ...
    spec = wavlm_spec(SMALL_WAVLM)
    model = WavLM(SMALL_WAVLM, normalize_input=True)
    state = model.state_dict()
    # ... and a checkpoint that says otherwise wins: unilm cfg, fairseq task cfg, HF preprocessor_config.json.
    path = str(tmp_path / "unilm.pt")
    torch.save({"cfg": dict(SMALL_WAVLM.unilm_cfg(), normalize=False), "model": state}, path)
    model.load_checkpoint(path)
    assert model.normalize_input is False
    torch.save({"cfg": dict(SMALL_WAVLM.unilm_cfg(), normalize=True), "model": state}, path)
    model.load_checkpoint(path)
    assert model.normalize_input is True
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    torch.save(rename(state, spec, "huggingface"), str(hf_dir / "pytorch_model.bin"))
    (hf_dir / "preprocessor_config.json").write_text(json.dumps({"do_normalize": False, "sampling_rate": 16000}))
    model.load_checkpoint(str(hf_dir / "pytorch_model.bin"))
    assert model.normalize_input is False

    ta = small_torchaudio(True)
    ta.normalize_input = True
    fs_state = rename(ta.model.state_dict(), small_torchaudio_spec(True), "fairseq")
    torch.save({"cfg": {"task": {"normalize": False}, "model": {}}, "model": fs_state}, path)
    ta.load_checkpoint(path)
    assert ta.normalize_input is False


def test_wavlm_gradients_reach_gates_and_position_table():
    torch.manual_seed(0)
    model = WavLM(SMALL_WAVLM).train()
    states = model(torch.randn(2, 4000))
    sum(s.pow(2).mean() for s in states).backward()
    for n in range(SMALL_WAVLM.num_layers):
        attn = model.encoder.layers[n].self_attn
        assert attn.grep_linear.weight.grad.abs().sum() > 0 and attn.grep_a.grad.abs().sum() > 0
    assert model.encoder.layers[0].self_attn.relative_attention_bias.weight.grad.abs().sum() > 0


# --------------------------------------------------------------------------------------------------------------------
# ONNX export
# --------------------------------------------------------------------------------------------------------------------

def test_wavlm_onnx_export_keeps_position_bias_dynamic(tmp_path):
    onnx = pytest.importorskip("onnx")
    arch = WavLMArch(conv_layers=tuple(SMALL_CONV), embed_dim=64, num_layers=2, num_heads=4, ffn_dim=96,
                     pos_conv_kernel=16, pos_conv_groups=4)
    model = WavLM(arch, normalize_input=True).eval()

    class Stack(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, waveform):
            return torch.stack(self.m(waveform), dim=1)  # [B, L+1, T, D]

    path = str(tmp_path / "wavlm2.onnx")
    wave = torch.randn(2, 16000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(Stack(model), (wave,), path, input_names=["waveform"], output_names=["states"],
                          dynamic_axes={"waveform": {0: "batch", 1: "samples"}, "states": {0: "batch", 2: "frames"}},
                          opset_version=17)
    # Untyped constants (e.g. from clamp's scalar bounds) leave holes in ONNX shape inference; none may appear.
    assert not [str(w.message) for w in caught if "prim::Constant" in str(w.message)]
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    ops = {n.op_type for n in graph.graph.node}
    assert "ATen" not in ops
    # The bucket function is in the graph (Log, Where, Range over the dynamic frame count), not a baked [T, T] table.
    assert {"Log", "Where", "Range", "Gather"} <= ops
    # Nothing sized by the traced length: no [T, T] bias table (T = 49), no 16000-long normalisation constant.
    t = 49
    baked = [list(init.dims) for init in graph.graph.initializer]
    baked += [list(n.attribute[0].t.dims) for n in graph.graph.node if n.op_type == "Constant"]
    assert not [d for d in baked if d[-2:] == [t, t] or 16000 in d]
    out_dims = graph.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param and out_dims[2].dim_param  # batch and frames stay symbolic
