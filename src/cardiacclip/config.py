"""Run configuration: plain dataclasses that serialize to YAML next to every run.

Defaults are this project's; `configs/reference.yaml` (packaged, `--config reference`)
reproduces the CardiacCLIP reference run, and each deliberate difference is a switch:

| switch                      | this project (default)        | reference code                 |
|-----------------------------|-------------------------------|--------------------------------|
| data.normalize              | clip (the backbone's mean/std)| raw (0-255)                    |
| model.label_bins            | prompt (bins the prompts say) | reference (0-30/31-45/...)     |
| model.head                  | fine (reaches 0-100)          | coarse (anchors, 15..85 only)  |
| data.eval_random_clip       | false (fixed clips)           | true (one random clip)         |
| model.zoom_init             | pretrained (aligned at start) | random (new projection)        |
| model.mfl_init              | identity (starts as mean)     | random                         |
| data.frame_layout           | frames (RGB of one time step) | reference (3 time steps/frame) |
| model.zoom_stitch           | spatial                       | channels                       |
| model.zoom_norm             | layer (per frame, per scale)  | batch (per channel over B*T)   |
| model.mfl_input             | normalized                    | raw                            |
| model.text_attention        | causal                        | bidirectional (no mask)        |
| train.schedule_step         | step                          | epoch                          |
| train.drop_last             | true                          | false                          |
| train.radam_early_steps     | sgd (torch's RAdam)           | skip (no update while rho <= 5)|
| train.precision             | auto (bf16 on GPUs)           | fp16                           |

Every value is checked against its field's type when a config is built, from YAML, from
`--set key=value` overrides (`apply_overrides`) or in code, so a typo or a wrong type is an error
that names the field, never a silent default. Every settings dataclass of the package (pretraining,
benchmark, serve, convert, predict) is a `Validated` dataclass and is checked the same way.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from cardiacclip.choices import ColourMode, CropMethod, Precision
from cardiacclip.resources import packaged_file, packaged_names

SMALL_BACKBONES = ("synthetic", "tiny")  # toy backbones: the synthetic config's sizes apply by default


class ConfigError(ValueError):
    """A config file or override that does not fit the config's fields; the message names the field."""


class Validated:
    """Base of the settings dataclasses: when one is built, every field is checked against its type hint
    (`Literal` choices, numbers, lists, nested dataclasses) and `validate` runs the cross-field checks;
    a bad value is a `ConfigError` naming the field."""

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        name = type(self).__name__
        for f in fields(self):  # type: ignore[arg-type]
            object.__setattr__(self, f.name, _check(hints[f.name], getattr(self, f.name), f"{name}.{f.name}"))
        self.validate()

    def validate(self) -> None:
        """Checks beyond each field's type (ranges, fields that must agree); none by default."""


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's resolved field types, once per class (settings are built often: every `Reading`, every replace)."""
    return get_type_hints(cls)


def _at_least(settings: object, minimum: float, *names: str) -> None:
    for name in names:
        value = getattr(settings, name)
        if value is not None and value < minimum:
            raise ConfigError(f"{type(settings).__name__}.{name} must be at least {minimum}, got {value!r}")


@dataclass
class DataConfig(Validated):
    """Which videos and how they become clips (see `cardiacclip.data.echonet.EchoNetDataset`)."""

    root: str | None = None  # the EchoNet-Dynamic-format folder (FileList.csv, Videos/); --data
    split_file: str | None = None  # FileList-format CSV with a Split column, used as given
    shots: int | None = 1  # k videos per integer EF value; None (or 0): the whole TRAIN split
    val_size: int | None = 600  # validation videos drawn from the VAL split; None: all of them
    split_seed: int = 0  # seed of the k-shot and validation draws
    length: int = 48  # frames per clip
    period: int = 2  # take every period-th frame (at the rate data.fps)
    max_length: int = 250  # cap on frames when a whole video is read
    pad: int | None = 12  # training augmentation: zero-pad by this many pixels, then crop back at a random offset
    image_size: int = 112  # frames are resized to image_size x image_size pixels
    # the frame rate `period` is meant for; every job scales the period to a loop's own rate (ClipSampler.for_video)
    fps: float = 50.0
    normalize: Literal["clip", "raw"] = "clip"  # clip: the backbone's mean/std (OpenAI CLIP for EchoCLIP)
    # frames: each frame the image tower sees is one time step's RGB. reference: the released loader's
    # (3, T, H, W) clip reshaped to frames without moving T, so a "frame" is 3 consecutive time steps of one
    # colour channel (see ClipSampler.to_tensor)
    frame_layout: Literal["frames", "reference"] = "frames"
    # ultrasound region kept (cardiacclip.data.region): auto leaves EchoNet's small square crops as they are
    crop: CropMethod = "auto"
    # tinted B-mode loops (a colour map over the grey scale): read as luminance, or as stored (data/colour.py)
    colour: ColourMode = "luminance"
    val_clips: int = 1  # clips per validation video
    # clips per video in evaluate and predict: N evenly spaced, every start ("all"), or one per heartbeat ("beats")
    test_clips: int | Literal["all", "beats"] = 4
    eval_random_clip: bool = False  # one random clip per video at evaluation (the released code's), not fixed clips
    # leave out listed videos that are missing, unreadable or flagged (listed in the log and the run folder) instead
    # of refusing to start
    skip_unreadable: bool = False
    num_workers: int = 0  # DataLoader processes that decode videos during training

    def validate(self) -> None:
        if self.shots == 0:
            self.shots = None  # `--shots 0`: the whole TRAIN split
        _at_least(self, 1, "shots", "length", "period", "image_size", "val_clips", "max_length")
        _at_least(self, 0, "pad", "num_workers", "val_size")


@dataclass
class ModelConfig(Validated):
    """CardiacCLIP architecture (paper Sec. 2) and its ablation switches."""

    # hf-hub id, weights file or folder, synthetic (the toy) or tiny (random); --backbone
    backbone: str = "hf-hub:mkaichristensen/echo-clip"
    scales: list[int] = field(default_factory=lambda: [1, 2])  # EchoZoom; [1] turns it off
    aggregator: Literal["mfl", "mean"] = "mfl"  # MFL attention over frames, or plain frame averaging
    mfl_hidden: int = 64  # width of MFL's scoring layers
    # context: MFL scores each frame with its differences to its two neighbours on either side (not in the paper)
    mfl_score: Literal["frame", "context"] = "frame"
    head: Literal["fine", "coarse"] = "fine"  # fine: each category places the EF in its interval; coarse: anchors only
    fine_hidden: int = 32  # width of the fine head's MLP
    prompts: str = "lvef_categories"  # a packaged prompt set or a YAML file of category prompts
    # the category a training EF belongs to: the prompts' intervals, or the released floor-EF bins
    label_bins: Literal["prompt", "reference"] = "prompt"
    # EchoZoom's projection starts as the pretrained one at each scale, or random (the released code's)
    zoom_init: Literal["pretrained", "random"] = "pretrained"
    zoom_stitch: Literal["spatial", "channels"] = "spatial"  # channels: the released S2 defect (see EchoZoom)
    zoom_norm: Literal["layer", "batch"] = "layer"  # batch: each channel standardised over the B*T frames
    mfl_input: Literal["normalized", "raw"] = "normalized"  # raw: MFL sees unnormalised projected features
    text_attention: Literal["causal", "bidirectional"] = "causal"  # bidirectional: no causal mask
    mfl_init: Literal["identity", "random"] = "identity"  # identity: MFL starts as frame averaging
    freeze_trunk: bool = False  # keep the image trunk's weights fixed
    freeze_text: bool = False  # keep the text tower's weights fixed
    grad_checkpointing: bool = False  # recompute activations in the backward pass (less memory, more time)

    def validate(self) -> None:
        if Path(self.prompts).is_file():  # a prompt file: its absolute path, so config.yaml finds it from anywhere
            self.prompts = str(Path(self.prompts).resolve())


@dataclass
class LossWeights(Validated):
    """The weights of the training loss terms (paper Sec. 2.3): CE + KL + L1, 1 each; an optional fourth term
    (`key_frames`, not in the paper) asks MFL to look at the end-diastolic and end-systolic frames."""

    ce: float = 1.0  # cross-entropy over the categories
    kl: float = 1.0  # KL between the category-to-video targets and the logits (text to video)
    l1: float = 1.0  # |predicted EF - true EF|
    # cross-entropy of MFL's frame weights against half on the end-diastolic and half on the end-systolic frames a
    # training clip holds: every beat's (Beats.csv) or the traced pair (VolumeTracings.csv, EDFrame/ESFrame); 0: off,
    # the paper's loss
    key_frames: float = 0.0


@dataclass
class TrainConfig(Validated):
    """Optimization (reference: RAdam, lr 5e-5 everywhere, cosine over 100 epochs, batch 2, seed 114513)."""

    epochs: int = 100  # passes over the training split
    batch_size: int = 2  # videos per batch and process
    grad_accum: int = 1  # batches per optimizer step
    lr_trunk: float = 5e-5  # learning rate of the image trunk
    lr_zoom: float = 5e-5  # of EchoZoom's normalisation and projection
    lr_mfl: float = 5e-5  # of MFL
    lr_text: float = 5e-5  # of the text tower
    lr_head: float = 5e-5  # of the fine EF head
    weight_decay: float = 0.0  # RAdam's weight decay
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])  # RAdam's beta1, beta2
    schedule: Literal["cosine", "constant"] = "cosine"  # learning-rate schedule after the warm-up
    schedule_step: Literal["step", "epoch"] = "step"  # advance the schedule per optimizer step or per epoch
    drop_last: bool = True  # drop the last incomplete batch of an epoch (the reference keeps it)
    # RAdam's first 5 steps (rectification undefined): torch's SGD-with-momentum steps, or none (the reference's;
    # cardiacclip.train.radam)
    radam_early_steps: Literal["sgd", "skip"] = "sgd"
    warmup_epochs: float = 0.0  # linear warm-up, in epochs
    loss: LossWeights = field(default_factory=LossWeights)  # the weights of the loss terms
    precision: Precision = "auto"  # auto: bf16 on GPUs that have it, fp32 for training on CPUs
    device: str = "auto"  # auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, ...
    seed: int = 114513  # seed of the weights' initialisation, the batches and the augmentation
    max_train_steps: int | None = None  # stop early (smoke tests); None: run all epochs
    interval_coverage: float = 0.9  # split-conformal EF intervals calibrated on the validation split after training
    interval_method: Literal["absolute", "scaled"] = "absolute"  # scaled: by the spread of the clip predictions

    def validate(self) -> None:
        _at_least(self, 1, "epochs", "batch_size", "grad_accum", "max_train_steps")
        if not 0 < self.interval_coverage < 1:
            raise ConfigError(f"TrainConfig.interval_coverage must be between 0 and 1, got {self.interval_coverage}")
    tensorboard: bool = False  # also log to tensorboard/ in the run folder
    # with model.freeze_trunk: each frame's trunk features computed once and reused by later epochs and
    # validation (needs data.pad 0 and the plain frame layout; see cardiacclip.model.feature_cache)
    trunk_cache: bool = False


@dataclass
class RunConfig(Validated):
    """A run's whole config, written to config.yaml in the run folder: the data, the model and the training."""

    data: DataConfig = field(default_factory=DataConfig)  # which videos, and how they become clips
    model: ModelConfig = field(default_factory=ModelConfig)  # the network and its switches
    train: TrainConfig = field(default_factory=TrainConfig)  # the optimisation

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
        data = dict(data or {})
        if isinstance(data.get("data"), dict) and "skip_missing" in data["data"]:  # the name before 0.3
            section = dict(data["data"])
            section.setdefault("skip_unreadable", section.pop("skip_missing"))
            data["data"] = section
        return _build(cls, data)

    @classmethod
    def load(cls, name_or_path: str | Path) -> RunConfig:
        """A YAML file, or a packaged config name ("reference", "paper", "synthetic")."""
        path = Path(name_or_path)
        if not path.is_file():
            packaged = packaged_file("run_config", str(name_or_path))
            if packaged is None:
                raise ConfigError(
                    f"no config {str(name_or_path)!r}: not a file, and not one of the packaged configs "
                    f"{packaged_names('run_config')}"
                )
            path = packaged
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
        if data is not None and not isinstance(data, dict):
            kind = type(data).__name__
            raise ConfigError(f"{path}: a config is a mapping of sections (data, model, train), not a {kind}")
        return cls.from_dict(data)

    @classmethod
    def default_for(cls, backbone: str | None) -> RunConfig:
        """The config a run gets without --config: the synthetic config's sizes for the toy backbones
        (`synthetic`, `tiny`), the paper's protocol otherwise."""
        config = cls.load("synthetic") if backbone in SMALL_BACKBONES else cls.load("paper")
        if backbone is not None:
            config.model.backbone = backbone
        return config


def apply_overrides(config: RunConfig, overrides: list[str]) -> RunConfig:
    """A new config with dotted `key=value` overrides applied, e.g. ``["data.length=16", "model.scales=[1]"]``.

    Values are parsed as YAML (so `[1, 2]`, `null`, `true`, `1e-4` work) and checked like a config file.
    """
    data = config.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. data.length=16)")
        *parents, leaf = key.strip().split(".")
        node = data
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a config section (sections: {sorted(data)})")
            node = node[part]
        if leaf not in node:
            raise ConfigError(
                f"override {item!r}: no field {leaf!r} in {'.'.join(parents) or 'the config'} (fields: {sorted(node)})"
            )
        try:
            node[leaf] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({exc})") from exc
    return RunConfig.from_dict(data)


def _build(cls, data: dict[str, Any], where: str = ""):
    """Dataclass from nested dicts; unknown keys and wrong types are errors (a typo must not be ignored)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {data!r}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown {where or cls.__name__} field(s): {sorted(unknown)}; known: {sorted(known)}")
    kwargs = {name: _check(hints[name], value, f"{where}.{name}" if where else name) for name, value in data.items()}
    return cls(**kwargs)


def _check(kind: Any, value: Any, where: str) -> Any:
    """`value` as a `kind` (the field's type hint), or a ConfigError naming the field."""
    if dataclasses.is_dataclass(kind):
        if isinstance(value, kind):  # built (and checked) already
            return value
        return _build(kind, value if value is not None else {}, where)
    origin = get_origin(kind)
    if origin is not None and origin in _CHECKS:
        return _CHECKS[origin](kind, value, where)
    if kind in _SCALARS:
        accepts, convert, description = _SCALARS[kind]
        if not accepts(value):
            raise ConfigError(f"{where} must be {description}, got {value!r}")
        return convert(value)
    return value


def _check_literal(kind: Any, value: Any, where: str) -> Any:
    if value not in get_args(kind):
        raise ConfigError(f"{where} must be one of {get_args(kind)}, got {value!r}")
    return value


def _check_list(kind: Any, value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list, got {value!r}")
    (item,) = get_args(kind) or (Any,)
    return [_check(item, v, f"{where}[{i}]") for i, v in enumerate(value)]


def _check_union(kind: Any, value: Any, where: str) -> Any:
    """`value` as the first member of a union type it fits."""
    for member in get_args(kind):
        try:
            return _check(member, value, where)
        except ConfigError:
            continue
    raise ConfigError(f"{where} must be {_describe(kind)}, got {value!r}")


# the generic type hints (`get_origin`) that `_check` hands to a function of their own
_CHECKS = {Literal: _check_literal, Union: _check_union, types.UnionType: _check_union, list: _check_list}


def _is_number(value: Any) -> bool:
    if isinstance(value, str):  # PyYAML reads 1e-4 (no decimal point) as a string
        try:
            float(value)
        except ValueError:
            return False
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# type -> (accepts the value, converts it, what the error message says it must be)
_SCALARS: dict[Any, tuple[Any, Any, str]] = {
    type(None): (lambda v: v is None, lambda v: v, "null"),
    bool: (lambda v: isinstance(v, bool), lambda v: v, "true or false"),
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), lambda v: v, "an integer"),
    float: (_is_number, float, "a number"),
    str: (lambda v: isinstance(v, (str, os.PathLike)), str, "a string"),  # a path given in code becomes its text
}


def _describe(kind: Any) -> str:
    names = []
    for member in get_args(kind):
        if get_origin(member) is Literal:
            names.extend(repr(a) for a in get_args(member))
        else:
            names.append("null" if member is type(None) else getattr(member, "__name__", str(member)))
    return " or ".join(names)
