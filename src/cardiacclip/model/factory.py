"""One way to open a trained model: a package folder, a run folder or a checkpoint file in, a `LoadedModel` out.

As open_clip's factory turns a name, a hub id or a local path into a model, `resolve` says what a path
holds (the one resolver) and `open_model` rebuilds the network from it (the one builder,
`checkpoint.build_model`), with the calibration stored beside it. `cardiacclip.load` (a `Predictor`)
wraps it; the jobs, the server, hubconf and the benchmark open models through `load`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from cardiacclip.config import ConfigError, RunConfig
from cardiacclip.model.backbone import backbone_from_description
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.checkpoint import CheckpointError, build_model, read_checkpoint
from cardiacclip.model.conformal import Calibration
from cardiacclip.model.layout import BEST, LAST, PackageFolder, RunFolder
from cardiacclip.model.phase import PHASE_FILE, PhaseHead
from cardiacclip.model.prompts import PromptSet, load_prompts


@dataclass(frozen=True)
class ModelFiles:
    """What a path given for a model holds: a package folder or a checkpoint file, and its calibration's place."""

    kind: Literal["package", "checkpoint"]
    path: Path  # the package folder or the checkpoint file
    calibration: Path  # calibration.json beside it (may not exist)

    @property
    def phase(self) -> Path:
        """phase.json, the fitted phase head, beside the calibration (may not exist)."""
        return self.calibration.with_name(PHASE_FILE)


@dataclass
class LoadedModel:
    """A trained model rebuilt from its files (eval mode, on the device asked for)."""

    model: CardiacCLIP
    config: RunConfig
    calibration: Calibration | None
    backbone: dict[str, Any]  # the backbone description (open_clip config, mean/std) it was rebuilt from
    files: ModelFiles
    version: str  # the cardiacclip version that wrote it ("?" when it does not say)
    phase: PhaseHead | None = None  # the phase head fitted after training (`cardiacclip.model.phase`)


def resolve(path: str | Path) -> ModelFiles:
    """The files of a model: a package folder, a run folder (its checkpoints/best.pt, else last.pt) or a
    checkpoint file. Raises `CheckpointError` (one line) when the path holds none of them."""
    path = Path(path)
    if path.is_dir():
        package = PackageFolder(path)
        if package.exists():
            return ModelFiles("package", path, package.calibration)
        run = RunFolder(path)
        for candidate in (run.best, run.last, path / BEST, path / LAST):
            if candidate.is_file():
                return ModelFiles("checkpoint", candidate, RunFolder.of(candidate).calibration)
        raise CheckpointError(
            f"{path}: folder holds no checkpoints/{BEST} or checkpoints/{LAST} and is not an exported package"
        )
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file, run folder or package")
    return ModelFiles("checkpoint", path, RunFolder.of(path).calibration)


def open_model(path: str | Path, device: torch.device | str = "cpu") -> LoadedModel:
    """Rebuild the model that `path` holds (see `resolve`) with no network and no pickled code.

    Raises:
        CheckpointError: a missing, truncated or foreign file, or one from an incompatible version.
    """
    files = resolve(path)
    parts = _package_parts(files.path) if files.kind == "package" else _checkpoint_parts(files.path)
    config, backbone, prompts, weights, version = parts
    try:
        model = build_model(config, backbone_from_description(backbone), prompts)
        model.load_state_dict(weights)
    except (KeyError, ConfigError, RuntimeError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise CheckpointError(f"{files.path}: does not match this version of cardiacclip ({reason})") from None
    calibration = Calibration.load(files.calibration) if files.calibration.is_file() else None
    phase = PhaseHead.load(files.phase) if files.phase.is_file() else None
    return LoadedModel(model.to(device).eval(), config, calibration, backbone, files, version, phase)


Parts = tuple[RunConfig, dict[str, Any], PromptSet, dict[str, torch.Tensor], str]


def _checkpoint_parts(path: Path) -> Parts:
    payload = read_checkpoint(path)
    try:
        config = RunConfig.from_dict(payload["config"])
        prompts = PromptSet.from_dict(payload["prompts"])
        return config, payload["backbone"], prompts, payload["state_dict"], str(payload.get("version", "?"))
    except (KeyError, ConfigError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise CheckpointError(f"{path}: checkpoint does not match this version of cardiacclip ({reason})") from None


def _package_parts(folder: Path) -> Parts:
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    package = PackageFolder(folder)
    try:
        config = RunConfig.from_dict(yaml.safe_load(package.config.read_text()))
        backbone = json.loads(package.backbone.read_text())
        prompts = load_prompts(str(package.prompts))
        with safe_open(str(package.weights), framework="pt") as weights_file:
            version = (weights_file.metadata() or {}).get("version", "?")
        return config, backbone, prompts, load_file(str(package.weights)), version
    except (OSError, KeyError, ValueError, SafetensorError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise CheckpointError(f"{folder}: not a usable cardiacclip package ({reason})") from None
