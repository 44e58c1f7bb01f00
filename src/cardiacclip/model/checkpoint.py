"""Self-contained CardiacCLIP checkpoints.

A checkpoint holds the run config, the backbone's architecture (open_clip config, mean/std),
the prompt set and every weight, so `cardiacclip.model.factory.open_model` rebuilds the model with no network and
without the original backbone file. Files contain only tensors and plain data and load
with `torch.load(weights_only=True)`.

Checkpoints made from EchoCLIP carry its weights and so its academic-only licence.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from cardiacclip.about import __version__
from cardiacclip.config import RunConfig
from cardiacclip.model.backbone import Backbone
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.layout import BEST
from cardiacclip.model.prompts import PromptSet

FORMAT = "cardiacclip-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file and the reason."""


def build_model(config: RunConfig, backbone: Backbone, prompts: PromptSet) -> CardiacCLIP:
    """The network a run config describes, on a backbone and a prompt set (untrained heads: see `CardiacCLIP`)."""
    return CardiacCLIP(backbone, config.model, prompts, tile_size=config.data.image_size)


def save_checkpoint(
    path: str | Path,
    model: CardiacCLIP,
    config: RunConfig,
    backbone_description: dict,
    training_state: dict[str, Any] | None = None,
) -> Path:
    """Write a self-contained checkpoint atomically (an interrupted save never leaves a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": __version__,
        "config": config.to_dict(),
        "backbone": backbone_description,
        "prompts": model.prompts.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    if training_state is not None:
        payload["training_state"] = training_state
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The payload of a cardiacclip checkpoint file, loaded with `weights_only=True` (no pickled code runs).

    Every problem (missing, empty, truncated, not a checkpoint, holding arbitrary objects)
    raises `CheckpointError` with one line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file (0 bytes), not a checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():  # a real pickle of objects, e.g. another project's model
            raise CheckpointError(
                f"{path}: holds Python objects besides tensors and plain data; cardiacclip loads "
                "only its own weights-only checkpoints"
            ) from None
        raise CheckpointError(
            f"{path}: not a checkpoint (not a readable PyTorch file); pass a run folder or its checkpoints/{BEST}"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch file (truncated or corrupt: {reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a cardiacclip checkpoint (write one with `cardiacclip train`)")
    return payload
