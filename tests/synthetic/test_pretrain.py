from __future__ import annotations

import pandas as pd
import torch

from cardiacclip.jobs.pretrain import pretrain
from cardiacclip.model.backbone import load_backbone
from cardiacclip.runtime import seed_everything
from cardiacclip.synthetic.pretrain import PretrainConfig


def test_pretraining_writes_a_loadable_backbone(synthetic_root, tmp_path):
    config = PretrainConfig(
        data=str(synthetic_root),
        arch="tiny",
        steps=3,
        batch_size=4,
        frames_per_sample=2,
        period=8,
        warmup_steps=1,
        device="cpu",
        num_workers=0,
    )
    seed_everything(config.seed)  # the same initial weights pretraining starts from
    before = load_backbone("tiny").model.state_dict()
    folder = pretrain(config, tmp_path / "toy", progress=False)
    log = pd.read_csv(folder / "pretrain_log.csv")
    assert log["step"].tolist() == [1, 2, 3] and log["loss"].notna().all()
    backbone = load_backbone(str(folder))
    after = backbone.model.state_dict()
    changed = [
        k for k in before if before[k].shape == after[k].shape and not torch.allclose(before[k], after[k].float())
    ]
    assert changed  # weights moved and were stored
    assert "toy" in (folder / "open_clip_config.json").read_text()
