"""`cardiacclip pretrain`: EchoCLIP-style contrastive pretraining of a small open_clip model.

Pairs are (clip of echo frames, report text). A clip's embedding is the mean of its frames'
unit image embeddings, so the image tower learns frame features whose average over the cycle
carries what the report says; with `frames_per_sample=1` this is EchoCLIP's frame-report
pairing. The loss is CLIP's symmetric InfoNCE with a learned temperature.

For a synthetic archive the reports are written from the labels (`data.reports`); a user's
archive can name a report column of its FileList instead.

Output folder: open_clip_config.json + open_clip_model.safetensors (fp16; token-embedding rows
of words never seen in pretraining are zero and not stored), pretrain_config.yaml,
pretrain_log.csv. `--backbone <folder>` loads it in every command.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import yaml
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from cardiacclip.data.clips import random_start, resize_frames, take_clip, to_tensor
from cardiacclip.data.filelist import read_filelist
from cardiacclip.data.reports import make_report
from cardiacclip.data.video_io import read_video
from cardiacclip.model.backbone import load_backbone, save_backbone_weights
from cardiacclip.runtime import autocast, resolve_device, resolve_precision, seed_everything

log = logging.getLogger(__name__)

TOY_NOTICE = "A toy echo-CLIP pretrained on synthetic echoes, for demonstrations and tests; not a clinical model."


@dataclass
class PretrainConfig:
    data: str = ""
    arch: str = "small_echoclip"  # packaged open_clip config (random init) or a backbone spec to start from
    report_column: str | None = None  # FileList column with report text; None: write reports from EF/EDV
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
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    num_workers: int = 1
    cache: bool = False  # decode every video once and keep its frames in memory


class ReportClips(Dataset):
    """Random clips of every listed video (all splits) with their report text.

    With `cache=True` every video is decoded once, resized and kept in memory (grayscale videos
    as one channel), so a step costs no decoding; without it each access decodes the file.
    """

    def __init__(self, root: str | Path, reports: list[str], table: pd.DataFrame, length: int, period: int,
                 image_size: int, cache: bool = False, progress: bool = True):
        self.video_dir = Path(root) / "Videos"
        self.table, self.reports = table.reset_index(drop=True), reports
        self.length, self.period, self.image_size = length, period, image_size
        self.cache: list[np.ndarray] | None = None
        if cache:
            self.cache = [self._decode(i) for i in tqdm(range(len(self.table)), desc="caching frames", unit="video",
                                                         disable=not progress)]

    def _decode(self, index: int) -> np.ndarray:
        frames = resize_frames(read_video(self.video_dir / self.table.at[index, "VideoFile"]).frames, self.image_size)
        gray = np.array_equal(frames[..., 0], frames[..., 1]) and np.array_equal(frames[..., 0], frames[..., 2])
        return frames[..., :1] if gray else frames

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, str]:
        frames = self.cache[index] if self.cache is not None else self._decode(index)
        start = random_start(len(frames), self.length, self.period)
        clip = take_clip(frames, start, self.length, self.period)
        if clip.shape[-1] == 1:
            clip = np.repeat(clip, 3, axis=-1)
        return to_tensor(clip), self.reports[index]


def archive_reports(table: pd.DataFrame, report_column: str | None, seed: int) -> list[str]:
    if report_column:
        if report_column not in table.columns:
            raise ValueError(f"FileList has no column {report_column!r}")
        return table[report_column].astype(str).tolist()
    rng = np.random.default_rng(seed)
    edv = table["EDV"] if "EDV" in table.columns else [None] * len(table)
    return [make_report(float(ef), rng, None if v is None or pd.isna(v) else float(v)) for ef, v in zip(table["EF"], edv)]


def clip_loss(video: torch.Tensor, text: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    logits = logit_scale.exp() * video @ text.t()
    target = torch.arange(len(video), device=video.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def pretrain(config: PretrainConfig, out: str | Path, progress: bool = True) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    generator = seed_everything(config.seed)
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    backbone = load_backbone(config.arch)
    model = backbone.model.to(device).train()

    table = read_filelist(Path(config.data) / "FileList.csv")
    reports = archive_reports(table, config.report_column, config.seed)
    dataset = ReportClips(config.data, reports, table, config.frames_per_sample, config.period, config.image_size,
                          cache=config.cache, progress=progress)
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=True, generator=generator,
                        num_workers=config.num_workers, persistent_workers=config.num_workers > 0)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / config.warmup_steps)
                                                 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / config.steps))))
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    seen_tokens: set[int] = set()
    log_rows, step, started = [], 0, time.time()
    bar = tqdm(total=config.steps, desc="pretraining", unit="step", disable=not progress)
    while step < config.steps:
        for clips, texts in loader:
            tokens = backbone.tokenizer(list(texts))
            seen_tokens.update(torch.unique(tokens).tolist())
            b, t = clips.shape[:2]
            with autocast(device, precision):
                frames = F.normalize(model.encode_image(clips.flatten(0, 1).to(device)), dim=-1)
                video = F.normalize(frames.view(b, t, -1).mean(dim=1), dim=-1)
                text = model.encode_text(tokens.to(device), normalize=True)
                loss = clip_loss(video.float(), text.float(), model.logit_scale)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            step += 1
            log_rows.append({"step": step, "loss": loss.item(), "logit_scale": model.logit_scale.exp().item(),
                             "seconds": time.time() - started})
            bar.update()
            bar.set_postfix(loss=f"{log_rows[-1]['loss']:.3f}")
            if step >= config.steps:
                break
    bar.close()
    with torch.no_grad():  # rows of words never seen carry no information: zero them, store the rest
        unseen = torch.ones(model.token_embedding.weight.shape[0], dtype=torch.bool)
        unseen[list(seen_tokens)] = False
        model.token_embedding.weight[unseen.to(model.token_embedding.weight.device)] = 0
    model_cfg = json.loads((resources.files("cardiacclip.model") / "configs" / f"{config.arch}.json").read_text()) \
        if (resources.files("cardiacclip.model") / "configs" / f"{config.arch}.json").is_file() else \
        {"model_cfg": backbone.model_cfg, "preprocess_cfg": {"mean": list(backbone.mean), "std": list(backbone.std)}}
    model_cfg["description"] = TOY_NOTICE if config.report_column is None else model_cfg.get("description", "")
    (out / "open_clip_config.json").write_text(json.dumps({k: model_cfg[k] for k in ("description", "model_cfg", "preprocess_cfg") if k in model_cfg}, indent=2))
    metadata = {"notice": TOY_NOTICE if config.report_column is None else "", "pretrain_config": json.dumps(asdict(config)),
                "final_loss": f"{np.mean([r['loss'] for r in log_rows[-20:]]):.4f}"}
    save_backbone_weights(model.cpu(), out / "open_clip_model.safetensors", metadata=metadata)
    (out / "pretrain_config.yaml").write_text(yaml.safe_dump(asdict(config), sort_keys=False))
    pd.DataFrame(log_rows).to_csv(out / "pretrain_log.csv", index=False)
    log.info("pretrained %d steps in %.0f s; final loss %s; wrote %s", step, time.time() - started, metadata["final_loss"], out)
    return out
