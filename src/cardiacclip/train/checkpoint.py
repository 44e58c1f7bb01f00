"""Self-contained CardiacCLIP checkpoints.

A checkpoint holds the run config, the backbone's architecture (open_clip config, mean/std),
the prompt set and every weight, so `load_model` rebuilds the model with no network and
without the original backbone file. Files contain only tensors and plain data and load
with `torch.load(weights_only=True)`.

Checkpoints made from EchoCLIP carry its weights and so its academic-only licence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cardiacclip import __version__
from cardiacclip.config import RunConfig
from cardiacclip.model.backbone import Backbone, backbone_from_description
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.prompts import PromptSet

FORMAT = "cardiacclip-checkpoint/1"


def build_model(config: RunConfig, backbone: Backbone, prompts: PromptSet) -> CardiacCLIP:
    return CardiacCLIP(backbone, config.model, prompts, tile_size=config.data.image_size)


def save_checkpoint(path: str | Path, model: CardiacCLIP, config: RunConfig, backbone_description: dict,
                    training_state: dict[str, Any] | None = None) -> Path:
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
    tmp.replace(path)  # an interrupted save never leaves a half-written checkpoint
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a cardiacclip checkpoint")
    return payload


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[CardiacCLIP, RunConfig, dict[str, Any]]:
    """Rebuild a trained model from a checkpoint; returns (model in eval mode, config, raw payload)."""
    payload = read_checkpoint(path)
    config = RunConfig.from_dict(payload["config"])
    backbone = backbone_from_description(payload["backbone"])
    model = build_model(config, backbone, PromptSet.from_dict(payload["prompts"]))
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), config, payload
