from __future__ import annotations

import numpy as np
import torch

from cardiacclip.runtime import autocast, cpu_has_native_bf16, resolve_device, resolve_precision, seed_everything


def test_precision_on_a_cpu_follows_its_bf16_support():
    cpu = torch.device("cpu")
    assert resolve_device("cpu") == cpu
    assert resolve_precision("auto", cpu, training=True) == "fp32"  # training stays fp32 on CPUs
    assert resolve_precision("auto", cpu) == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("fp16", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    with autocast(cpu, "bf16"):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast(cpu, "fp32"):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32


def test_seeding_makes_every_generator_repeat():
    draws = []
    for _ in range(2):
        generator = seed_everything(5)
        shuffled = torch.randint(0, 1000, (3,), generator=generator).tolist()
        draws.append((np.random.rand(), torch.rand(1).item(), shuffled))
    assert draws[0] == draws[1]
