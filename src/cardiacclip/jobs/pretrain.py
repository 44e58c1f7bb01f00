"""`cardiacclip pretrain`: pretrain a small echo-CLIP and write it as a backbone folder.

Output folder: open_clip_config.json + open_clip_model.safetensors (fp16; token-embedding rows
of words never seen in pretraining are zero and not stored), pretrain_config.yaml,
pretrain_log.csv. `--backbone <folder>` loads it in every command.

Tested by tests/synthetic/test_pretrain.py.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import yaml

from cardiacclip.model.backbone import save_backbone_weights
from cardiacclip.train.pretrain import TOY_NOTICE, PretrainConfig, pretrain_model

log = logging.getLogger(__name__)


def pretrain(config: PretrainConfig, out: str | Path, progress: bool = True) -> Path:
    """Pretrain (see `cardiacclip.train.pretrain`) and write the backbone folder `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = pretrain_model(config, progress)
    backbone = result.backbone
    toy = config.report_column is None  # reports written from labels: the synthetic toy
    open_clip_config = {
        "description": TOY_NOTICE if toy else "",
        "model_cfg": backbone.model_cfg,
        "preprocess_cfg": {"mean": list(backbone.mean), "std": list(backbone.std)},
    }
    (out / "open_clip_config.json").write_text(json.dumps(open_clip_config, indent=2))
    final_loss = f"{result.log['loss'].tail(20).mean():.4f}"
    metadata = {
        "notice": TOY_NOTICE if toy else "",
        "pretrain_config": json.dumps(asdict(config)),
        "final_loss": final_loss,
    }
    save_backbone_weights(backbone.model, out / "open_clip_model.safetensors", metadata=metadata)
    (out / "pretrain_config.yaml").write_text(yaml.safe_dump(asdict(config), sort_keys=False))
    result.log.to_csv(out / "pretrain_log.csv", index=False)
    log.info(
        "pretrained %d steps in %.0f s; final loss %s; wrote %s",
        len(result.log),
        result.log["seconds"].iloc[-1] if len(result.log) else 0.0,
        final_loss,
        out,
    )
    return out
