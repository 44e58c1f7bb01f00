#!/usr/bin/env python3
"""Does `--config reference` compute what the released CardiacCLIP computes? Stage by stage.

Builds, from ONE seeded random open_clip `convnext_base` (EchoCLIP's architecture; its weights are
not needed):
  * the released model (a user's checkout of github xmed-lab/CardiacCLIP, plus bfshi's
    scaling_on_scales for its S2 wrapper), imported from those folders with small shims
    (`.cuda()` as a no-op, stand-ins for imports it never uses, open_clip's factory returning
    the seeded model);
  * this project's model through its public functions: RunConfig.load("reference"),
    save_backbone_weights -> load_backbone(file) -> build_model, with the released prompt
    sentences imported from the checkout by `import_released_prompts` (never shipped).
Trunk, text tower and logit scale are therefore bit-identical. The released model's new layers are
copied into ours:
  head[7] Linear(2048, 512, no bias) -> image_encoder.proj.weight with its columns de-interleaved:
      ours[:, :1024] = released[:, 0::2] (scale 1), ours[:, 1024:] = released[:, 1::2] (scale 2)
      (the released reshape(N, 2048, 3, 3) of its (N, 1024, 18) S2 output puts scale-1 channel k at
      2k and scale-2 channel k at 2k+1; this project concatenates the scales' channels instead);
  abmil.attention.{0,2,4} -> aggregator.score.{0,2,4}; abmil.feature_aggregation.0 -> aggregator.out;
  layernorm2d: constant gamma 1 / beta 0 (not parameters) -> zoom_norm "batch" has no weights;
  last_project: unused by the released forward.
Both see the same uint8 video: the released model as its loader yields it, (1, 3, T, H, W) raw
0-255 floats; ours through ClipSampler with the reference config (raw values, reference layout).

Text tower: the released TextEncoder permutes to (L, N, D) and calls the transformer without a
mask. Under the sequence-first open_clip of its time that is bidirectional attention over the
tokens of each prompt (`model.text_attention: bidirectional`); under open_clip 3 (batch-first) the
same permute makes attention run across the five prompts, an accident of the newer library. The
comparison runs the released text path as under a sequence-first open_clip (its permutes removed,
which is what they meant there) and prints the open_clip-3 reading as an extra row.

Columns: "e2e" compares our own chain, from our own input, with the released stage; "iso" feeds
our stage the RELEASED output of the stage before, so each stage is judged alone.
rel = max|d| / max|released|; a stage matches when rel <= --tol.

The comparison with the released code never runs in CI (that code is not ours to ship), but its own
side does: tests/test_reference_harness.py runs `project_stages`, `isolated_stages` and `stage_table`
on a small `--config reference` model, its own stage outputs standing in for the released ones, so an
API change that breaks this harness breaks CI. Set-up for the real comparison, in a temporary folder:
  git clone https://github.com/xmed-lab/CardiacCLIP /tmp/ref-cc
  git clone https://github.com/bfshi/scaling_on_scales /tmp/ref-s2
  python benchmarks/reference_equivalence.py --reference-dir /tmp/ref-cc --s2-dir /tmp/ref-s2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from torch import nn

from cardiacclip.config import RunConfig
from cardiacclip.data.clips import ClipSampler
from cardiacclip.model.backbone import load_backbone, save_backbone_weights
from cardiacclip.model.checkpoint import build_model
from cardiacclip.model.echozoom import batch_standardize, stitch_over_channels
from cardiacclip.model.prompts import import_released_prompts, write_prompts
from cardiacclip.runtime import CPU_FP32

SIZE = 112  # the released code hard-codes 112-pixel tiles and a 3 x 3 trunk map


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference-dir", required=True, type=Path, help="checkout of xmed-lab/CardiacCLIP")
    parser.add_argument(
        "--s2-dir",
        type=Path,
        default=None,
        help="checkout of bfshi/scaling_on_scales "
        "(default: a scaling_on_scales folder beside --reference-dir, or /tmp/ref-s2)",
    )
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument(
        "--step-frames", type=int, default=8, help="frames per clip of the training step's batch of 2 (memory!)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--color", action="store_true", help="independent RGB channels (default: grey, R=G=B)")
    parser.add_argument("--tol", type=float, default=1e-4, help="relative error under which a stage matches")
    return parser.parse_args()


# ------------------------------------------------------------------------------ the released model
def install_shims() -> None:
    """What the released code needs to import and run on a CPU without its unused dependencies."""
    sys.modules.setdefault("transformers", types.ModuleType("transformers"))  # imported, never used
    try:
        import pkg_resources  # noqa: F401
    except ImportError:  # the vendored OpenAI CLIP package reaches `packaging` through it
        import packaging.version

        sys.modules["pkg_resources"] = types.SimpleNamespace(packaging=packaging)
    try:
        import einops  # noqa: F401
    except ImportError:
        sys.modules["einops"] = types.SimpleNamespace(rearrange=_rearrange)
    torch.Tensor.cuda = lambda self, *a, **k: self
    nn.Module.cuda = lambda self, *a, **k: self


def _rearrange(x: torch.Tensor, pattern: str, **ax) -> torch.Tensor:
    """The four einops patterns the S2 wrapper uses, as plain reshapes (when einops is not installed)."""
    pattern = " ".join(pattern.split())
    if pattern == "b c (nh h) (nw w) -> (nh nw b) c h w":
        nh, nw = ax["nh"], ax["nw"]
        b, c, hh, ww = x.shape
        x = x.reshape(b, c, nh, hh // nh, nw, ww // nw).permute(2, 4, 0, 1, 3, 5)
        return x.reshape(nh * nw * b, c, hh // nh, ww // nw)
    if pattern == "(nh nw b) c h w -> b c (nh h) (nw w)":
        nh, nw = ax["nh"], ax["nw"]
        bb, c, h, w = x.shape
        x = x.reshape(nh, nw, bb // (nh * nw), c, h, w).permute(2, 3, 0, 4, 1, 5)
        return x.reshape(bb // (nh * nw), c, nh * h, nw * w)
    if pattern == "b (h w) c -> b c h w":
        b, _, c = x.shape
        return x.reshape(b, ax["h"], ax["w"], c).permute(0, 3, 1, 2)
    if pattern == "b c h w -> b (h w) c":
        b, c, h, w = x.shape
        return x.permute(0, 2, 3, 1).reshape(b, h * w, c)
    raise NotImplementedError(f"einops stand-in: {pattern}")


def build_released(reference_dir: Path, s2_dir: Path, clip_tuple: tuple, seed: int):
    """The released EchoCLIP module, its open_clip factory pointed at our seeded model."""
    for path in (reference_dir, s2_dir):
        if not path.is_dir():
            sys.exit(f"missing {path}: see the set-up lines in this file's docstring")
    install_shims()
    open_clip.create_model_and_transforms = lambda *a, **k: clip_tuple
    sys.path[:0] = [str(reference_dir), str(reference_dir / "CLIP"), str(s2_dir)]
    if "utils" in sys.modules:
        sys.exit("a module named `utils` is already imported; the released utils.py would be shadowed")
    import utils as ref_utils  # the released utils.py lacks two names its echoclip.py imports

    for name in ("compute_regression_metric_mean_std", "compute_regression_prediction"):
        if not hasattr(ref_utils, name):
            setattr(ref_utils, name, None)
    import echoclip.models.echoclip as ref

    ref.create_model_and_transforms = lambda *a, **k: clip_tuple
    torch.manual_seed(seed + 1)
    return ref, ref.EchoCLIP().eval()


def text_sequence_first(encoder: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """The released TextEncoder.forward as it ran under a sequence-first open_clip (no mask)."""
    x = encoder.token_embedding(tokens) + encoder.positional_embedding
    x = encoder.ln_final(encoder.transformer(x))  # batch-first transformer on (N, L, D): tokens attend to tokens
    return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ encoder.text_projection


# ------------------------------------------------------------------------------ recording stages
class Recorder:
    """Forward (pre-)hooks that keep each call's output (input) under a name."""

    def __init__(self):
        self.values, self.handles = defaultdict(list), []

    def output(self, module: nn.Module, name: str) -> None:
        self.handles.append(module.register_forward_hook(lambda m, i, o: self.values[name].append(o)))

    def input(self, module: nn.Module, name: str) -> None:
        self.handles.append(module.register_forward_pre_hook(lambda m, i: self.values[name].append(i[0])))

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def tiles_frame_major(x: torch.Tensor, n: int) -> torch.Tensor:
    """The S2 wrapper's (nh nw b) tile order -> (b nh nw), the order EchoZoom splits in."""
    return x.reshape(2, 2, n, *x.shape[1:]).permute(2, 0, 1, *range(3, x.ndim + 2)).reshape(4 * n, *x.shape[1:])


def released_stages(ref, released, video: torch.Tensor, frames: int) -> dict[str, torch.Tensor]:
    rec = Recorder()
    rec.input(released.image_clip_fea_encoder, "trunk_in")
    rec.output(released.image_clip_fea_encoder[5], "trunk_out")  # norm_pre: the map before Flatten
    rec.output(released.head[0], "pooled")
    rec.output(released.head[1], "normed")
    rec.output(released.head, "proj")
    rec.output(released.abmil.attention, "scores")
    rec.output(released.abmil, "video")
    original_s2 = ref.multiscale_forward

    def s2_recorded(*a, **k):
        out = original_s2(*a, **k)
        rec.values["s2"].append(out)
        return out

    ref.multiscale_forward = s2_recorded
    encoder = released.text_encoder
    as_open_clip3 = encoder.forward
    encoder.forward = lambda tokens: text_sequence_first(encoder, tokens)  # as under its own open_clip
    try:
        with torch.no_grad():
            ef, logits = released(video)
            tokens = open_clip.tokenize(list(ref.LVEF_fine_prompts_new))
            text = F.normalize(encoder(tokens), dim=-1)
            text_open_clip3 = F.normalize(as_open_clip3(tokens), dim=-1)
    finally:
        ref.multiscale_forward = original_s2
        del encoder.forward
        rec.close()
    v = rec.values
    deinterleave = torch.cat([torch.arange(0, 2048, 2), torch.arange(1, 2048, 2)])
    return {
        "frames": v["trunk_in"][0],
        "tiles": tiles_frame_major(v["trunk_in"][1], frames),
        "maps1": v["trunk_out"][0],
        "maps2": tiles_frame_major(v["trunk_out"][1], frames),
        "s2": v["s2"][0].reshape(frames, 2048, 3, 3)[:, deinterleave],
        "pooled": v["pooled"][0].flatten(1)[:, deinterleave],
        "normed": v["normed"][0].flatten(1)[:, deinterleave],
        "proj": v["proj"][0],
        "weights": torch.softmax(v["scores"][0].view(1, frames), dim=1),
        "embedding": F.normalize(v["video"][0], dim=-1),
        "tokens": tokens,
        "text": text,
        "text_open_clip3": text_open_clip3,
        "logits": logits,
        "probs": torch.softmax(logits, dim=-1),
        "ef": ef,
    }


def project_stages(project, video: torch.Tensor, frames: int) -> dict[str, torch.Tensor]:
    zoom = project.image_encoder
    rec = Recorder()
    rec.input(zoom.trunk.stem, "trunk_in")
    rec.output(zoom.trunk.norm_pre, "trunk_out")
    rec.input(zoom.proj, "normed")
    rec.output(zoom.proj, "proj")
    rec.input(project.aggregator, "mfl_in")
    original = zoom.feature_map

    def feature_map(images):
        out = original(images)
        rec.values["s2"].append(out)
        return out

    zoom.feature_map = feature_map
    try:
        with torch.no_grad():
            out = project(video)
            text = project.text_features()
    finally:
        del zoom.feature_map
        rec.close()
    v = rec.values
    return {
        "frames": v["trunk_in"][0][:frames],
        "tiles": v["trunk_in"][0][frames:],
        "maps1": v["trunk_out"][0][:frames],
        "maps2": v["trunk_out"][0][frames:],
        "s2": v["s2"][0],
        "pooled": v["s2"][0].mean(dim=(2, 3)),
        "normed": v["normed"][0],
        "proj": v["proj"][0],
        "mfl_in": v["mfl_in"][0],
        "weights": out["attention"],
        "embedding": out["embedding"],
        "tokens": project.prompt_tokens,
        "text": text,
        "logits": out["logits"],
        "probs": out["probs"],
        "ef": out["ef"],
    }


class Constant(nn.Module):
    """A stage replaced by a fixed output (the released one), so the stages after it are judged alone."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, *a, **k):
        return self.value


class ProjectedFrames(nn.Module):
    """Stands in for EchoZoom with the released projected frame features: `CardiacCLIP.encode_frames` asks it
    for pooled features (a placeholder per frame) and then for their embedding (the released projections)."""

    def __init__(self, proj: torch.Tensor):
        super().__init__()
        self.proj = proj

    def pooled_features(self, images: torch.Tensor) -> torch.Tensor:
        return images.new_zeros(len(images), 1)

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.proj.reshape(len(pooled), -1)


def isolated_stages(project, released: dict, video: torch.Tensor, frames: int) -> dict[str, torch.Tensor]:
    """Each of our stages fed the released output of the stage before (the model's own methods, with the stages
    before replaced by stand-ins holding the released outputs)."""
    zoom = project.image_encoder
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        trunk = zoom.trunk.forward_features
        out["maps1"], out["maps2"] = trunk(released["frames"]), trunk(released["tiles"])
        out["s2"] = torch.cat(
            [stitch_over_channels(released["maps1"], 1), stitch_over_channels(released["maps2"], 2)], 1
        )
        out["pooled"] = released["s2"].mean(dim=(2, 3))
        out["normed"] = batch_standardize(released["pooled"]) if zoom.norm == "batch" else None
        out["proj"] = zoom.proj(released["normed"])
        saved_encoder, saved_aggregator = project.image_encoder, project.aggregator
        try:
            project.image_encoder = ProjectedFrames(released["proj"])
            out["mfl_in"] = project.encode_frames(video)
            out["embedding"], out["weights"] = saved_aggregator(released["mfl_in"])
            project.aggregator = Constant((released["embedding"], released["weights"]))
            project.text_features = lambda: released["text"]
            final = project(video)
        finally:
            project.image_encoder, project.aggregator = saved_encoder, saved_aggregator
            project.__dict__.pop("text_features", None)
        out["tokens"], out["text"] = project.prompt_tokens, project.text_features()
    out.update(logits=final["logits"], probs=final["probs"], ef=final["ef"])
    return out


# ------------------------------------------------------------------------------ one training step
def released_training_step(reference_dir: Path, released, video: torch.Tensor, ef: torch.Tensor) -> dict:
    """One training step of the released code on (video, ef): its Runner's loss terms, its parameter groups
    and learning rates as default.yaml builds them (build_param_dict, its RAdam, its cosine schedule stepped
    once per epoch), and one optimizer step. Its label helper returns the class as the label's float dtype,
    which CrossEntropyLoss and one_hot refuse; the class is cast to int64 for them (the one change)."""
    import yaml

    sys.modules.setdefault("pytorch_lightning", types.SimpleNamespace(LightningModule=nn.Module))
    sys.modules.setdefault("wandb", types.SimpleNamespace(init=lambda **k: None, log=lambda *a, **k: None))
    from echoclip.runner.optim import build_lr_scheduler, build_optimizer
    from echoclip.runner.runner import Runner

    cfg = yaml.safe_load((reference_dir / "default.yaml").read_text())["runner_cfg"]
    runner = types.SimpleNamespace(
        module=released,
        num_ranks=5,
        ce_loss_func=nn.CrossEntropyLoss(),
        kl_loss_func=nn.KLDivLoss(reduction="sum"),
        _custom_logger=types.SimpleNamespace(info=lambda *a, **k: None),
    )
    runner.num2label_fine = lambda y: Runner.num2label_fine(runner, y).long()
    runner.compute_kl_loss = lambda logits, y: Runner.compute_kl_loss(runner, logits, y)
    scheduling = cfg["optimizer_and_scheduler_cfg"]
    groups = Runner.build_param_dict(runner, **scheduling["param_dict_cfg"])
    optimizer = build_optimizer(model=groups, **scheduling["optimizer_cfg"])
    scheduler = build_lr_scheduler(optimizer=optimizer, **scheduling["lr_scheduler_cfg"])
    lrs = released_learning_rates(released, optimizer)
    released.train()
    encoder = released.text_encoder
    encoder.forward = lambda tokens: text_sequence_first(encoder, tokens)  # as under its own open_clip
    try:
        predictions, logits = released(video)
        losses = Runner.compute_losses(runner, predictions, logits, ef)
        total = sum(weight * losses[key] for key, weight in cfg["loss_weights"].items())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    finally:
        del encoder.forward
    scheduler.step()  # the end of the first epoch
    return {
        "loss": {"ce": losses["ce_loss"], "kl": losses["kl_loss"], "l1": losses["reg_loss"], "total": total},
        "lr": lrs,
        "lr_epoch_2": released_learning_rates(released, optimizer),
        "optimizer": optimizer,
    }


def released_learning_rates(released, optimizer) -> dict[str, float]:
    """{released module (`GROUPS`): its learning rate}: the released optimizer's groups are named by its staged-lr
    helper, so each group is attributed to the module its parameters belong to (one rate per module, or a KeyError
    naming a module whose groups disagree)."""
    owner = {id(p): name for name in GROUPS for p in getattr(released, name).parameters()}
    rates: dict[str, set[float]] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            rates.setdefault(owner.get(id(p), "other"), set()).add(float(group["lr"]))
    mixed = [name for name, values in rates.items() if len(values) > 1]
    if mixed:
        raise KeyError(f"released module(s) {mixed} hold parameter groups with different learning rates")
    return {name: values.pop() for name, values in rates.items()}


def project_training_step(project, config: RunConfig, video: torch.Tensor, ef: torch.Tensor) -> dict:
    """One training step of this project under `config` on (video, ef), as `train.loop.run_epoch` takes it: the
    loss terms, the parameter groups' learning rates, one optimizer step, the schedule stepped once per epoch."""
    from cardiacclip.train.loop import Optimization
    from cardiacclip.train.losses import cardiacclip_loss

    tc = config.train
    opt = Optimization.create(project, tc, steps_per_epoch=1, placement=CPU_FP32)
    lrs = {group["name"]: group["lr"] for group in opt.optimizer.param_groups}
    project.train()
    out = project(video)
    classes = project.prompts.classify(ef, config.model.label_bins)
    terms = cardiacclip_loss(out["logits"], out["ef"], ef, classes, tc.loss)
    opt.optimizer.zero_grad()
    terms.total.backward()
    opt.optimizer.step()
    opt.scheduler.step()
    return {
        "loss": {"ce": terms.ce, "kl": terms.kl, "l1": terms.l1, "total": terms.total.detach()},
        "lr": lrs,
        "lr_epoch_2": {group["name"]: group["lr"] for group in opt.optimizer.param_groups},
        "optimizer": opt.optimizer,
    }


GROUPS = {"image_clip_fea_encoder": "trunk", "head": "zoom", "abmil": "mfl", "text_encoder": "text"}  # released: ours


def parameter_pairs(released, project) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
    """(released parameter, ours) per released parameter group, the same weights before training (our
    projection's columns de-interleaved, see the module docstring)."""
    width = project.image_encoder.feature_dim
    deinterleave = torch.cat([torch.arange(0, 2 * width, 2), torch.arange(1, 2 * width, 2)])
    theirs_trunk = list(released.image_clip_fea_encoder.parameters())
    ours_trunk = list(project.image_encoder.trunk.parameters())[: len(theirs_trunk)]  # ours also holds head.norm
    text = dict(project.text_model.named_parameters())
    return {
        "image_clip_fea_encoder": list(zip(theirs_trunk, ours_trunk, strict=True)),
        "head": [(released.head[7].weight, (project.image_encoder.proj.weight, deinterleave))],
        "abmil": [
            *[(released.abmil.attention[i].weight, project.aggregator.score[i].weight) for i in (0, 2, 4)],
            *[(released.abmil.attention[i].bias, project.aggregator.score[i].bias) for i in (0, 2, 4)],
            (released.abmil.feature_aggregation[0].weight, project.aggregator.out.weight),
            (released.abmil.feature_aggregation[0].bias, project.aggregator.out.bias),
        ],
        "text_encoder": [(p, text[name]) for name, p in released.text_encoder.named_parameters()],
    }


def _in_released_layout(item, value=None) -> torch.Tensor:
    """Our parameter (or `value`, a tensor shaped like it: its optimizer moment) in the released layout."""
    tensor, columns = item if isinstance(item, tuple) else (item, None)
    tensor = (tensor if value is None else value).detach().clone()
    return tensor if columns is None else tensor[:, torch.argsort(columns)]


def snapshot(pairs: dict) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Detached copies of every (released, ours) pair, ours in the released layout."""
    return {name: [(a.detach().clone(), _in_released_layout(b)) for a, b in group] for name, group in pairs.items()}


def first_moments(pairs: dict, released_step: dict, project_step: dict) -> dict[str, list]:
    """(released, ours) first moments (exp_avg: (1 - beta1) x the gradient after one step) of every pair; zeros for
    a parameter that got no gradient (no optimizer state)."""
    theirs, ours = released_step["optimizer"].state, project_step["optimizer"].state

    def state(states, tensor: torch.Tensor) -> torch.Tensor:
        return states[tensor]["exp_avg"] if "exp_avg" in states.get(tensor, {}) else torch.zeros_like(tensor)

    def moment(item):
        return _in_released_layout(item, state(ours, item[0] if isinstance(item, tuple) else item))

    return {name: [(state(theirs, a).detach().clone(), moment(b)) for a, b in group] for name, group in pairs.items()}


def step_rows(
    pairs: dict, before: dict, after: dict, released_step: dict, project_step: dict, tol: float
) -> list[dict]:
    """Rows of the training-step table: each loss term, each group's learning rate (first step and after the
    first epoch), and per group its first moment after the step (the gradient: RAdam's first steps under the
    reference move no parameter), its parameters after the step and its update (after - before)."""
    moments = first_moments(pairs, released_step, project_step)
    rows = []
    for key, value in released_step["loss"].items():
        rows.append(_row(f"loss: {key}", compare(value.reshape(1), project_step["loss"][key].reshape(1)), tol))
    for theirs, ours in GROUPS.items():
        for when in ("lr", "lr_epoch_2"):
            a = torch.tensor([released_step[when][theirs]])
            b = torch.tensor([project_step[when].get(ours, float("nan"))])
            rows.append(_row(f"{when.replace('_', ' ')}: {theirs} / {ours}", compare(a, b), tol))
    for theirs in GROUPS:
        params = [(ra, oa) for ra, oa in after[theirs]]
        updates = [(ra - rb, oa - ob) for (rb, ob), (ra, oa) in zip(before[theirs], after[theirs], strict=True)]
        rows.append(_row(f"first moment (gradient) after the step: {theirs}", _group_compare(moments[theirs]), tol))
        rows.append(_row(f"parameters after the step: {theirs}", _group_compare(params), tol))
        rows.append(_row(f"update of the step: {theirs}", _group_compare(updates), tol))
    return rows


def _group_compare(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    """(max|d|, max|d| / max|released|) over a group of tensors (0, 0 when both are all zero)."""
    d = max(float((a.double() - b.double()).abs().max()) for a, b in pairs)
    scale = max(float(a.double().abs().max()) for a, _ in pairs)
    if d == 0:
        return 0.0, 0.0
    return d, d / scale if scale > 0 else float("inf")


def _row(label: str, result: tuple[float, float], tol: float) -> dict:
    return {"label": label, "d": result, "ok": bool(result[1] <= tol)}


# ------------------------------------------------------------------------------ the table
SCALE_1, SCALE_2 = "scale 1", "scale 2"  # the EchoZoom map's channels of each scale (the trunk's width each)
ROWS = [  # (label, key, channels of the released stage, or None for all)
    ("input frames (trunk input, scale 1)", "frames", None),
    ("scale-2 tiles (bicubic x2, split)", "tiles", None),
    ("trunk maps per frame (scale 1)", "maps1", None),
    ("trunk maps per tile (scale 2)", "maps2", None),
    ("EchoZoom map, scale-1 channels", "s2", SCALE_1),
    ("EchoZoom map, scale-2 channels", "s2", SCALE_2),
    ("pooled features", "pooled", None),
    ("channel normalisation", "normed", None),
    ("projected frame features", "proj", None),
    ("MFL input", "mfl_in", None),
    ("MFL weights", "weights", None),
    ("video embedding", "embedding", None),
    ("prompt tokens", "tokens", None),
    ("text features", "text", None),
    ("logits", "logits", None),
    ("probabilities", "probs", None),
    ("EF", "ef", None),
]


def stage_table(R: dict, P: dict, iso: dict, width: int, tol: float) -> list[dict]:
    """A row per stage (`ROWS`): the end-to-end and isolated (max|d|, rel) against the released output `R`, and
    whether both are within `tol`. `width`: the trunk's channels (the EchoZoom map holds one block per scale)."""
    parts = {SCALE_1: slice(0, width), SCALE_2: slice(width, 2 * width)}
    rows = []
    for label, key, part in ROWS:
        cut = (lambda t: t) if part is None else (lambda t, p=parts[part]: None if t is None else t[:, p])
        reference = cut(R[key])
        e2e, isolated = compare(reference, cut(P.get(key))), compare(reference, cut(iso.get(key)))
        judged = isolated if isolated is not None else e2e
        ok = judged is not None and judged[1] <= tol and e2e is not None and e2e[1] <= tol
        rows.append({"label": label, "shape": tuple(reference.shape), "e2e": e2e, "iso": isolated, "ok": ok})
    return rows


def compare(reference: torch.Tensor | None, ours: torch.Tensor | None) -> tuple[float, float] | None:
    if reference is None or ours is None:
        return None
    a, b = reference.detach().double(), ours.detach().double()
    if a.shape != b.shape:
        return float("nan"), float("nan")
    d = float((a - b).abs().max())
    scale = float(a.abs().max())
    return d, d / scale if scale > 0 else (0.0 if d == 0 else float("inf"))


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    s2_dir = args.s2_dir or next(
        (p for p in (args.reference_dir.parent / "scaling_on_scales", Path("/tmp/ref-s2")) if p.is_dir()),
        args.reference_dir.parent / "scaling_on_scales",
    )
    torch.manual_seed(args.seed)
    clip_tuple = open_clip.create_model_and_transforms("convnext_base", pretrained=None)
    clip_model = clip_tuple[0].float().eval()
    work = Path(tempfile.mkdtemp(prefix="ref-eq-"))
    weights = save_backbone_weights(
        clip_model, work / "convnext_base_random.safetensors", half=False, compact_embeddings=False
    )
    ref, released = build_released(args.reference_dir, s2_dir, clip_tuple, args.seed)

    config = RunConfig.load("reference")
    config.model.backbone = str(weights)
    config.model.prompts = str(write_prompts(import_released_prompts(args.reference_dir), work / "released.yaml"))
    from cardiacclip.model.prompts import load_prompts

    project = build_model(config, load_backbone(str(weights)), load_prompts(config.model.prompts)).eval()
    os.remove(weights)
    deinterleave = torch.cat([torch.arange(0, 2048, 2), torch.arange(1, 2048, 2)])
    mapped = {"image_encoder.proj.weight": released.head[7].weight[:, deinterleave]}
    for i in (0, 2, 4):
        mapped[f"aggregator.score.{i}.weight"] = released.abmil.attention[i].weight
        mapped[f"aggregator.score.{i}.bias"] = released.abmil.attention[i].bias
    mapped["aggregator.out.weight"] = released.abmil.feature_aggregation[0].weight
    mapped["aggregator.out.bias"] = released.abmil.feature_aggregation[0].bias
    result = project.load_state_dict({k: v.detach().clone() for k, v in mapped.items()}, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys

    generator = torch.Generator().manual_seed(args.seed + 2)
    shape = (args.frames, SIZE, SIZE, 3 if args.color else 1)
    clip_u8 = torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8).numpy()
    clip_u8 = clip_u8 if args.color else np.repeat(clip_u8, 3, axis=-1)
    video_released = torch.from_numpy(clip_u8.transpose(3, 0, 1, 2).astype(np.float32))[None]  # (1, 3, T, H, W)
    sampler = ClipSampler.from_config(config.data, project.mean, project.std)
    video_ours = sampler.to_tensor(clip_u8)[None]  # (1, T, 3, H, W)

    t0 = time.perf_counter()
    R = released_stages(ref, released, video_released, args.frames)
    t_released = time.perf_counter() - t0
    t0 = time.perf_counter()
    P = project_stages(project, video_ours, args.frames)
    t_ours = time.perf_counter() - t0
    R["mfl_in"] = R["proj"].view(1, args.frames, -1)  # the released MFL takes the raw projections
    iso = isolated_stages(project, R, video_ours, args.frames)

    print(
        f"reference equivalence: open_clip {open_clip.__version__}, torch {torch.__version__}, seed {args.seed}, "
        f"{args.frames} frames x {SIZE} px {'colour' if args.color else 'grey'} uint8"
    )
    print(
        f"released: {args.reference_dir} (text path as under a sequence-first open_clip); "
        f"ours: --config reference with the released prompts imported from the checkout"
    )
    print(f"forward: released {t_released:.1f} s, ours {t_ours:.1f} s\n")
    print(f"{'stage':36s} {'shape':>18s} | {'e2e max|d|':>10} {'rel':>9} | {'iso max|d|':>10} {'rel':>9} | verdict")
    rows = stage_table(R, P, iso, project.image_encoder.feature_dim, args.tol)
    failing = [row["label"] for row in rows if not row["ok"]]
    for row in rows:
        cells = [f"{c[0]:10.2e} {c[1]:9.2e}" if c else f"{'-':>10} {'-':>9}" for c in (row["e2e"], row["iso"])]
        verdict = "match" if row["ok"] else "DIFFERS"
        print(f"{row['label']:36s} {str(row['shape']):>18s} | {cells[0]} | {cells[1]} | {verdict}")
    extra = compare(R["text_open_clip3"], P["text"])
    print(
        f"\n(for information) released text path under open_clip {open_clip.__version__} (attention across the "
        f"five prompts) vs ours: max|d| {extra[0]:.2e}, rel {extra[1]:.2e}"
    )
    a, b = float(R["ef"][0]), float(P["ef"][0])
    print(f"EF: released {a:.4f}, ours {b:.4f}, |d| {abs(a - b):.2e}")
    failing += compare_training_step(args, released, project, config)
    print(
        f"\nevery stage and the training step within {args.tol:g} (relative): "
        + ("yes" if not failing else "NO: " + "; ".join(failing))
    )
    print(f"total {time.perf_counter() - started:.1f} s")
    sys.exit(0 if not failing else 1)


@contextmanager
def without_stochastic_depth(*models: nn.Module):
    """Stochastic depth (convnext_base's drop_path 0.1, active in training on both sides) off for the step: its
    random masks are drawn in another order here (one trunk call for every tile) than there (a call per scale),
    so with it on no two steps agree, not even two of the same code."""
    paths = [m for model in models for m in model.modules() if type(m).__name__ == "DropPath"]
    saved = [m.drop_prob for m in paths]
    for m in paths:
        m.drop_prob = 0.0
    try:
        yield len(paths)
    finally:
        for m, p in zip(paths, saved, strict=True):
            m.drop_prob = p


def compare_training_step(args: argparse.Namespace, released, project, config: RunConfig) -> list[str]:
    """Print the training-step table (a batch of two clips of `--step-frames` frames, EF 35.5 and 62.0; on a CPU
    the backward pass of 2 x 48 frames needs more than 24 GB); returns the rows that differ."""
    generator = torch.Generator().manual_seed(args.seed + 3)
    clips = torch.randint(0, 256, (2, args.step_frames, SIZE, SIZE, 1), generator=generator, dtype=torch.uint8)
    clips = clips.repeat(1, 1, 1, 1, 3).numpy()
    video_released = torch.from_numpy(clips.transpose(0, 4, 1, 2, 3).astype(np.float32))  # (2, 3, T, H, W)
    sampler = ClipSampler.from_config(config.data, project.mean, project.std)
    video_ours = torch.stack([sampler.to_tensor(clip) for clip in clips])  # (2, T, 3, H, W)
    ef = torch.tensor([35.5, 62.0])
    pairs = parameter_pairs(released, project)
    before = snapshot(pairs)
    with without_stochastic_depth(released, project):
        t0 = time.perf_counter()
        released_step = released_training_step(args.reference_dir, released, video_released, ef)
        t_released = time.perf_counter() - t0
        t0 = time.perf_counter()
        project_step = project_training_step(project, config, video_ours, ef)
        t_ours = time.perf_counter() - t0
    rows = step_rows(pairs, before, snapshot(pairs), released_step, project_step, args.tol)
    print(
        f"\none training step on 2 clips of {args.step_frames} frames (EF 35.5, 62.0), fp32, from the weights above, "
        f"stochastic depth off on both sides: "
        f"released {t_released:.1f} s, ours {t_ours:.1f} s\n"
    )
    print(f"{'quantity':58s} | {'max|d|':>10} {'rel':>9} | verdict")
    for row in rows:
        d, rel = row["d"]
        print(f"{row['label']:58s} | {d:10.2e} {rel:9.2e} | {'match' if row['ok'] else 'DIFFERS'}")
    return [row["label"] for row in rows if not row["ok"]]


if __name__ == "__main__":
    main()
