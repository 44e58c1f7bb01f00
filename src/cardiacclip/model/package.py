"""Shareable model packages: a folder of weights (safetensors, no pickle) and plain-text metadata.

The folder's files are named in `cardiacclip.model.layout.PackageFolder`; `cardiacclip.model.factory.open_model`
(and so `cc.load`, `predict`, `evaluate` and `serve`) reads such a folder wherever it reads a checkpoint,
with no network and no pickled code.
"""

from __future__ import annotations

import json
from pathlib import Path

from cardiacclip.about import RESEARCH_NOTICE, __version__
from cardiacclip.config import SMALL_BACKBONES, RunConfig
from cardiacclip.model.conformal import Calibration
from cardiacclip.model.factory import LoadedModel, open_model
from cardiacclip.model.layout import PackageFolder, RunFolder
from cardiacclip.model.prompts import write_prompts

ECHOCLIP_LICENCE = (
    "The backbone is EchoCLIP (Christensen et al.), whose weights carry an academic-only licence; this "
    "package contains weights derived from them and carries that licence."
)


def export_package(source: str | Path, out: str | Path) -> Path:
    """Write the package (`cardiacclip.model.layout.PackageFolder`) of a run folder or checkpoint to the folder
    `out`."""
    from safetensors.torch import save_file

    loaded = open_model(source)
    package = PackageFolder(Path(out))
    package.root.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.detach().contiguous() for k, v in loaded.model.state_dict().items()},
        str(package.weights),
        metadata={"format": "cardiacclip-package/1", "version": __version__, "notice": RESEARCH_NOTICE},
    )
    package.backbone.write_text(json.dumps(loaded.backbone, indent=2))
    loaded.config.to_yaml(package.config)
    prompts = loaded.model.prompts
    write_prompts(prompts, package.prompts, header=f"Category prompts of this model ({prompts.source}).")
    if loaded.calibration is not None:
        loaded.calibration.save(package.calibration)
    if loaded.phase is not None:
        loaded.phase.save(package.phase)
    run = RunFolder.of(loaded.files.path)
    package.card.write_text(model_card(run, loaded))
    return package.root


def model_card(run: RunFolder, loaded: LoadedModel) -> str:
    """A model card in Markdown, from the model and what its run folder holds."""
    backbone = loaded.backbone.get("spec", "")
    lines = ["# CardiacCLIP model", "", f"> **{RESEARCH_NOTICE}**", ""]
    lines += [
        "Few-shot left-ventricular ejection fraction (LVEF) regression from echocardiogram videos "
        "(CardiacCLIP, Du, Guo, Li, MICCAI 2025), trained with the `cardiacclip` package "
        f"(version {loaded.version}).",
        "",
        "## Training data",
        "",
        *_training_data(run, loaded.config, backbone),
        "",
        "## Metrics",
        "",
        *_metrics(run, loaded.calibration),
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
        _backbone_licence(backbone),
    ]
    return "\n".join(lines) + "\n"


def _training_data(run: RunFolder, config: RunConfig, backbone: str) -> list[str]:
    lines = []
    if run.split.is_file():
        import pandas as pd

        counts = pd.read_csv(run.split)["Split"].value_counts().to_dict()
        lines.append(
            f"- videos: {counts.get('TRAIN', 0)} training (k = {config.data.shots} per integer EF value), "
            f"{counts.get('VAL', 0)} validation, {counts.get('TEST', 0)} test"
        )
    return lines + [
        f"- data folder at training time: `{config.data.root}`",
        f"- backbone: `{backbone}`",
        f"- clips: {config.data.length} frames every {config.data.period}, {config.data.image_size} px, "
        f"training videos at {config.data.fps:g} frames/s",
    ]


def _metrics(run: RunFolder, calibration: Calibration | None) -> list[str]:
    lines = []
    if run.metrics.is_file():
        import pandas as pd

        history = pd.read_csv(run.metrics)
        best = history.loc[history["val_mae"].idxmin()]
        lines.append(
            f"- validation (model selection): MAE {best['val_mae']:.2f}, RMSE {best['val_rmse']:.2f}, "
            f"R² {best['val_r2']:.3f} at epoch {int(best['epoch'])} of {len(history)}"
        )
    for evaluation in sorted(run.root.glob("**/metrics.json")):
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
    return lines


def _backbone_licence(backbone: str) -> str:
    if "echo-clip" in backbone or "echoclip" in backbone.lower():
        return ECHOCLIP_LICENCE
    if backbone in SMALL_BACKBONES:
        return "The backbone is this project's toy (trained on synthetic echoes, or random); not a clinical model."
    return f"Check the licence of the backbone `{backbone}`; weights derived from it may carry it."


def push_to_hub(folder: str | Path, repo_id: str, private: bool = True, token: str | None = None) -> str:
    """Upload a package folder to a Hugging Face Hub model repository (created if needed); returns its URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    url = api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model")
    return str(url)
