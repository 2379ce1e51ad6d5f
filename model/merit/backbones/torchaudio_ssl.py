"""HuBERT-Large and wav2vec2-Large (LV-60k) built from torchaudio's `wav2vec2_model`, returning every hidden state.

Both are the standard Large layout: 7 conv layers of 512 channels with LayerNorm in every block ("layer_norm"
extractor), projection 512 -> 1024, weight-normed positional conv (kernel 128, 16 groups), 24 pre-LN transformer
layers (1024 dim, 16 heads, FFN 4096). They differ only in the conv bias: wav2vec2 LV-60k has it, HuBERT-Large not
(torchaudio's `wav2vec2_large_lv60k` / `hubert_large` factories and the fairseq configs they cite).

Checkpoints are state dicts read from a local file (no fairseq / transformers needed) in any of three spellings,
mapped onto torchaudio's module names by `TORCHAUDIO_SSL_KEYMAP` (rules written from the correspondence in
torchaudio's `utils/import_fairseq.py` and `utils/import_huggingface.py`, which need the source model objects):

    fairseq                                   HuggingFace                                 torchaudio (ours)
    feature_extractor.conv_layers.N.0.*       feature_extractor.conv_layers.N.conv.*      feature_extractor.conv_layers.N.conv.*
    feature_extractor.conv_layers.N.2.1.*     feature_extractor.conv_layers.N.layer_norm.* ...conv_layers.N.layer_norm.*
    layer_norm.*                              feature_projection.layer_norm.*             encoder.feature_projection.layer_norm.*
    post_extract_proj.*                       feature_projection.projection.*             encoder.feature_projection.projection.*
    encoder.pos_conv.0.{weight_g,weight_v,bias}  encoder.pos_conv_embed.conv.*            encoder.transformer.pos_conv_embed.conv.*
    encoder.layer_norm.*                      encoder.layer_norm.*                        encoder.transformer.layer_norm.*
    encoder.layers.N.self_attn.{q,k,v,out}_proj  encoder.layers.N.attention.*_proj        encoder.transformer.layers.N.attention.*_proj
    encoder.layers.N.self_attn_layer_norm     encoder.layers.N.layer_norm                 encoder.transformer.layers.N.layer_norm
    encoder.layers.N.fc1 / fc2                encoder.layers.N.feed_forward.{intermediate,output}_dense  (same as HF under transformer)
    encoder.layers.N.final_layer_norm         encoder.layers.N.final_layer_norm           encoder.transformer.layers.N.final_layer_norm
"""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Union

from torch import Tensor, nn
from torchaudio.models import Wav2Vec2Model, wav2vec2_model

from merit.backbones.checkpoints import (
    Checkpoint,
    KeyMap,
    LoadReport,
    Rule,
    check_arch_fields,
    checkpoint_arch_fields,
    checkpoint_normalize_flag,
    hf_config_beside,
    load_checkpoint_file,
    normalize_waveform,
    open_checkpoint,
    require_file,
)
from merit.backbones.tiny import run_encoder_layer

STANDARD_CONV_LAYERS = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2


def large_model(conv_bias: bool, num_layers: int = 24, embed_dim: int = 1024, num_heads: int = 16,
                ffn_dim: int = 4096, conv_layers=None, pos_conv_kernel: int = 128,
                pos_conv_groups: int = 16) -> Wav2Vec2Model:
    """torchaudio Wav2Vec2Model in the Large layout (smaller sizes only for tests). Dropouts and layer drop are 0:
    layer drop would change how many hidden states come back, and fine-tuning sets its own regularisation."""
    return wav2vec2_model(
        extractor_mode="layer_norm",
        extractor_conv_layer_config=conv_layers or STANDARD_CONV_LAYERS,
        extractor_conv_bias=conv_bias,
        encoder_embed_dim=embed_dim,
        encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=pos_conv_kernel,
        encoder_pos_conv_groups=pos_conv_groups,
        encoder_num_layers=num_layers,
        encoder_num_heads=num_heads,
        encoder_attention_dropout=0.0,
        encoder_ff_interm_features=ffn_dim,
        encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0,
        encoder_layer_norm_first=True,
        encoder_layer_drop=0.0,
        aux_num_out=None,
    )


class TorchaudioSSL(nn.Module):
    """waveform [B, N] -> num_layers + 1 hidden states [B, T, D], T = (N - 400) // 320 + 1.

    state0 = "projection" (default; the interface of every backbone here): the feature-projection output, before the
    positional conv. state0 = "pos_conv": the input of transformer layer 0 (what fairseq's layer_results[0] and HF's
    hidden_states[0] hold). States 1..L are the raw layer outputs; torchaudio's Transformer applies its final
    LayerNorm after the last layer only in pre-LN mode's forward(), which we do not call (same as the reference
    `layer_results`).

    normalize_input: normalise each waveform to zero mean / unit variance first (fairseq `normalize: True`, HF
    `do_normalize`), which is how HuBERT-Large and wav2vec2-Large LV-60k were pretrained; a checkpoint whose config
    states it sets it on load.
    """

    def __init__(self, model: Wav2Vec2Model, state0: str = "projection", normalize_input: bool = False):
        super().__init__()
        if state0 not in ("projection", "pos_conv"):
            raise ValueError(f"state0={state0!r} is not one of ['projection', 'pos_conv']")
        self.model = model
        self.state0 = state0
        self.normalize_input = normalize_input
        layers = model.encoder.transformer.layers
        self.num_hidden_states = len(layers) + 1
        self.hidden_dim = model.encoder.feature_projection.projection.out_features

    def forward(self, waveform: Tensor) -> List[Tensor]:
        if self.normalize_input:
            waveform = normalize_waveform(waveform)  # [B, N]
        # Wav2Vec2Model.extract_features skips the projection output, so walk the modules (see NOTES.md).
        features, _ = self.model.feature_extractor(waveform, None)  # [B, T, 512]
        x = self.model.encoder.feature_projection(features)  # [B, T, D]
        transformer = self.model.encoder.transformer
        states = [x] if self.state0 == "projection" else []
        # + positional conv (+ LayerNorm only in post-LN mode, where torchaudio's flag is inverted), dropout.
        x = transformer._preprocess(x)
        if self.state0 == "pos_conv":
            states.append(x)
        for layer in transformer.layers:
            x = run_encoder_layer(layer, x)  # [B, T, D]
            states.append(x)
        return states

    def load_checkpoint(self, path: Union[str, Checkpoint], strict: bool = True, expect: dict = None) -> LoadReport:
        """Loads fairseq / HuggingFace / torchaudio weights from `path` (or an opened Checkpoint) into `self.model`."""

        normalize: List[Optional[bool]] = []

        def validate(raw: Any, p: str) -> None:
            normalize.append(checkpoint_normalize_flag(raw, p))
            if expect:
                check_arch_fields(checkpoint_arch_fields(raw), expect.get("fairseq", {}), "this architecture", p)
                hf = hf_config_beside(p)
                if hf:
                    check_arch_fields(hf, expect.get("huggingface", {}), "this architecture", p)

        report = load_checkpoint_file(self.model, path, TORCHAUDIO_SSL_KEYMAP, strict=strict, validate=validate)
        if normalize and normalize[0] is not None:
            self.normalize_input = normalize[0]
        return report


_L = r"encoder\.layers\.(\d+)\."
_P = r"(weight|bias)"
_T = r"encoder.transformer.layers.\1."

TORCHAUDIO_SSL_KEYMAP = KeyMap(
    rules=[
        # fairseq (wav2vec2 Wav2Vec2Model, hubert HubertModel; fine-tuned ones under w2v_encoder.w2v_model.).
        Rule("fairseq", r"feature_extractor\.conv_layers\.(\d+)\.0\." + _P, r"feature_extractor.conv_layers.\1.conv.\2"),
        Rule("fairseq", r"feature_extractor\.conv_layers\.(\d+)\.2\.1\." + _P,
             r"feature_extractor.conv_layers.\1.layer_norm.\2"),
        Rule("fairseq", r"feature_extractor\.conv_layers\.(\d+)\.2\." + _P,  # GroupNorm ("default" mode, layer 0)
             r"feature_extractor.conv_layers.\1.layer_norm.\2"),
        Rule("fairseq", r"layer_norm\." + _P, r"encoder.feature_projection.layer_norm.\1"),
        Rule("fairseq", r"post_extract_proj\." + _P, r"encoder.feature_projection.projection.\1"),
        Rule("fairseq", r"encoder\.pos_conv\.0\.(weight_g|weight_v|bias)", r"encoder.transformer.pos_conv_embed.conv.\1"),
        Rule("fairseq", r"encoder\.pos_conv\.0\.parametrizations\.weight\.original0",
             r"encoder.transformer.pos_conv_embed.conv.weight_g"),
        Rule("fairseq", r"encoder\.pos_conv\.0\.parametrizations\.weight\.original1",
             r"encoder.transformer.pos_conv_embed.conv.weight_v"),
        Rule("fairseq", r"encoder\.layer_norm\." + _P, r"encoder.transformer.layer_norm.\1"),
        Rule("fairseq", _L + r"self_attn\.((?:[qkv]|out)_proj)\." + _P, _T + r"attention.\2.\3"),
        Rule("fairseq", _L + r"self_attn_layer_norm\." + _P, _T + r"layer_norm.\2"),
        Rule("fairseq", _L + r"fc1\." + _P, _T + r"feed_forward.intermediate_dense.\2"),
        Rule("fairseq", _L + r"fc2\." + _P, _T + r"feed_forward.output_dense.\2"),
        Rule("fairseq", _L + r"final_layer_norm\." + _P, _T + r"final_layer_norm.\2"),
        # HuggingFace Wav2Vec2Model / HubertModel (prefixes wav2vec2. / hubert. stripped).
        Rule("huggingface", r"(feature_extractor\.conv_layers\.\d+\.(?:conv|layer_norm)\.(?:weight|bias))", r"\1"),
        Rule("huggingface", r"feature_projection\.(layer_norm|projection)\." + _P, r"encoder.feature_projection.\1.\2"),
        Rule("huggingface", r"encoder\.pos_conv_embed\.conv\.(weight_g|weight_v|bias)",
             r"encoder.transformer.pos_conv_embed.conv.\1"),
        Rule("huggingface", r"encoder\.pos_conv_embed\.conv\.parametrizations\.weight\.original0",
             r"encoder.transformer.pos_conv_embed.conv.weight_g"),
        Rule("huggingface", r"encoder\.pos_conv_embed\.conv\.parametrizations\.weight\.original1",
             r"encoder.transformer.pos_conv_embed.conv.weight_v"),
        Rule("huggingface", r"encoder\.layer_norm\." + _P, r"encoder.transformer.layer_norm.\1"),
        Rule("huggingface", _L + r"attention\.((?:[qkv]|out)_proj)\." + _P, _T + r"attention.\2.\3"),
        Rule("huggingface", _L + r"layer_norm\." + _P, _T + r"layer_norm.\2"),
        Rule("huggingface", _L + r"feed_forward\.(intermediate_dense|output_dense)\." + _P, _T + r"feed_forward.\2.\3"),
        Rule("huggingface", _L + r"final_layer_norm\." + _P, _T + r"final_layer_norm.\2"),
        # torchaudio's own names (e.g. a torchaudio pipeline bundle's state dict, or our own saved backbone).
        Rule("torchaudio", r"(feature_extractor\.conv_layers\.\d+\.(?:conv|layer_norm)\.(?:weight|bias))", r"\1"),
        Rule("torchaudio", r"(encoder\.feature_projection\.(?:layer_norm|projection)\.(?:weight|bias))", r"\1"),
        Rule("torchaudio", r"(encoder\.transformer\.pos_conv_embed\.conv\.(?:weight_g|weight_v|bias))", r"\1"),
        Rule("torchaudio", r"(encoder\.transformer\.layer_norm\.(?:weight|bias))", r"\1"),
        Rule("torchaudio", r"(encoder\.transformer\.layers\.\d+\.(?:attention\.(?:[qkv]|out)_proj|layer_norm|"
                           r"feed_forward\.(?:intermediate|output)_dense|final_layer_norm)\.(?:weight|bias))", r"\1"),
    ],
    ignore=[
        # fairseq pretraining / fine-tuning heads.
        r"(mask_emb|label_embs_concat|final_proj\..*|quantizer\..*|project_q\..*|proj\..*|w2v_encoder\.proj\..*)",
        # HF heads (pretraining, CTC, classification) and torchaudio's CTC head.
        r"(masked_spec_embed|project_hid\..*|lm_head\..*|projector\..*|classifier\..*|layer_weights|aux\..*)",
    ],
    strip_prefixes=["w2v_encoder.w2v_model.", "w2v_model.", "wav2vec2.", "hubert.", "model."],
)


def _arch_expect(conv_bias: bool) -> dict:
    return {
        "fairseq": {"extractor_mode": "layer_norm", "conv_bias": conv_bias, "encoder_layers": 24,
                    "encoder_embed_dim": 1024, "encoder_ffn_embed_dim": 4096, "encoder_attention_heads": 16,
                    "layer_norm_first": True},
        "huggingface": {"feat_extract_norm": "layer", "conv_bias": conv_bias, "num_hidden_layers": 24,
                        "hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16,
                        "do_stable_layer_norm": True},
    }


_CONV_BIAS_KEY = re.compile(r".*conv_layers\.\d+\.(?:0|conv)\.bias")
_CONV_WEIGHT_KEY = re.compile(r".*conv_layers\.\d+\.(?:0|conv)\.weight")


def checkpoint_conv_bias(state: Mapping[str, Any], default: bool) -> bool:
    """Whether the checkpoint's conv front end has biases (default when it has no conv weights at all).

    The published fairseq HuBERT-Large has none (torchaudio's HUBERT_LARGE bundle: extractor_conv_bias False), but
    HuggingFace configs of HuBERT-Large checkpoints say conv_bias true (e.g. facebook/hubert-large-ls960-ft), so an HF
    file may carry conv biases: the architecture follows the weights rather than refusing them.
    """
    if not any(_CONV_WEIGHT_KEY.fullmatch(k) for k in state):
        return default
    return any(_CONV_BIAS_KEY.fullmatch(k) for k in state)


def _build(cfg: Any, kind: str, conv_bias: bool) -> TorchaudioSSL:
    got = getattr(cfg, "kind", kind)
    if got != kind:
        raise ValueError(f"this builder needs backbone.kind={kind!r}, got {got!r}")
    path = getattr(cfg, "checkpoint_path", None)
    ckpt = None
    if path:
        require_file(path)
        ckpt = open_checkpoint(path)  # read first: the conv bias follows the file, and a bad file fails before a build
        conv_bias = checkpoint_conv_bias(ckpt.state, conv_bias)
    # Input normalisation on by default: the published Large weights expect it (a checkpoint's config overrides).
    backbone = TorchaudioSSL(large_model(conv_bias=conv_bias), normalize_input=True)
    if ckpt is not None:
        backbone.load_checkpoint(ckpt, expect=_arch_expect(conv_bias))
    return backbone


def build_hubert_large(cfg: Any) -> TorchaudioSSL:
    """HuBERT-Large (fairseq hubert_large_ll60k.pt / HF facebook/hubert-large-ll60k): no conv bias unless the
    checkpoint has one."""
    return _build(cfg, "hubert_large", conv_bias=False)


def build_wav2vec2_large(cfg: Any) -> TorchaudioSSL:
    """wav2vec2-Large LV-60k (fairseq wav2vec_vox_new.pt / HF facebook/wav2vec2-large-lv60): conv bias (unless the
    checkpoint has none)."""
    return _build(cfg, "wav2vec2_large", conv_bias=True)
