from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from cardiacclip.data.video_io import read_video
from cardiacclip.jobs.pretrain import pretrain
from cardiacclip.model.backbone import load_backbone
from cardiacclip.runtime import seed_everything
from cardiacclip.train.pretrain import PretrainConfig


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


def test_key_frame_views_pair_each_report_with_its_ed_and_es_frames(synthetic_root):
    from cardiacclip.data.clips import ClipSampler
    from cardiacclip.data.filelist import read_filelist, read_volume_tracings
    from cardiacclip.train.pretrain import KeyFramePairs

    table = read_filelist(synthetic_root / "FileList.csv").head(3)
    sampler = ClipSampler(length=2, period=1, image_size=112)
    pairs = KeyFramePairs(synthetic_root, ["a", "b", "c"], table, sampler, jitter=0, progress=False)
    tracings = read_volume_tracings(synthetic_root / "VolumeTracings.csv")
    frames, report = pairs[1]
    assert frames.shape == (2, 3, 112, 112) and report == "b"
    es, ed = list(tracings[table["VideoFile"].iloc[1]])  # listed ES first, ED last
    video = read_video(synthetic_root / "Videos" / table["VideoFile"].iloc[1]).frames
    expected = sampler.to_tensor(np.stack([video[ed], video[es]]))
    assert torch.equal(frames, expected)


def test_key_frame_pretraining_runs(synthetic_root, tmp_path):
    config = PretrainConfig(
        data=str(synthetic_root),
        arch="tiny",
        views="key_frames",
        steps=2,
        batch_size=4,
        warmup_steps=1,
        device="cpu",
        num_workers=0,
    )
    folder = pretrain(config, tmp_path / "toy", progress=False)
    assert pd.read_csv(folder / "pretrain_log.csv")["loss"].notna().all()
    assert "key_frames" in (folder / "pretrain_config.yaml").read_text()


def test_drawn_pairs_are_new_subjects_seeded_by_index():
    from cardiacclip.data.clips import ClipSampler
    from cardiacclip.synthetic.reports import parse_report_ef
    from cardiacclip.train.pretrain import DrawnKeyFramePairs

    sampler = ClipSampler(length=2, period=1, image_size=112)
    pairs = DrawnKeyFramePairs(10, seed=0, style="mixed", sampler=sampler)
    (a, report_a), (b, _), (again, report_again) = pairs[3], pairs[4], pairs[3]
    assert a.shape == (2, 3, 112, 112) and torch.equal(a, again) and report_a == report_again
    assert not torch.equal(a, b)
    assert parse_report_ef(report_a) is not None
    other_seed = DrawnKeyFramePairs(10, seed=1, style="mixed", sampler=sampler)
    assert not torch.equal(other_seed[3][0], a)


def test_drawn_key_frames_show_the_lv_larger_at_end_diastole():
    from cardiacclip.synthetic.echoes import render_key_frames
    from cardiacclip.synthetic.styles import ECHONET

    rng = np.random.default_rng(3)
    darker = 0
    for _ in range(10):
        pair = render_key_frames(rng, ECHONET, jitter=0.0)
        darker += int((pair.ed < 20).sum() > (pair.es < 20).sum())  # the dark cavity is larger at ED
        assert 10 <= pair.ef <= 88 and pair.edv > 0
    assert darker >= 9
