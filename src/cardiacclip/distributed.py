"""Data-parallel runs under torchrun: which process this is, and the few collective steps the jobs need.

`torchrun --nproc-per-node N -m cardiacclip train ...` starts N processes with RANK, LOCAL_RANK and
WORLD_SIZE in their environment (torchrun also sets them across nodes, e.g. under Slurm). Without
those variables everything here is a no-op for a single process, so the jobs call these functions
unconditionally. Backend: NCCL on CUDA, gloo on CPU.

Tested by tests/jobs/test_train_ddp.py and tests/jobs/predict/test_shards.py (two CPU processes, gloo).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Rank:
    """This process's place in the run: `rank` of `world` processes, `local` rank on its node."""

    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 alone logs, evaluates and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> tuple[Rank, torch.device]:
    """Join the process group when started by torchrun (once per process) and return this process's rank and
    its device (cuda:LOCAL_RANK for CUDA runs)."""
    if not launched_by_torchrun():
        return Rank(), device
    rank = Rank(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "cuda":
        device = torch.device("cuda", rank.local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, device


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def same_file_on_all_ranks(path: Path) -> str:
    """The SHA-256 of `path`, checked equal on every rank (raises RuntimeError naming the ranks that differ)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if not dist.is_initialized():
        return digest
    digests: list[str] = [""] * dist.get_world_size()
    dist.all_gather_object(digests, digest)
    differing = [r for r, d in enumerate(digests) if d != digests[0]]
    if differing:
        raise RuntimeError(f"{path} differs on ranks {differing} from rank 0")
    return digest


def gather_objects(value: object) -> list[object]:
    """Every rank's `value`, in rank order (a one-element list for a single process)."""
    if not dist.is_initialized():
        return [value]
    values: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


def sum_over_ranks(values: list[float]) -> list[float]:
    """Element-wise sums of `values` over all ranks (the values themselves for a single process)."""
    if not dist.is_initialized():
        return values
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces CUDA tensors only
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()
