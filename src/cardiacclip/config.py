"""Run configuration: plain dataclasses that serialize to YAML next to every run.

Defaults are this project's; `configs/reference.yaml` (packaged, `--config reference`)
reproduces the CardiacCLIP reference run, and each deliberate difference is a switch:

| switch                      | this project (default)        | reference code                 |
|-----------------------------|-------------------------------|--------------------------------|
| data.normalize              | clip (CLIP mean/std)          | raw (0-255)                    |
| model.label_bins            | prompt (bins the prompts say) | reference (0-30/31-45/...)     |
| model.head                  | fine (reaches 0-100)          | coarse (anchors, 15..85 only)  |
| data.eval_random_clip       | false (fixed clips)           | true (one random clip)         |
| model.zoom_init             | pretrained (aligned at start) | random (new projection)        |
| model.mfl_init              | identity (starts as mean)     | random                         |
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml


@dataclass
class DataConfig:
    """Which videos and how they become clips (see `cardiacclip.data.echonet.EchoNetDataset`)."""

    root: str | None = None
    split_file: str | None = None  # FileList-format CSV with a Split column, used as given
    shots: int | None = 1  # k videos per integer EF value; None: the whole TRAIN split
    val_size: int | None = 600
    split_seed: int = 0
    length: int = 48
    period: int = 2
    max_length: int = 250
    pad: int | None = 12
    image_size: int = 112
    fps: float = 50.0  # frame rate of the training videos; `predict` adapts the period to other rates
    normalize: Literal["clip", "raw"] = "clip"
    val_clips: int = 1
    test_clips: Union[int, Literal["all"]] = 4
    eval_random_clip: bool = False
    skip_missing: bool = False  # leave out listed videos that are not on disk (with a warning) instead of stopping
    num_workers: int = 0


@dataclass
class ModelConfig:
    """CardiacCLIP architecture (paper Sec. 2) and its ablation switches."""

    backbone: str = "hf-hub:mkaichristensen/echo-clip"
    scales: list[int] = field(default_factory=lambda: [1, 2])  # EchoZoom; [1] turns it off
    aggregator: Literal["mfl", "mean"] = "mfl"
    mfl_hidden: int = 64
    head: Literal["fine", "coarse"] = "fine"
    fine_hidden: int = 32
    prompts: str = "lvef_categories"
    label_bins: Literal["prompt", "reference"] = "prompt"
    zoom_init: Literal["pretrained", "random"] = "pretrained"
    mfl_init: Literal["identity", "random"] = "identity"
    freeze_trunk: bool = False
    freeze_text: bool = False
    grad_checkpointing: bool = False


@dataclass
class LossWeights:
    ce: float = 1.0
    kl: float = 1.0
    l1: float = 1.0


@dataclass
class TrainConfig:
    """Optimization (reference: RAdam, lr 5e-5 everywhere, cosine over 100 epochs, batch 2, seed 114513)."""

    epochs: int = 100
    batch_size: int = 2
    grad_accum: int = 1
    lr_trunk: float = 5e-5
    lr_zoom: float = 5e-5
    lr_mfl: float = 5e-5
    lr_text: float = 5e-5
    lr_head: float = 5e-5
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_epochs: float = 0.0
    loss: LossWeights = field(default_factory=LossWeights)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    device: str = "auto"
    seed: int = 114513
    max_train_steps: int | None = None  # stop early (smoke tests); None: run all epochs
    tensorboard: bool = False


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return _build(cls, data or {})

    @classmethod
    def load(cls, name_or_path: str | Path) -> RunConfig:
        """A YAML file, or a packaged config name ("reference", "synthetic")."""
        path = Path(name_or_path)
        if not path.is_file():
            packaged = resources.files("cardiacclip") / "configs" / f"{name_or_path}.yaml"
            if not packaged.is_file():
                raise FileNotFoundError(f"no config {name_or_path!r} (not a file, not a packaged config)")
            return cls.from_dict(yaml.safe_load(packaged.read_text()))
        return cls.from_dict(yaml.safe_load(path.read_text()))


def _build(cls, data: dict[str, Any]):
    """Dataclass from nested dicts; unknown keys are an error (a typo must not be ignored)."""
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {sorted(unknown)}; known: {sorted(known)}")
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind) and isinstance(value, dict):
            value = _build(kind, value)
        elif get_origin(kind) is Literal and value not in get_args(kind):
            raise ValueError(f"{cls.__name__}.{name} must be one of {get_args(kind)}, got {value!r}")
        kwargs[name] = value
    return cls(**kwargs)
