"""EchoCLIP-style contrastive pretraining of a small open_clip model (the toy backbone; `cardiacclip pretrain`).

Pairs are (a view of echo frames, report text); a view's embedding is the mean of its frames'
unit image embeddings. Two views:

- ``clips``: consecutive frames (`frames_per_sample` every `period`), so the average over the
  cycle carries what the report says; with `frames_per_sample=1` this is EchoCLIP's frame-report
  pairing.
- ``key_frames``: the traced end-diastolic and end-systolic frames (VolumeTracings.csv), each
  moved by up to `key_jitter` frames. The report's EF is what changes between these two
  frames, so the image tower learns frame features that follow the LV over the cycle: the
  features an attention over frames (MFL) can pick ED and ES from. On a small archive the
  model learns the archive by heart instead (measured on 1,500 synthetic videos: training loss
  0.08, nothing learned that carries over to new videos).

With `draw_style` set there is no archive: every sample is a new synthetic subject drawn in that
style and rendered at ED and ES only (`synthetic.echoes.render_key_frames`, a few ms), seeded by
(1000, seed, sample index), so the model never sees the same heart twice. The toy backbone's
second stage is pretrained this way on the ``mixed`` style (that seed stream is not the one of
any demo, benchmark or test video); `views` does not apply (always key frames).

The loss is CLIP's symmetric InfoNCE with a learned temperature.

For a synthetic archive the reports are written from the labels (`synthetic.reports`); a user's
archive can name a report column of its FileList instead.

`pretrain_model` trains; the `pretrain` job (`cardiacclip.jobs.pretrain`) writes the folder
that `--backbone <folder>` loads.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from cardiacclip.choices import Precision, PretrainViews
from cardiacclip.config import ConfigError, Validated
from cardiacclip.data.clips import ClipSampler
from cardiacclip.data.filelist import read_filelist, read_volume_tracings, volume_from_tracing
from cardiacclip.data.source import probe
from cardiacclip.model.backbone import Backbone, load_backbone
from cardiacclip.progress import progress_bar
from cardiacclip.runtime import autocast, resolve_device, resolve_precision, seed_everything
from cardiacclip.synthetic.echoes import render_key_frames
from cardiacclip.synthetic.reports import make_report
from cardiacclip.synthetic.styles import check_style_name, style_for_video
from cardiacclip.train.schedule import warmup_cosine

log = logging.getLogger(__name__)

TOY_NOTICE = "A toy echo-CLIP pretrained on synthetic echoes, for demonstrations and tests; not a clinical model."


@dataclass
class PretrainConfig(Validated):
    """Contrastive pretraining settings (see the module docstring); checked when built (`config.Validated`)."""

    data: str = ""  # EchoNet-format archive; unused with draw_style
    draw_style: str | None = None  # draw fresh synthetic ED/ES pairs in this style instead of reading `data`
    arch: str = "small_echoclip"  # packaged open_clip config (random init) or a backbone spec to start from
    report_column: str | None = None  # FileList column with report text; None: write reports from EF/EDV
    views: PretrainViews = "clips"  # see the module docstring
    key_jitter: int = 2  # key_frames: ED and ES each moved by up to this many frames
    frames_per_sample: int = 8
    period: int = 8
    image_size: int = 112
    batch_size: int = 32
    steps: int = 500
    lr: float = 5e-4
    weight_decay: float = 0.05
    warmup_steps: int = 40
    seed: int = 0
    device: str = "auto"
    precision: Precision = "auto"
    num_workers: int = 1
    cache: bool = False  # decode every video once and keep its frames in memory

    def validate(self) -> None:
        if bool(self.data) == bool(self.draw_style):
            raise ConfigError("pretraining needs --data DIR or --draw STYLE (PretrainConfig.data, .draw_style), one")
        for name in ("frames_per_sample", "period", "image_size", "batch_size", "steps", "num_workers"):
            if getattr(self, name) < (0 if name == "num_workers" else 1):
                raise ConfigError(f"PretrainConfig.{name} must be positive, got {getattr(self, name)!r}")


class ReportClips(Dataset):
    """Random clips of every listed video (all splits) with their report text.

    With `cache=True` every video is decoded once, resized and kept in memory (grayscale videos
    as one channel), so a step costs no decoding; without it each access decodes the file.
    Each item is ((T, 3, S, S) float clip normalized by `sampler`, report text).
    """

    def __init__(
        self,
        root: str | Path,
        reports: list[str],
        table: pd.DataFrame,
        sampler: ClipSampler,
        cache: bool = False,
        progress: bool = True,
    ):
        self.video_dir = Path(root) / "Videos"
        self.table, self.reports, self.sampler = table.reset_index(drop=True), reports, sampler
        self.cache: list[np.ndarray] | None = None
        if cache:
            self.cache = [
                self._decode(i)
                for i in progress_bar(range(len(self.table)), desc="caching frames", unit="video", disable=not progress)
            ]

    def _decode(self, index: int) -> np.ndarray:
        """Every frame of a video through its frame source (cropped and resized as every job reads it)."""
        video = probe(self.video_dir / self.table.at[index, "VideoFile"])
        decoded = video.read_resized(range(video.n_frames), self.sampler.image_size)
        frames = np.stack([decoded[i] for i in range(video.n_frames)])
        gray = np.array_equal(frames[..., 0], frames[..., 1]) and np.array_equal(frames[..., 0], frames[..., 2])
        return frames[..., :1] if gray else frames

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        frames = self.cache[index] if self.cache is not None else self._decode(index)
        start = self.sampler.random_start(len(frames))
        return self.sampler.to_tensor(self.sampler.take(frames, start)), self.reports[index]


class KeyFramePairs(Dataset):
    """(ED frame, ES frame) of every video with traced frames, each moved by up to `jitter` frames,
    with its report text. Only the frames within `jitter` of ED and ES are kept in memory.

    Each item is ((2, 3, S, S) float frames [ED, ES] normalized by `sampler`, report text).
    """

    def __init__(
        self,
        root: str | Path,
        reports: list[str],
        table: pd.DataFrame,
        sampler: ClipSampler,
        jitter: int = 2,
        progress: bool = True,
    ):
        tracings_path = Path(root) / "VolumeTracings.csv"
        if not tracings_path.is_file():
            raise FileNotFoundError(f"{tracings_path}: key_frames views need the traced ED/ES frames")
        tracings = read_volume_tracings(tracings_path)
        self.sampler, self.jitter = sampler, jitter
        self.items: list[tuple[np.ndarray, np.ndarray, str]] = []  # ED window, ES window, report
        skipped = 0
        for index in progress_bar(range(len(table)), desc="key frames", unit="video", disable=not progress):
            name = table["VideoFile"].iloc[index]
            traced = tracings.get(name, {})
            if len(traced) < 2:
                skipped += 1
                continue
            by_volume = sorted(traced, key=lambda f: volume_from_tracing(traced[f]))
            es, ed = by_volume[0], by_volume[-1]
            windows = self._windows(Path(root) / "Videos" / name, (ed, es))
            self.items.append((*windows, reports[index]))
        if skipped:
            log.warning("%d videos without two traced frames are left out of pretraining", skipped)

    def _windows(self, path: Path, centres: tuple[int, int]) -> list[np.ndarray]:
        """The frames within `jitter` of each centre, decoded by seeking (not the whole video) and resized."""
        wanted = {i for c in centres for i in range(max(c - self.jitter, 0), c + self.jitter + 1)}
        frames = probe(path).read_resized(wanted, self.sampler.image_size)
        return [np.stack([frames[i] for i in sorted(frames) if abs(i - c) <= self.jitter]) for c in centres]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        ed, es, report = self.items[index]
        pick = [w[int(torch.randint(0, len(w), (1,)).item())] for w in (ed, es)]
        return self.sampler.to_tensor(np.stack(pick)), report


class DrawnKeyFramePairs(Dataset):
    """`n` synthetic subjects drawn on demand in style `style`, sample i from the generator seeded with
    (1000, seed, i) (archives are seeded with (seed, i): no archive shares a subject with this stream):
    ((2, 3, S, S) float frames [ED, ES] normalized by `sampler`, report text)."""

    def __init__(self, n: int, seed: int, style: str, sampler: ClipSampler, jitter: float = 0.04):
        check_style_name(style)
        self.n, self.seed, self.style, self.sampler, self.jitter = n, seed, style, sampler, jitter

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        rng = np.random.default_rng([1000, self.seed, index])
        pair = render_key_frames(rng, style_for_video(self.style, rng), self.sampler.image_size, self.jitter)
        return self.sampler.to_tensor(pair.frames()), make_report(pair.ef, rng, pair.edv)


def archive_reports(table: pd.DataFrame, report_column: str | None, seed: int) -> list[str]:
    if report_column:
        if report_column not in table.columns:
            raise ValueError(f"FileList has no column {report_column!r}")
        return table[report_column].astype(str).tolist()
    rng = np.random.default_rng(seed)
    edv = table["EDV"] if "EDV" in table.columns else [None] * len(table)
    return [
        make_report(float(ef), rng, None if v is None or pd.isna(v) else float(v))
        for ef, v in zip(table["EF"], edv, strict=True)
    ]


def clip_loss(video: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    logits = logit_scale.exp() * video @ text.t()
    target = torch.arange(len(video), device=video.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


@dataclass
class PretrainResult:
    backbone: Backbone  # trained, on the CPU
    log: pd.DataFrame  # step, loss, logit_scale, seconds


def pretrain_model(config: PretrainConfig, progress: bool = True) -> PretrainResult:
    """Contrastive pretraining of `config.arch` on the archive at `config.data` (video-report pairs).

    Token-embedding rows of words never seen in the reports are zeroed at the end: they carry
    no information, and zero rows are not stored by `save_backbone_weights`.
    """
    generator = seed_everything(config.seed)
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device, training=True)
    backbone = load_backbone(config.arch)
    model = backbone.model.to(device).train()
    sampler = ClipSampler(
        length=config.frames_per_sample,
        period=config.period,
        image_size=config.image_size,
        mean=tuple(backbone.mean),
        std=tuple(backbone.std),
    )
    loader = DataLoader(
        _pairs(config, sampler, progress),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
        generator=generator,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
    )
    optimizer = _optimizer(model, config)
    schedule = warmup_cosine(optimizer, config.steps, config.warmup_steps)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    seen_tokens: set[int] = set()
    rows, started = [], time.time()
    bar = progress_bar(total=config.steps, desc="pretraining", unit="step", disable=not progress)
    while len(rows) < config.steps:
        for clips, texts in loader:
            tokens = backbone.tokenizer(list(texts))
            seen_tokens.update(torch.unique(tokens).tolist())
            with autocast(device, precision):
                loss = _pair_loss(model, clips.to(device), tokens.to(device))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            scale, seconds = model.logit_scale.exp().item(), time.time() - started
            rows.append({"step": len(rows) + 1, "loss": loss.item(), "logit_scale": scale, "seconds": seconds})
            bar.update()
            bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}")
            if len(rows) >= config.steps:
                break
    bar.close()
    _zero_unseen_tokens(model, seen_tokens)
    backbone.model = model.cpu().eval()
    return PretrainResult(backbone, pd.DataFrame(rows))


def _pairs(config: PretrainConfig, sampler: ClipSampler, progress: bool) -> Dataset:
    """The (views, report) pairs the config asks for: drawn key frames, an archive's key frames or its clips."""
    if config.draw_style:
        return DrawnKeyFramePairs(config.steps * config.batch_size, config.seed, config.draw_style, sampler)
    table = read_filelist(Path(config.data) / "FileList.csv")
    reports = archive_reports(table, config.report_column, config.seed)
    if config.views == "key_frames":
        return KeyFramePairs(config.data, reports, table, sampler, config.key_jitter, progress)
    return ReportClips(config.data, reports, table, sampler, cache=config.cache, progress=progress)


def _optimizer(model: torch.nn.Module, config: PretrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (no decay on biases, norms, embeddings)."""
    decayed = {n for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n}
    groups = [
        {"params": [p for n, p in model.named_parameters() if n in decayed], "weight_decay": config.weight_decay},
        {"params": [p for n, p in model.named_parameters() if n not in decayed], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr)


def _pair_loss(model, clips: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """CLIP loss of (B, T, 3, S, S) clips, each embedded as the mean of its frames' embeddings, and their reports."""
    b, t = clips.shape[:2]
    frames = F.normalize(model.encode_image(clips.flatten(0, 1)), dim=-1)
    video = F.normalize(frames.view(b, t, -1).mean(dim=1), dim=-1)
    text = model.encode_text(tokens, normalize=True)
    return clip_loss(video.float(), text.float(), model.logit_scale)


@torch.no_grad()
def _zero_unseen_tokens(model, seen_tokens: set[int]) -> None:
    unseen = torch.ones(model.token_embedding.weight.shape[0], dtype=torch.bool)
    unseen[list(seen_tokens)] = False
    model.token_embedding.weight[unseen.to(model.token_embedding.weight.device)] = 0
