"""Where training and evaluation run: the device, mixed precision and data-loader workers (torch 1.13 and 2.x).

    rt = Runtime.create("cuda:0", amp="bf16", workers=8)   # ValueError naming --device / --amp when it cannot be
    model = rt.prepare(model)                                # moved to the device, norm layers amp-safe
    for batch in rt.loader(dataset, seed):                   # worker processes, seeded, in order
        with rt.autocast():
            out = model(rt.to_device(batch[1]))
        loss = compute_losses(model, to_float(out), ...)     # losses in float32, outside autocast

- `--device cpu | cuda | cuda:N` (default cpu). Asking for CUDA where `torch.cuda.is_available()` is false is an error
  that says so, not a silent CPU run.
- `--amp none | bf16 | fp16`: `torch.autocast(device_type=...)`. bf16 runs on the CPU too (torch 1.13's CPU autocast);
  fp16 is refused on the CPU. fp16 on CUDA needs loss scaling: `grad_scaler()` gives a `GradScaler` then, and a
  disabled one (a pass-through) otherwise, so the training loop has one form. torch 1.13's CPU autocast hands
  LayerNorm / GroupNorm a bfloat16 input with float32 weights, which they refuse; `prepare` gives those layers (and
  the SE head's LSTM) a pre-hook that casts their input to their weights' dtype (what CUDA autocast does for the
  norms anyway). The losses are computed in float32 outside autocast (`to_float` of the outputs).
- `--workers N`: batches are made in N `DataLoader` worker processes (0: in the main process). Every example is
  already seeded by its own (seed, step, slot), so what a run sees does not depend on N; the loader has its own
  generator (the global RNG, which drives dropout, is not touched) and `seed_worker` seeds `random` / `numpy` per
  worker from it, so no two workers share a stream even for code that draws from the global generators.
- Checkpoints are always loaded with `map_location="cpu"` and moved afterwards: the model to the device before its
  optimizer is built, and `Optimizer.load_state_dict` moves the state to each parameter's device, so a run saved on
  CUDA resumes on the CPU and the other way round.
"""
from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

AMP_MODES = ("none", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str) -> torch.device:
    """'cpu', 'cuda' or 'cuda:N' -> torch.device; ValueError naming --device when it is unknown or not there."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"--device {name!r}: expected cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name!r}: expected cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: CUDA is not available here (torch.cuda.is_available() is false; "
                             f"torch {torch.__version__}, built for CUDA {torch.version.cuda or 'none'}); "
                             f"use --device cpu")
        count = torch.cuda.device_count()
        index = 0 if device.index is None else device.index
        if index >= count:
            raise ValueError(f"--device {name}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
        device = torch.device("cuda", index)
    return device


def amp_dtype(device: torch.device, amp: str) -> Optional[torch.dtype]:
    """The autocast dtype of --amp on `device` (None for 'none'); ValueError naming --amp when it cannot run there."""
    if amp not in AMP_MODES:
        raise ValueError(f"--amp {amp!r} is not one of {list(AMP_MODES)}")
    if amp == "none":
        return None
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("--amp fp16 needs --device cuda: float16 autocast is not supported on the CPU "
                         "(use --amp bf16 or --amp none there)")
    if amp == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"--amp bf16: {torch.cuda.get_device_name(device)} has no bfloat16 support (use --amp fp16)")
    return _DTYPES[amp]


def seed_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: torch already seeded this worker with the loader's base seed + worker_id; give the
    `random` and `numpy` global generators the same distinct seed."""
    seed = torch.initial_seed() % 2 ** 32
    random.seed(seed)
    np.random.seed(seed)


def _as_is(item: Any) -> Any:
    """collate_fn for datasets whose items are whole batches already."""
    return item


def map_tensors(x: Any, fn) -> Any:
    """`fn` applied to every tensor in `x` (a tensor, or a NamedTuple / tuple / list / dict of them, nested)."""
    if torch.is_tensor(x):
        return fn(x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(map_tensors(v, fn) for v in x))
    if isinstance(x, (tuple, list)):
        return type(x)(map_tensors(v, fn) for v in x)
    if isinstance(x, dict):
        return {k: map_tensors(v, fn) for k, v in x.items()}
    return x


def to_float(x: Any) -> Any:
    """Floating tensors in `x` as float32 (what the losses and metrics take after an autocast forward)."""
    return map_tensors(x, lambda t: t.float() if t.is_floating_point() and t.dtype != torch.float32 else t)


def to_cpu(x: Any) -> Any:
    """Tensors in `x` on the CPU, detached (for metrics, and checkpoints that load anywhere)."""
    return map_tensors(x, lambda t: t.detach().cpu())


def _input_like_weights(module: nn.Module, args):
    x = args[0] if args else None
    weight = getattr(module, "weight", None)
    if weight is None:
        weight = next(module.parameters(), None)  # an LSTM's weight_ih_l0, ...
    if torch.is_tensor(x) and weight is not None and x.is_floating_point() and x.dtype != weight.dtype:
        return (x.to(weight.dtype),) + tuple(args[1:])
    return None


# Layers that autocast may hand a low-precision input while their weights stay float32: the norms on the CPU with
# torch 1.13 (they refuse the mix), and the LSTM (CUDA autocast casts cuDNN's LSTM itself in some versions, not in
# others; with a float32 input it runs either way).
_MIXED = (nn.LayerNorm, nn.GroupNorm, nn.LSTM)
_HOOKED = "_merit_amp_hook"


def amp_safe_norms(model: nn.Module) -> nn.Module:
    """Gives every LayerNorm / GroupNorm / LSTM (once) a pre-hook casting its input to its weights' dtype; a no-op
    without autocast. Hooks are not part of the state dict: checkpoints and exports are unchanged."""
    for m in model.modules():
        if isinstance(m, _MIXED) and not getattr(m, _HOOKED, False):
            m.register_forward_pre_hook(_input_like_weights)
            setattr(m, _HOOKED, True)
    return model


@dataclass
class Runtime:
    device: torch.device
    amp: str = "none"
    workers: int = 0

    @classmethod
    def create(cls, device: str = "cpu", amp: str = "none", workers: int = 0) -> "Runtime":
        dev = resolve_device(device)
        amp_dtype(dev, amp)  # validates
        if workers < 0:
            raise ValueError(f"--workers {workers}: must be >= 0")
        return cls(dev, amp, workers)

    @property
    def dtype(self) -> Optional[torch.dtype]:
        return amp_dtype(self.device, self.amp)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def describe(self) -> str:
        name = torch.cuda.get_device_name(self.device) if self.cuda else "cpu"
        return f"{self.device} ({name}), amp {self.amp}, {self.workers} data workers"

    def autocast(self):
        """torch.autocast on this device with the --amp dtype, or nothing for --amp none."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def grad_scaler(self):
        """A GradScaler for fp16 (loss scaling against underflow); disabled (scale / step / update pass through)
        for bf16 and float32, which need none."""
        enabled = self.amp == "fp16"
        scaler_cls = getattr(torch.amp, "GradScaler", None)  # torch >= 2.3; torch.cuda.amp's is deprecated there
        if scaler_cls is not None:
            return scaler_cls("cuda", enabled=enabled)
        return torch.cuda.amp.GradScaler(enabled=enabled)

    def prepare(self, model: nn.Module) -> nn.Module:
        """The model on this device, its norm layers amp-safe when autocast is on."""
        model = model.to(self.device)
        return amp_safe_norms(model) if self.amp != "none" else model

    def to_device(self, x: Any) -> Any:
        """Tensors in `x` (a tensor or a (named) tuple / list / dict of them) moved to the device."""
        return map_tensors(x, lambda t: t.to(self.device, non_blocking=self.cuda))

    def loader(self, dataset: torch.utils.data.Dataset, seed: int, prefetch: int = 4) -> torch.utils.data.DataLoader:
        """Items of `dataset` (each a whole batch) in order, made by `workers` processes seeded from `seed`."""
        generator = torch.Generator()
        generator.manual_seed(int(seed))
        kwargs = dict(batch_size=None, shuffle=False, num_workers=self.workers, collate_fn=_as_is,
                      worker_init_fn=seed_worker, generator=generator, pin_memory=self.cuda)
        if self.workers > 0:
            kwargs["prefetch_factor"] = prefetch  # torch 2.x refuses it without workers
        return torch.utils.data.DataLoader(dataset, **kwargs)

    def rng_state(self) -> Optional[torch.Tensor]:
        """The CUDA generator's state (dropout on the GPU draws from it), None on the CPU."""
        return torch.cuda.get_rng_state(self.device) if self.cuda else None

    def set_rng_state(self, state: Optional[torch.Tensor]) -> None:
        if self.cuda and state is not None:
            torch.cuda.set_rng_state(state, self.device)


def add_arguments(ap, workers_help: str = "data-loader worker processes (0: load in the main process)") -> None:
    """--device, --amp, --workers on an argparse parser."""
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    ap.add_argument("--amp", default="none", choices=AMP_MODES,
                    help="autocast dtype: none (float32), bf16 (CPU or CUDA), fp16 (CUDA, with loss scaling)")
    ap.add_argument("--workers", type=int, default=0, help=workers_help)


def optimizer_state_devices(opt: torch.optim.Optimizer) -> set:
    """Devices of the optimizer's per-parameter state tensors except the step counters (kept on the CPU)."""
    return {v.device for s in opt.state.values() for k, v in s.items() if torch.is_tensor(v) and k != "step"}


def load(path: str) -> Any:
    """A checkpoint of this package, onto the CPU whatever device wrote it (torch >= 2.6 defaults to
    weights_only=True, which our history and metric fields do not need to satisfy: these are our own files)."""
    return torch.load(path, map_location="cpu", weights_only=False)
