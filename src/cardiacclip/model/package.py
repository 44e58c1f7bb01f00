"""Shareable model packages: a folder of weights (safetensors, no pickle) and plain-text metadata.

    model.safetensors   every weight of the trained CardiacCLIP
    backbone.json       the open_clip architecture and preprocessing (mean/std) to rebuild it
    config.yaml         the run config
    prompts.yaml        the category prompts and EF intervals
    calibration.json    the split-conformal EF interval (when the run has one)
    README.md           a model card: training data, k, metrics, intended use, licences

`load_package` rebuilds the model with no network and no pickled code; `cc.load`, `predict`,
`evaluate` and `serve` take such a folder wherever they take a checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import yaml

from cardiacclip.about import RESEARCH_NOTICE, __version__
from cardiacclip.config import RunConfig
from cardiacclip.model.backbone import backbone_from_description
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.checkpoint import CheckpointError, build_model, load_model, resolve_checkpoint
from cardiacclip.model.conformal import CALIBRATION_FILE, Calibration
from cardiacclip.model.prompts import load_prompts, write_prompts

WEIGHTS = "model.safetensors"
ECHOCLIP_LICENCE = (
    "The backbone is EchoCLIP (Christensen et al.), whose weights carry an academic-only licence; this "
    "package contains weights derived from them and carries that licence."
)


def is_package(path: str | Path) -> bool:
    return (Path(path) / WEIGHTS).is_file() and (Path(path) / "backbone.json").is_file()


def run_folder(checkpoint: str | Path) -> Path:
    """The run folder of a checkpoint file (runs/k1/checkpoints/best.pt -> runs/k1), or the folder given."""
    path = Path(checkpoint)
    if path.is_dir():
        return path
    return path.parent.parent if path.parent.name == "checkpoints" else path.parent


def find_calibration(model_path: str | Path) -> Calibration | None:
    """The calibration stored with a run folder, checkpoint or package, if any."""
    path = run_folder(model_path) / CALIBRATION_FILE
    return Calibration.load(path) if path.is_file() else None


def load_any(path: str | Path, device: torch.device | str = "cpu") -> tuple[CardiacCLIP, RunConfig, Calibration | None]:
    """A model from a package folder, a run folder or a checkpoint file, with its calibration."""
    if is_package(path):
        model, config = load_package(path, device)
    else:
        model, config, _ = load_model(path, device)
    return model, config, find_calibration(path)


def load_package(folder: str | Path, device: torch.device | str = "cpu") -> tuple[CardiacCLIP, RunConfig]:
    """Rebuild the model of a package folder (weights-only safetensors; nothing pickled is read)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        config = RunConfig.from_dict(yaml.safe_load((folder / "config.yaml").read_text()))
        backbone = backbone_from_description(json.loads((folder / "backbone.json").read_text()))
        model = build_model(config, backbone, load_prompts(str(folder / "prompts.yaml")))
        model.load_state_dict(load_file(str(folder / WEIGHTS)))
    except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise CheckpointError(f"{folder}: not a usable cardiacclip package ({reason})") from None
    return model.to(device).eval(), config


def export_package(source: str | Path, out: str | Path) -> Path:
    """Write the package of a run folder or checkpoint (see the module docstring) to the folder `out`."""
    from safetensors.torch import save_file

    checkpoint = resolve_checkpoint(source)
    model, config, payload = load_model(checkpoint)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.detach().contiguous() for k, v in model.state_dict().items()},
        str(out / WEIGHTS),
        metadata={"format": "cardiacclip-package/1", "version": __version__, "notice": RESEARCH_NOTICE},
    )
    (out / "backbone.json").write_text(json.dumps(payload["backbone"], indent=2))
    config.to_yaml(out / "config.yaml")
    write_prompts(
        model.prompts, out / "prompts.yaml", header=f"Category prompts of this model ({model.prompts.source})."
    )
    calibration = find_calibration(checkpoint)
    if calibration is not None:
        calibration.save(out / CALIBRATION_FILE)
    (out / "README.md").write_text(model_card(run_folder(checkpoint), config, payload, calibration))
    return out


def model_card(run_dir: Path, config: RunConfig, payload: dict[str, Any], calibration: Calibration | None) -> str:
    """A model card in Markdown, from what the run folder holds."""
    backbone = payload["backbone"].get("spec", "")
    lines = ["# CardiacCLIP model", "", f"> **{RESEARCH_NOTICE}**", ""]
    lines += [
        "Few-shot left-ventricular ejection fraction (LVEF) regression from echocardiogram videos "
        "(CardiacCLIP, Du, Guo, Li, MICCAI 2025), trained with the `cardiacclip` package "
        f"(version {payload.get('version', '?')}).",
        "",
        "## Training data",
        "",
    ]
    split = run_dir / "split.csv"
    if split.is_file():
        import pandas as pd

        counts = pd.read_csv(split)["Split"].value_counts().to_dict()
        lines.append(
            f"- videos: {counts.get('TRAIN', 0)} training (k = {config.data.shots} per integer EF value), "
            f"{counts.get('VAL', 0)} validation, {counts.get('TEST', 0)} test"
        )
    lines += [
        f"- data folder at training time: `{config.data.root}`",
        f"- backbone: `{backbone}`",
        f"- clips: {config.data.length} frames every {config.data.period}, {config.data.image_size} px, "
        f"training videos at {config.data.fps:g} frames/s",
        "",
    ]
    lines += ["## Metrics", ""]
    metrics = run_dir / "metrics.csv"
    if metrics.is_file():
        import pandas as pd

        history = pd.read_csv(metrics)
        best = history.loc[history["val_mae"].idxmin()]
        lines.append(
            f"- validation (model selection): MAE {best['val_mae']:.2f}, RMSE {best['val_rmse']:.2f}, "
            f"R² {best['val_r2']:.3f} at epoch {int(best['epoch'])} of {len(history)}"
        )
    for evaluation in sorted(run_dir.glob("**/metrics.json")):
        data = json.loads(evaluation.read_text())
        if "mae" in data and isinstance(data["mae"], dict):
            ci = data["mae"].get("ci95") or [float("nan")] * 2
            lines.append(
                f"- {evaluation.parent.name} ({data.get('split', '?')} split, n={data.get('n')}): MAE "
                f"{data['mae']['value']:.2f} (95% CI {ci[0]:.2f}-{ci[1]:.2f})"
            )
    if calibration is not None:
        lines.append(
            f"- EF interval: ±{calibration.quantile:.2f} points for {100 * calibration.coverage:.0f}% "
            f"nominal coverage (split conformal, {calibration.source})"
        )
    lines += [
        "",
        "## Intended use",
        "",
        "Research on few-shot LVEF estimation. Not a medical device: not for diagnosis, treatment or any "
        "clinical decision. Predictions on data unlike the training data (other machines, views, image "
        "quality, patient populations) can be wrong without warning.",
        "",
        "## Licences",
        "",
        "This package's code is Apache-2.0 (the `cardiacclip` project).",
    ]
    if "echo-clip" in backbone or "echoclip" in backbone.lower():
        lines.append(ECHOCLIP_LICENCE)
    elif backbone in ("synthetic", "tiny"):
        lines.append(
            "The backbone is this project's toy (trained on synthetic echoes, or random); not a clinical model."
        )
    else:
        lines.append(f"Check the licence of the backbone `{backbone}`; weights derived from it may carry it.")
    return "\n".join(lines) + "\n"


def push_to_hub(folder: str | Path, repo_id: str, private: bool = True, token: str | None = None) -> str:
    """Upload a package folder to a Hugging Face Hub model repository (created if needed); returns its URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model")
    return str(url)
