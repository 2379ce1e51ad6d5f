"""Loading published SSL checkpoints (fairseq / unilm `.pt`, HuggingFace `.bin` / `.safetensors`) into our modules.

Nothing here downloads: `BackboneConfig.checkpoint_path` names a local file. The flow is
    read_state_dict(path)                       -> {source key: tensor}
    KeyMap.map(source key)                      -> target key | ignored | unmapped
    load_mapped(module, state, keymap)          -> LoadReport; raises CheckpointError unless every key accounts for
                                                   itself (strict: no unmapped source key, no missing target key, no
                                                   shape mismatch, no target key provided twice)

Why a KeyMap of named conventions instead of one rename function per format: the same module is loaded from
fairseq, HuggingFace and torchaudio spellings; a report that says which convention matched (and which keys matched
none) is what a user with a slightly different checkpoint needs to see.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import struct
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

IGNORED = "ignored"
MAPPED = "mapped"
UNMAPPED = "unmapped"


class CheckpointError(RuntimeError):
    """The checkpoint does not fit the architecture; the message lists the offending keys."""


# --------------------------------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------------------------------

class _Opaque:
    """Inert stand-in for a pickled class we do not import (fairseq / omegaconf config objects, enums...).

    fairseq checkpoints pickle their config as omegaconf / fairseq objects next to the weights; loading them with the
    stock unpickler needs fairseq installed, and loading arbitrary globals is unsafe. The weights only need torch's
    rebuild functions, so every other global becomes one of these, which just records what it was built from.
    """

    _qualname = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._items: Dict[Any, Any] = {}
        self._list: List[Any] = []

    def __setstate__(self, state: Any) -> None:
        self._state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # dict subclasses are rebuilt with SETITEMS
        self._items[key] = value

    def append(self, value: Any) -> None:  # list subclasses are rebuilt with APPENDS
        self._list.append(value)

    def extend(self, values: Iterable[Any]) -> None:
        self._list.extend(values)

    def __repr__(self) -> str:
        return f"<opaque {self._qualname}>"


_SAFE_GLOBALS = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch", "Size"),
    ("argparse", "Namespace"),  # old fairseq checkpoints keep their args here; harmless and useful to read
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
}


def _torch_allowed_globals() -> Dict[str, Any]:
    """The globals torch's own weights_only unpickler accepts (rebuild functions, dtypes, storages) in the installed
    version, so tensors rebuild the same way on either path."""
    try:
        from torch import _weights_only_unpickler

        return dict(_weights_only_unpickler._get_allowed_globals())
    except (ImportError, AttributeError):
        return {}


class _TolerantUnpickler(pickle.Unpickler):
    _torch_globals: Optional[Dict[str, Any]] = None

    def find_class(self, module: str, name: str) -> Any:
        if _TolerantUnpickler._torch_globals is None:
            _TolerantUnpickler._torch_globals = _torch_allowed_globals()
        allowed = _TolerantUnpickler._torch_globals.get(f"{module}.{name}")
        if allowed is not None:
            return allowed
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return type(name, (_Opaque,), {"_qualname": f"{module}.{name}"})


# torch.load takes a "pickle module": anything with Unpickler and load.
_tolerant_pickle = types.SimpleNamespace(
    __name__="merit_tolerant_pickle",
    Unpickler=_TolerantUnpickler,
    load=lambda f, **kw: _TolerantUnpickler(f, **kw).load(),
)


def read_checkpoint(path: str) -> Any:
    """The raw object stored in a torch checkpoint, loaded on CPU without executing pickled code."""
    require_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # weights_only refuses any non-tensor global (e.g. fairseq/omegaconf configs): retry with inert stand-ins.
        return _load_tolerant(path)


def _load_tolerant(path: str) -> Any:
    # torch 1.13's torch.load replaces any pickle_module by `pickle` when weights_only is False (fixed in torch 2),
    # so call the loaders it dispatches to directly; they take the pickle module as given.
    ser = torch.serialization
    if not all(hasattr(ser, n) for n in ("_is_zipfile", "_open_zipfile_reader", "_load", "_legacy_load")):
        return torch.load(path, map_location="cpu", pickle_module=_tolerant_pickle)
    with open(path, "rb") as f:
        if ser._is_zipfile(f):
            with ser._open_zipfile_reader(f) as zf:
                return ser._load(zf, "cpu", _tolerant_pickle, encoding="utf-8")
        return ser._legacy_load(f, "cpu", _tolerant_pickle, encoding="utf-8")


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path: str) -> Dict[str, Tensor]:
    """Minimal reader of the safetensors format (HuggingFace's default weight file) without the `safetensors` package.

    Layout: u64 little-endian header size, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}} (offsets
    relative to the end of the header), then the raw little-endian tensor bytes.
    """
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        base = 8 + header_len
        out: Dict[str, Tensor] = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            dtype = _SAFETENSORS_DTYPES.get(info["dtype"])
            if dtype is None:
                raise CheckpointError(f"{path}: tensor {name!r} has unsupported safetensors dtype {info['dtype']}")
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            buf = bytearray(f.read(end - begin))
            shape = tuple(info["shape"])
            if end - begin == 0:
                out[name] = torch.empty(shape, dtype=dtype)
            else:
                out[name] = torch.frombuffer(buf, dtype=dtype).reshape(shape)
    return out


def extract_state_dict(obj: Any, path: str = "<checkpoint>") -> Dict[str, Tensor]:
    """The weights inside a loaded checkpoint object.

    fairseq and unilm `.pt` files keep them under "model" (next to "cfg"/"args"); Lightning-style files under
    "state_dict"; HuggingFace `pytorch_model.bin` and torchaudio bundles are the flat state dict itself.
    """
    if isinstance(obj, Mapping):
        for container in ("model", "state_dict", "model_state_dict"):
            inner = obj.get(container)
            if isinstance(inner, Mapping) and any(isinstance(v, Tensor) for v in inner.values()):
                obj = inner
                break
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, Tensor)}
        if tensors:
            return tensors
    raise CheckpointError(f"{path}: found no tensors (expected a state dict, or a fairseq checkpoint with 'model')")


def read_state_dict(path: str) -> Dict[str, Tensor]:
    if path.endswith(".safetensors"):
        require_file(path)
        return read_safetensors(path)
    return extract_state_dict(read_checkpoint(path), path)


def checkpoint_arch_fields(obj: Any) -> Dict[str, Any]:
    """Architecture fields stored beside the weights, where the format keeps them (empty dict if none).

    unilm WavLM: obj["cfg"] is a plain dict of WavLMConfig fields; fairseq (hydra era): obj["cfg"]["model"];
    fairseq (argparse era): obj["args"] is an argparse.Namespace.
    """
    if not isinstance(obj, Mapping):
        return {}
    cfg = obj.get("cfg")
    if isinstance(cfg, Mapping):
        model_cfg = cfg.get("model")
        if isinstance(model_cfg, Mapping):
            return dict(model_cfg)
        return dict(cfg)
    args = obj.get("args")
    if args is not None and hasattr(args, "__dict__") and not isinstance(args, _Opaque):
        return dict(vars(args))
    return {}


def check_arch_fields(found: Mapping[str, Any], expected: Mapping[str, Any], what: str, path: str) -> None:
    """Fail fast when the checkpoint's own config contradicts the architecture (fields absent from it are skipped).

    Needed because some differences do not change any tensor shape (e.g. pre-LN vs post-LN, relative-position
    max distance), so a strict shape check alone would load such a checkpoint silently into the wrong computation.
    """
    bad = {k: (found[k], v) for k, v in expected.items() if k in found and found[k] != v}
    if bad:
        lines = ", ".join(f"{k}={got!r} (need {want!r})" for k, (got, want) in sorted(bad.items()))
        raise CheckpointError(f"{path}: checkpoint config is not {what}: {lines}")


# --------------------------------------------------------------------------------------------------------------------
# Key mapping
# --------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """`pattern` (full match) -> `replacement` (re.sub template) in the named source convention."""

    convention: str
    pattern: str
    replacement: str


@dataclass
class KeyMap:
    """Ordered rename rules over several source conventions, plus keys known to be outside the encoder."""

    rules: Sequence[Rule]
    # Full-match patterns of source keys that exist in published checkpoints but are not part of this encoder
    # (pretraining heads, quantizers, CTC heads). They are reported, never an error.
    ignore: Sequence[str] = ()
    # Leading module names some formats add (HF `Wav2Vec2ForCTC` saves `wav2vec2.<...>`; fine-tuned fairseq saves
    # `w2v_encoder.w2v_model.<...>`). Stripped before matching; the longest matching prefix wins.
    strip_prefixes: Sequence[str] = ()
    # Target keys a checkpoint may lack without error because forward() never reads them (e.g. WavLM's mask_emb,
    # which HF only creates when its masking probabilities are > 0). Left at their initial values.
    optional_targets: Sequence[str] = ()

    def __post_init__(self) -> None:
        self._compiled = [(r, re.compile(r.pattern)) for r in self.rules]
        self._ignore = [re.compile(p) for p in self.ignore]

    def strip(self, key: str) -> str:
        for prefix in sorted(self.strip_prefixes, key=len, reverse=True):
            if key.startswith(prefix):
                return key[len(prefix):]
        return key

    def map(self, key: str) -> Tuple[str, Optional[str], Tuple[str, ...]]:
        """(status, target key, conventions); status is MAPPED, IGNORED or UNMAPPED.

        Every rule is tried, so a key spelled the same in several conventions (fairseq and HF both say
        `encoder.layer_norm.weight`) counts for each of them; the report can then tell which convention explains the
        whole file. Rules of different conventions that match one key must agree on its target.
        """
        bare = self.strip(key)
        target: Optional[str] = None
        conventions: List[str] = []
        for rule, rx in self._compiled:
            m = rx.fullmatch(bare)
            if not m or rule.convention in conventions:
                continue
            mapped = m.expand(rule.replacement)
            if target is None:
                target = mapped
            elif mapped != target:
                raise ValueError(f"key map rules disagree on {key!r}: {target!r} vs {mapped!r} ({rule.convention})")
            conventions.append(rule.convention)
        if target is not None:
            return MAPPED, target, tuple(conventions)
        if any(rx.fullmatch(bare) for rx in self._ignore) or any(rx.fullmatch(key) for rx in self._ignore):
            return IGNORED, None, ()
        return UNMAPPED, None, ()


@dataclass
class LoadReport:
    source: str
    loaded: List[Tuple[str, str]] = field(default_factory=list)  # (source key, target key)
    conventions: Dict[str, int] = field(default_factory=dict)  # convention -> number of loaded keys it explains
    ignored: List[str] = field(default_factory=list)
    unmapped: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    optional_missing: List[str] = field(default_factory=list)  # absent but unused by forward(): not an error
    duplicates: Dict[str, List[str]] = field(default_factory=dict)  # target key -> source keys that all map to it
    shape_mismatches: List[Tuple[str, str, Tuple[int, ...], Tuple[int, ...]]] = field(default_factory=list)

    @property
    def convention(self) -> Optional[str]:
        """The first convention that explains every loaded key (None for an empty or mixed file)."""
        for name, count in self.conventions.items():
            if self.loaded and count == len(self.loaded):
                return name
        return None

    @property
    def ok(self) -> bool:
        return not (self.unmapped or self.missing or self.duplicates or self.shape_mismatches)

    def summary(self, limit: int = 20) -> str:
        def show(items: Sequence[Any]) -> str:
            items = list(items)
            head = ", ".join(str(i) for i in items[:limit])
            return head + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")

        parts = [f"{self.source}: {len(self.loaded)} tensors mapped via {dict(self.conventions)}"]
        if self.ignored:
            parts.append(f"{len(self.ignored)} ignored (not part of the encoder): {show(self.ignored)}")
        if self.optional_missing:
            parts.append(f"absent but unused: {show(self.optional_missing)}")
        if self.unmapped:
            parts.append(f"{len(self.unmapped)} source keys match no rule: {show(self.unmapped)}")
        if self.missing:
            parts.append(f"{len(self.missing)} model keys missing from the checkpoint: {show(self.missing)}")
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} model keys given more than once: "
                         f"{show(f'{t} <- {s}' for t, s in self.duplicates.items())}")
        if self.shape_mismatches:
            parts.append(f"{len(self.shape_mismatches)} shape mismatches: "
                         f"{show(f'{s} -> {t}: {a} vs model {b}' for s, t, a, b in self.shape_mismatches)}")
        return "; ".join(parts)


def map_state_dict(
    state: Mapping[str, Tensor],
    keymap: KeyMap,
    target_shapes: Mapping[str, Tuple[int, ...]],
    source: str = "<state dict>",
) -> Tuple[Dict[str, Tensor], LoadReport]:
    """Renames `state` into the target's key space and accounts for every key on both sides."""
    report = LoadReport(source=source)
    mapped: Dict[str, Tensor] = {}
    origin: Dict[str, str] = {}
    for key, value in state.items():
        status, target, conventions = keymap.map(key)
        if status == IGNORED:
            report.ignored.append(key)
            continue
        if status == UNMAPPED or target not in target_shapes:
            # A rule that produces a name the model does not have (e.g. layer 30 of a 24-layer model) is as much a
            # misfit as no rule at all: report the source key.
            report.unmapped.append(key)
            continue
        if target in mapped:
            report.duplicates.setdefault(target, [origin[target]]).append(key)
            continue
        want = tuple(target_shapes[target])
        if tuple(value.shape) != want:
            report.shape_mismatches.append((key, target, tuple(value.shape), want))
            continue
        mapped[target] = value
        origin[target] = key
        report.loaded.append((key, target))
        for convention in conventions:
            report.conventions[convention] = report.conventions.get(convention, 0) + 1
    absent = [k for k in target_shapes if k not in mapped and k not in report.duplicates]
    report.missing = [k for k in absent if k not in keymap.optional_targets]
    report.optional_missing = [k for k in absent if k in keymap.optional_targets]
    return mapped, report


def load_mapped(
    module: nn.Module,
    state: Mapping[str, Tensor],
    keymap: KeyMap,
    source: str = "<state dict>",
    strict: bool = True,
) -> LoadReport:
    """Loads `state` into `module` through `keymap`; with strict=True any misfit raises CheckpointError."""
    target = module.state_dict()
    shapes = {k: tuple(v.shape) for k, v in target.items()}
    mapped, report = map_state_dict(state, keymap, shapes, source)
    if strict and not report.ok:
        raise CheckpointError(report.summary())
    with torch.no_grad():
        # strict=False when the caller asked for a partial load, or when only optional keys are absent; the report
        # says what was left out (and strict mode has already refused anything else).
        module.load_state_dict(mapped, strict=strict and not report.optional_missing)
    return report


@dataclass
class Checkpoint:
    """A checkpoint file read once: the raw object (None for safetensors) and its tensors."""

    path: str
    raw: Any
    state: Dict[str, Tensor]


def open_checkpoint(path: str) -> Checkpoint:
    if path.endswith(".safetensors"):
        return Checkpoint(path, None, read_state_dict(path))
    raw = read_checkpoint(path)
    return Checkpoint(path, raw, extract_state_dict(raw, path))


def load_checkpoint_file(
    module: nn.Module,
    checkpoint: "str | Checkpoint",
    keymap: KeyMap,
    strict: bool = True,
    validate: Optional[Callable[[Any, str], None]] = None,
) -> LoadReport:
    """Reads a path (see `read_state_dict`) or takes an opened Checkpoint, lets `validate(raw_object, path)` check the
    stored config, then loads through `keymap`."""
    ckpt = open_checkpoint(checkpoint) if isinstance(checkpoint, str) else checkpoint
    if validate is not None:
        validate(ckpt.raw, ckpt.path)
    return load_mapped(module, ckpt.state, keymap, source=ckpt.path, strict=strict)


def normalize_waveform(waveform: Tensor, eps: float = 1e-5) -> Tensor:
    """Per-utterance zero mean / unit variance over the samples, [B, N] -> [B, N].

    The published Large checkpoints (WavLM-Large, HuBERT-Large, wav2vec2-Large LV-60k) were pretrained on inputs
    normalised this way (fairseq/unilm `normalize: True`, i.e. F.layer_norm(wav, wav.shape) per utterance; HF
    `do_normalize`). Written out rather than F.layer_norm because torch 1.13 exports an affine-less layer_norm with a
    constant scale of the traced length, which would pin the ONNX graph to one window size.
    """
    mean = waveform.mean(dim=-1, keepdim=True)
    centered = waveform - mean
    var = (centered * centered).mean(dim=-1, keepdim=True)
    return centered / torch.sqrt(var + eps)


def checkpoint_normalize_flag(raw: Any, path: str) -> Optional[bool]:
    """Whether the checkpoint's own config says its inputs were normalised (None when it does not say).

    unilm WavLM: cfg["normalize"]; fairseq (hydra): cfg["task"]["normalize"]; fairseq (argparse): args.normalize;
    HuggingFace: "do_normalize" in preprocessor_config.json beside the weights.
    """
    if isinstance(raw, Mapping):
        cfg = raw.get("cfg")
        if isinstance(cfg, Mapping):
            task = cfg.get("task")
            if isinstance(task, Mapping) and isinstance(task.get("normalize"), bool):
                return task["normalize"]
            if isinstance(cfg.get("normalize"), bool):
                return cfg["normalize"]
        args = raw.get("args")
        if args is not None and not isinstance(args, _Opaque) and isinstance(getattr(args, "normalize", None), bool):
            return args.normalize
    pre = os.path.join(os.path.dirname(os.path.abspath(path)), "preprocessor_config.json")
    if os.path.isfile(pre):
        with open(pre) as f:
            try:
                value = json.load(f).get("do_normalize")
            except json.JSONDecodeError as e:
                raise CheckpointError(f"{pre}: not valid JSON ({e})") from e
        if isinstance(value, bool):
            return value
    return None


def require_file(path: str) -> None:
    """Fail before building a 300M-parameter model when its weights file is not there."""
    if not os.path.isfile(path):
        raise CheckpointError(f"backbone.checkpoint_path={path!r}: no such file (nothing is downloaded; give a local path)")


def hf_config_beside(path: str) -> Dict[str, Any]:
    """HuggingFace keeps the architecture in config.json next to the weight file; {} if there is none."""
    cfg_path = os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")
    if not os.path.isfile(cfg_path):
        return {}
    with open(cfg_path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise CheckpointError(f"{cfg_path}: not valid JSON ({e})") from e
