"""Device, precision and seeding: chosen once per run, never hard-coded in model code."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch


def resolve_device(name: str = "auto") -> torch.device:
    """ "auto" picks cuda, then mps, then cpu; anything else is passed to torch.device."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bf16 natively (AVX512-BF16 or AMX-BF16, from /proc/cpuinfo; False elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags.split()))


def resolve_precision(precision: str, device: torch.device, training: bool = False) -> str:
    """ "auto" is bf16 on GPUs that support it (else fp16); on CPUs with native bf16 (AVX512-BF16/AMX) bf16 for
    inference (3x faster, |EF difference| to fp32 under 0.3 points: benchmarks/bench_inference.py) but fp32
    for `training` (bf16 training made the synthetic demo's test MAE 10.15 instead of 8.62); fp32 elsewhere."""
    if precision != "auto":
        if precision in {"bf16", "fp16"} and device.type == "cpu":
            return "bf16" if precision == "bf16" else "fp32"
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and not training and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


@dataclass(frozen=True)
class Placement:
    """Where a model runs and at which numeric precision: a resolved device and "fp32", "bf16" or "fp16"
    (`resolve_precision` turns "auto" into one of them)."""

    device: torch.device = torch.device("cpu")
    precision: str = "fp32"

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context of this precision on this device (none for fp32)."""
        return autocast(self.device, self.precision)


CPU_FP32 = Placement()  # the default where a caller names no device: the CPU at full precision


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; returns a torch generator for data shuffling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    return torch.Generator().manual_seed(seed)
