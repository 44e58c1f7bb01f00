"""The reference-equivalence harness (benchmarks/reference_equivalence.py) cannot rot unnoticed.

Its comparison with the released CardiacCLIP needs the released code, which CI does not have; its own side
does not. Here our own `--config reference` model's stage outputs stand in for the released ones: the
harness records our stages end to end, feeds each of our stages the "released" output of the stage before
(isolated), and builds its table. Every stage must match itself, so a change of the model's API that breaks
the harness (a renamed module, another path through `encode_frames`) fails this test.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cardiacclip.config import RunConfig
from cardiacclip.data.clips import ClipSampler
from cardiacclip.model.backbone import load_backbone
from cardiacclip.model.checkpoint import build_model
from cardiacclip.model.prompts import load_prompts

HARNESS = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_equivalence.py"
FRAMES = 6


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("reference_equivalence", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference_model():
    config = RunConfig.load("reference")
    config.model.backbone = "tiny"
    torch.manual_seed(0)
    return config, build_model(config, load_backbone("tiny"), load_prompts(config.model.prompts)).eval()


def test_the_harness_runs_its_own_side_and_every_stage_matches_itself(harness, reference_model):
    config, project = reference_model
    clip = np.random.default_rng(0).integers(0, 256, (FRAMES, 112, 112, 1), dtype=np.uint8).repeat(3, axis=-1)
    video = ClipSampler.from_config(config.data, project.mean, project.std).to_tensor(clip)[None]
    ours = harness.project_stages(project, video, FRAMES)
    stand_in = {key: value.clone() for key, value in ours.items()}  # our outputs in the released code's place
    stand_in["mfl_in"] = stand_in["proj"].view(1, FRAMES, -1)
    isolated = harness.isolated_stages(project, stand_in, video, FRAMES)
    rows = harness.stage_table(stand_in, ours, isolated, project.image_encoder.feature_dim, tol=1e-4)
    assert len(rows) == len(harness.ROWS) and all(row["e2e"] is not None for row in rows)
    failing = [(row["label"], row["e2e"], row["iso"]) for row in rows if not row["ok"]]
    assert not failing
    judged_alone = {row["label"] for row in rows if row["iso"] is not None}
    assert {"MFL input", "MFL weights", "logits", "EF", "projected frame features"} <= judged_alone


def test_the_table_says_differs_when_a_stage_differs(harness, reference_model):
    config, project = reference_model
    clip = np.random.default_rng(1).integers(0, 256, (FRAMES, 112, 112, 3), dtype=np.uint8)
    video = ClipSampler.from_config(config.data, project.mean, project.std).to_tensor(clip)[None]
    ours = harness.project_stages(project, video, FRAMES)
    other = {key: value.clone() for key, value in ours.items()}
    other["mfl_in"] = other["proj"].view(1, FRAMES, -1)
    other["logits"] = other["logits"] + 0.1  # a released stage that our chain does not reproduce
    isolated = harness.isolated_stages(project, other, video, FRAMES)
    width = project.image_encoder.feature_dim
    rows = {row["label"]: row for row in harness.stage_table(other, ours, isolated, width, tol=1e-4)}
    assert not rows["logits"]["ok"] and rows["MFL weights"]["ok"]


@pytest.mark.parametrize("early", ["skip", "sgd"])
def test_the_training_step_runs_on_our_side(harness, early):
    config = RunConfig.load("reference")
    config.model.backbone, config.train.radam_early_steps = "tiny", early
    torch.manual_seed(0)
    project = build_model(config, load_backbone("tiny"), load_prompts(config.model.prompts))
    clips = np.random.default_rng(2).integers(0, 256, (2, FRAMES, 112, 112, 3), dtype=np.uint8)
    sampler = ClipSampler.from_config(config.data, project.mean, project.std)
    video = torch.stack([sampler.to_tensor(clip) for clip in clips])
    parts = {"image_clip_fea_encoder": project.image_encoder.trunk, "head": project.image_encoder.proj}
    parts |= {"abmil": project.aggregator, "text_encoder": project.text_model.transformer}
    pairs = {name: [(p, p) for p in module.parameters() if p.requires_grad] for name, module in parts.items()}
    before = harness.snapshot(pairs)
    step = harness.project_training_step(project, config, video, torch.tensor([35.5, 62.0]))
    after = harness.snapshot(pairs)
    assert all(torch.isfinite(value) for value in step["loss"].values())
    assert set(harness.GROUPS.values()) <= set(step["lr"]) and step["lr_epoch_2"]["mfl"] < step["lr"]["mfl"] == 5e-5
    groups = harness.GROUPS.items()
    named = {when: {theirs: step[when][ours] for theirs, ours in groups} for when in ("lr", "lr_epoch_2")}
    stand_in = {**step, **named}  # our step standing in for the released one, under the released group names
    rows = harness.step_rows(pairs, before, after, stand_in, step, tol=1e-4)
    assert len(rows) == 4 + 2 * 4 + 3 * 4 and all(row["ok"] for row in rows), [row for row in rows if not row["ok"]]
    moments = harness.first_moments(pairs, step, step)
    assert all(float(m.abs().max()) > 0 for m, _ in moments["abmil"])  # the gradient reached every group
    moved = {n for n in parts if any(not torch.equal(b[0], a[0]) for b, a in zip(before[n], after[n], strict=True))}
    assert moved == (set() if early == "skip" else set(parts))  # the released RAdam's first step moves nothing
