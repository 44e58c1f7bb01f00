"""One factory from a backbone spec to an open_clip model, its tokenizer and its preprocessing.

Accepted specs (`--backbone` on the command line):

- `hf-hub:mkaichristensen/echo-clip` (alias `echoclip`): EchoCLIP, fetched through the Hugging
  Face Hub cache. EchoCLIP = open_clip `convnext_base` (ConvNeXt-B image tower, 12-layer
  512-wide text transformer, embed_dim 512, OpenAI CLIP mean/std). Its weights carry an
  academic-only licence: this project never bundles them.
- a local weights file (`open_clip_pytorch_model.bin`, `.pt`, `.pth` or `.safetensors`): loaded
  into the config of an `open_clip_config.json` beside it, else into `convnext_base`.
- a local folder (or `local-dir:/folder`) holding `open_clip_config.json` and a weights file.
- `synthetic`: the small echo-CLIP this project pretrains on synthetic echoes (a toy for
  demonstrations and tests, not a clinical model), shipped in `cardiacclip/assets`.
- `tiny`: a small config with random weights, for tests.
- an open_clip built-in architecture name (e.g. `convnext_base`): random weights, for benchmarks.

Local files never touch the network; `.bin`/`.pt` files load with `torch.load(weights_only=True)`
(no pickled code runs), and checkpoints saved through DataParallel (`module.` prefix) load.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import open_clip
import torch
from torch import nn

from cardiacclip.data.clips import CLIP_MEAN, CLIP_STD
from cardiacclip.resources import asset_dir, packaged_file

log = logging.getLogger(__name__)

ECHOCLIP_HUB_ID = "hf-hub:mkaichristensen/echo-clip"
ECHOCLIP_ARCHITECTURE = "convnext_base"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
PREFERRED_WEIGHT_NAMES = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "model.safetensors",
    "pytorch_model.bin",
)
COMPACT_ROWS = "@rows"  # see save_backbone_weights


class BackboneError(RuntimeError):
    """A backbone spec that cannot be turned into a model; the message says what to pass instead."""


@dataclass
class Backbone:
    """An open_clip model with what is needed to feed it."""

    model: nn.Module
    tokenizer: Callable[[list[str]], torch.Tensor]
    model_cfg: dict
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    spec: str = ""
    weights: str | None = None  # file the weights came from; None for random weights
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        size = self.model_cfg["vision_cfg"].get("image_size", 224)
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    @property
    def embed_dim(self) -> int:
        return int(self.model_cfg["embed_dim"])

    def describe(self) -> dict[str, Any]:
        """Plain data that rebuilds this architecture (stored in every CardiacCLIP checkpoint)."""
        return {
            "spec": self.spec,
            "weights": self.weights,
            "model_cfg": copy.deepcopy(self.model_cfg),
            "mean": list(self.mean),
            "std": list(self.std),
        }


def build_open_clip(model_cfg: dict) -> nn.Module:
    """Instantiate an open_clip model from its config dict (random weights, nothing downloaded)."""
    cfg = copy.deepcopy(model_cfg)
    cfg.get("vision_cfg", {})["timm_model_pretrained"] = False
    custom_text = cfg.pop("custom_text", False) or "hf_model_name" in cfg.get("text_cfg", {})
    if "hf_model_name" in cfg.get("text_cfg", {}):
        cfg["text_cfg"]["hf_model_pretrained"] = False
    model_class = open_clip.CustomTextCLIP if custom_text else open_clip.CLIP
    return model_class(**cfg)


def make_tokenizer(model_cfg: dict) -> Callable[[list[str]], torch.Tensor]:
    text_cfg = model_cfg.get("text_cfg", {})
    context_length = int(text_cfg.get("context_length", 77))
    if "hf_tokenizer_name" in text_cfg:
        return open_clip.HFTokenizer(text_cfg["hf_tokenizer_name"], context_length=context_length)
    return open_clip.SimpleTokenizer(context_length=context_length)


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors of a weights file (and safetensors metadata), unwrapped and without a DataParallel prefix."""
    path = Path(path)
    state, metadata = _read_safetensors(path) if path.suffix == ".safetensors" else (_read_torch(path), {})
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state:
        raise BackboneError(f"{path}: no state dict found")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return _expand_compact_rows(state), metadata


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata() or {})
    return load_file(str(path), device="cpu"), metadata


def _read_torch(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load's many error types on a foreign file: one line naming the file
        raise BackboneError(f"{path}: cannot be read as a weights-only PyTorch checkpoint ({exc})") from exc


def _expand_compact_rows(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Undo `save_backbone_weights`' compact storage of embedding tables (rows never trained are zero)."""
    out = {}
    for key, value in state.items():
        if key.endswith(COMPACT_ROWS):
            continue
        rows_key = key + COMPACT_ROWS
        if rows_key in state:
            meta = state[rows_key]
            n_rows, rows = int(meta[0]), meta[1:].long()
            full = torch.zeros(n_rows, value.shape[1], dtype=value.dtype)
            full[rows] = value
            value = full
        out[key] = value
    return out


def save_backbone_weights(
    model: nn.Module,
    path: str | Path,
    metadata: dict[str, str] | None = None,
    half: bool = True,
    compact_embeddings: bool = True,
) -> Path:
    """Write open_clip weights as safetensors; optionally fp16 and with only the non-zero rows of
    the token embedding (a small model's vocabulary table dominates its size otherwise)."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    if compact_embeddings and "token_embedding.weight" in state:
        table = state["token_embedding.weight"]
        rows = torch.nonzero(table.abs().sum(dim=1) > 0).flatten()
        state["token_embedding.weight"] = table[rows].contiguous()
        state["token_embedding.weight" + COMPACT_ROWS] = torch.cat([torch.tensor([table.shape[0]]), rows]).long()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=metadata or {})
    return path


def load_weights_into(model: nn.Module, path: str | Path) -> dict[str, str]:
    """Strictly load a weights file into an open_clip model; mismatches are reported by key."""
    state, metadata = read_state_dict(path)
    if "logit_scale" in state and state["logit_scale"].ndim != model.logit_scale.ndim:
        state["logit_scale"] = state["logit_scale"].reshape(model.logit_scale.shape)
    state, mismatched = _as_reference(state, model.state_dict())
    if mismatched:
        raise _mismatch(path, f"shape differs for {len(mismatched)} tensors: {mismatched[:5]}")
    result = model.load_state_dict(state, strict=False)
    missing, unexpected = result.missing_keys, result.unexpected_keys
    if missing or unexpected:
        raise _mismatch(path, f"missing {len(missing)}: {missing[:5]}, unexpected {len(unexpected)}: {unexpected[:5]}")
    return metadata


def _as_reference(
    state: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """`state` in the model's dtypes, and the keys whose shapes differ from the model's."""
    common = [k for k in state if k in reference]
    state = {**state, **{k: state[k].to(reference[k].dtype) for k in common}}
    return state, [k for k in common if state[k].shape != reference[k].shape]


def _mismatch(path: str | Path, what: str) -> BackboneError:
    return BackboneError(
        f"{path}: weights do not match the architecture ({what}); "
        "put the model's open_clip_config.json beside the weights file"
    )


def synthetic_backbone_dir() -> Path:
    return asset_dir("synthetic_echoclip")


def _read_config(path: Path) -> tuple[dict, dict]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BackboneError(f"{path}: not a readable open_clip config ({exc})") from exc
    if "model_cfg" not in data:
        raise BackboneError(f"{path}: no 'model_cfg' entry (expected open_clip's hub config format)")
    return data["model_cfg"], data.get("preprocess_cfg", {})


def _find_weights(folder: Path) -> Path | None:
    for name in PREFERRED_WEIGHT_NAMES:
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES)
    return candidates[0] if candidates else None


def _from_hub(repo_id: str, offline: bool) -> tuple[Path, Path]:
    from huggingface_hub import hf_hub_download

    try:
        config = Path(hf_hub_download(repo_id, "open_clip_config.json", local_files_only=offline))
        try:
            weights = Path(hf_hub_download(repo_id, "open_clip_model.safetensors", local_files_only=offline))
        except Exception:  # no safetensors file in the repository (the hub's error type varies): the .bin
            weights = Path(hf_hub_download(repo_id, "open_clip_pytorch_model.bin", local_files_only=offline))
    except Exception as exc:  # network, credentials, offline cache miss (types vary by hub version): one message
        raise BackboneError(
            f"cannot get hf-hub:{repo_id} from the Hugging Face Hub or its local cache ({type(exc).__name__}). "
            f"On a machine with internet access download the repository's folder "
            f"(open_clip_config.json and open_clip_pytorch_model.bin), copy it here and pass the folder "
            f"(--backbone /path/to/echo-clip) or the weights file (--backbone /path/to/open_clip_pytorch_model.bin)."
        ) from exc
    return config, weights


@dataclass
class _Source:
    """Where a spec's architecture and weights come from."""

    config_path: Path | None = None  # open_clip_config.json (model_cfg + preprocess_cfg)
    model_cfg: dict | None = None  # an architecture given directly
    weights: Path | None = None


def _locate(spec: str, offline: bool) -> _Source:
    """Resolve a backbone spec (see the module docstring) into its config and weights files."""
    if spec.startswith("hf-hub:"):
        config, weights = _from_hub(spec[len("hf-hub:") :], offline)
        return _Source(config_path=config, weights=weights)
    if spec == "synthetic":
        return _locate_synthetic()
    packaged = packaged_file("open_clip_config", spec)
    if packaged is not None:
        return _Source(config_path=packaged)
    path = Path(spec[len("local-dir:") :] if spec.startswith("local-dir:") else spec).expanduser()
    if path.is_dir():
        return _locate_folder(path)
    if path.is_file():
        return _locate_file(path)
    if open_clip.get_model_config(spec) is not None:
        log.warning("backbone %s: open_clip architecture with random weights", spec)
        return _Source(model_cfg=open_clip.get_model_config(spec))
    raise BackboneError(
        f"backbone {spec!r} is not a file, a folder, an hf-hub: id, an open_clip architecture, "
        f"or one of: echoclip, synthetic, tiny"
    )


def _locate_synthetic() -> _Source:
    folder = synthetic_backbone_dir()
    weights = _find_weights(folder) if folder.is_dir() else None
    if weights is None:
        raise BackboneError(
            f"the synthetic backbone is missing from {folder}; rebuild it with scripts/build_synthetic_backbone.sh"
        )
    return _Source(config_path=folder / "open_clip_config.json", weights=weights)


def _locate_file(path: Path) -> _Source:
    """A weights file: its architecture from an open_clip_config.json beside it, else EchoCLIP's."""
    sibling = path.parent / "open_clip_config.json"
    if sibling.is_file():
        return _Source(config_path=sibling, weights=path)
    return _Source(model_cfg=open_clip.get_model_config(ECHOCLIP_ARCHITECTURE), weights=path)


def _locate_folder(path: Path) -> _Source:
    config = path / "open_clip_config.json"
    if not config.is_file():
        raise BackboneError(f"{path}: folder has no open_clip_config.json")
    weights = _find_weights(path)
    if weights is None:
        raise BackboneError(f"{path}: folder has no weights file ({', '.join(WEIGHT_SUFFIXES)})")
    return _Source(config_path=config, weights=weights)


def load_backbone(spec: str, *, load_weights: bool = True, offline: bool | None = None) -> Backbone:
    """Resolve a backbone spec (see the module docstring) into an open_clip model on the CPU."""
    if offline is None:
        offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes"}
    spec = ECHOCLIP_HUB_ID if spec == "echoclip" else spec
    source = _locate(spec, offline)
    model_cfg, preprocess = (
        _read_config(source.config_path) if source.config_path is not None else (source.model_cfg, {})
    )
    model = build_open_clip(model_cfg)
    metadata: dict[str, str] = {}
    weights = source.weights if load_weights else None
    if weights is not None:
        metadata = load_weights_into(model, weights)
        log.info("backbone %s: weights from %s", spec, weights)
    return Backbone(
        model=model,
        tokenizer=make_tokenizer(model_cfg),
        model_cfg=copy.deepcopy(model_cfg),
        mean=tuple(preprocess.get("mean", CLIP_MEAN)),
        std=tuple(preprocess.get("std", CLIP_STD)),
        spec=spec,
        weights=str(weights) if weights is not None else None,
        metadata=metadata,
    )


def backbone_from_description(description: dict) -> Backbone:
    """Rebuild an architecture stored by `Backbone.describe` (random weights; a checkpoint fills them)."""
    model_cfg = description["model_cfg"]
    return Backbone(
        model=build_open_clip(model_cfg),
        tokenizer=make_tokenizer(model_cfg),
        model_cfg=copy.deepcopy(model_cfg),
        mean=tuple(description.get("mean", CLIP_MEAN)),
        std=tuple(description.get("std", CLIP_STD)),
        spec=description.get("spec", ""),
        weights=description.get("weights"),
    )
