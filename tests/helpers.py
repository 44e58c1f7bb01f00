"""Small builders shared by the model tests."""

from __future__ import annotations

from pathlib import Path

import torch

from cardiacclip.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from cardiacclip.data.fewshot import FewShotSplit, write_split_file
from cardiacclip.data.filelist import read_filelist, select_split
from cardiacclip.model.backbone import load_backbone
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.prompts import load_prompts


def small_split_file(root: Path, out: Path, n_train: int = 4, n_val: int = 3) -> Path:
    """A FileList-format split with a few TRAIN and VAL videos and the whole TEST split."""
    table = read_filelist(root / "FileList.csv")
    split = FewShotSplit(sorted(select_split(table, "train")["FileName"])[:n_train],
                         sorted(select_split(table, "val")["FileName"])[:n_val],
                         sorted(select_split(table, "test")["FileName"]))
    return write_split_file(split, table, out)


def tiny_config(root: Path | None = None, split_file: Path | None = None, **model_overrides) -> RunConfig:
    model = ModelConfig(**{"backbone": "tiny", **model_overrides})
    data = DataConfig(root=str(root) if root else None, split_file=str(split_file) if split_file else None,
                      shots=1, val_size=3, length=4, period=8, pad=4, val_clips=1, test_clips=2)
    train = TrainConfig(epochs=2, batch_size=2, lr_trunk=1e-4, lr_zoom=1e-3, lr_mfl=1e-3, lr_text=1e-4, lr_head=1e-3,
                        device="cpu", seed=3)
    return RunConfig(data=data, model=model, train=train)


def tiny_model(config: RunConfig | None = None, seed: int = 0) -> CardiacCLIP:
    config = config or tiny_config()
    torch.manual_seed(seed)
    backbone = load_backbone(config.model.backbone)
    return CardiacCLIP(backbone, config.model, load_prompts(config.model.prompts), tile_size=config.data.image_size)
