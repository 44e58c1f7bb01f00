"""The CardiacCLIP model: EchoZoom frames -> MFL video embedding -> category logits -> EF.

Data flow for a batch of clips (B, T, 3, H, W):
    frames (B*T, 3, H, W) --EchoZoom--> (B*T, D), L2-normalized per frame
    --MFL over T--> video embedding v (B, D) and frame weights (B, T)
    logits = exp(logit_scale) * cos(v, t_k) for the K category prompts t_k  (paper Eq. for p(y|x))
    --EFHead--> EF (fine or coarse)
The logit scale is EchoCLIP's and stays frozen, as in the reference.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cardiacclip.config import ModelConfig
from cardiacclip.model.backbone import Backbone
from cardiacclip.model.echozoom import EchoZoom
from cardiacclip.model.ef_head import EFHead
from cardiacclip.model.mfl import MFL, MeanPool
from cardiacclip.model.prompts import PromptSet

log = logging.getLogger(__name__)


class CardiacCLIP(nn.Module):
    """Few-shot LVEF regressor over an open_clip backbone.

    Args:
        backbone: the open_clip model and tokenizer (`load_backbone`); its image tower's trunk
            is taken over by EchoZoom and its pretrained projection only seeds EchoZoom's.
        config: architecture switches (`ModelConfig`).
        prompts: the LVEF category prompts and intervals.
        tile_size: frame size the trunk sees (the data's image size, 112 for EchoNet).
    """

    def __init__(self, backbone: Backbone, config: ModelConfig, prompts: PromptSet, tile_size: int = 112):
        super().__init__()
        self.config = config
        self.prompts = prompts
        self.mean, self.std = tuple(backbone.mean), tuple(backbone.std)  # the preprocessing its input needs
        clip = backbone.model
        visual = clip.visual
        self.image_encoder = EchoZoom.from_open_clip(
            visual, config.scales, tile_size, init=config.zoom_init, stitch=config.zoom_stitch, norm=config.zoom_norm
        )
        clip.visual = nn.Identity()  # the text tower stays; the image tower now lives in EchoZoom
        self.text_model = clip
        if config.text_attention == "bidirectional":
            clip.attn_mask = None  # every token attends to every token, as the released code ran the text tower
        clip.logit_scale.requires_grad_(False)
        dim = backbone.embed_dim
        self.aggregator = (
            MFL(dim, config.mfl_hidden, config.mfl_init, config.mfl_score) if config.aggregator == "mfl" else MeanPool()
        )
        self.head = EFHead(
            prompts.anchors,
            [i.low for i in prompts.intervals],
            [i.high for i in prompts.intervals],
            mode=config.head,
            hidden=config.fine_hidden,
        )
        self.register_buffer("prompt_tokens", _tokens(backbone, prompts), persistent=False)
        self._text_cache: torch.Tensor | None = None
        self.register_load_state_dict_post_hook(lambda module, keys: module.clear_text_cache())
        self._apply_training_switches(config)

    def _apply_training_switches(self, config: ModelConfig) -> None:
        """Frozen trunk or text tower, and gradient checkpointing where the trunk offers it."""
        if config.freeze_trunk:
            self.image_encoder.trunk.requires_grad_(False)
        if config.freeze_text:
            self.text_parameters_requires_grad(False)
        if config.grad_checkpointing and hasattr(self.image_encoder.trunk, "set_grad_checkpointing"):
            self.image_encoder.trunk.set_grad_checkpointing(True)

    # ----------------------------------------------------------------------------- text side
    def text_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.text_model.named_parameters() if name != "logit_scale"]

    def text_parameters_requires_grad(self, flag: bool) -> None:
        for p in self.text_parameters():
            p.requires_grad_(flag)

    @property
    def text_trainable(self) -> bool:
        return any(p.requires_grad for p in self.text_parameters())

    def clear_text_cache(self) -> None:
        self._text_cache = None

    def train(self, mode: bool = True) -> CardiacCLIP:
        self.clear_text_cache()
        super().train(mode)
        if self.config.freeze_trunk:  # a frozen trunk is a fixed function: no dropout or drop-path in training
            self.image_encoder.trunk.eval()
        return self

    def text_features(self) -> torch.Tensor:
        """(K, D) unit category embeddings; computed once while the text tower is frozen or in eval mode.

        The cache is dropped on `train()`/`eval()` and on `load_state_dict`; code that changes
        text weights outside training mode must call `clear_text_cache()`.
        """
        recompute = self.training and self.text_trainable and torch.is_grad_enabled()
        if not recompute and self._text_cache is not None and self._text_cache.device == self.prompt_tokens.device:
            return self._text_cache
        features = self.text_model.encode_text(self.prompt_tokens, normalize=True)
        if not recompute:
            self._text_cache = features.detach()
        return features

    # ----------------------------------------------------------------------------- video side
    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) -> (B, T, D) frame embeddings, L2-normalized unless `mfl_input="raw"` (the reference)."""
        b, t = frames.shape[:2]
        return self.embed_pooled(self.image_encoder.pooled_features(frames.flatten(0, 1)).view(b, t, -1))

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """(B, T, F) EchoZoom pooled trunk features (`EchoZoom.pooled_features`, cacheable when the trunk is
        frozen) -> (B, T, D) frame embeddings, as `encode_frames` gives them."""
        b, t = pooled.shape[:2]
        features = self.image_encoder.embed_pooled(pooled.flatten(0, 1))
        if self.config.mfl_input == "normalized":
            features = F.normalize(features, dim=-1)
        return features.view(b, t, -1)

    @property
    def frames_independent(self) -> bool:
        """Whether a frame's embedding depends on that frame alone (not under the reference's batch
        standardisation), so a frame shared by overlapping clips can be encoded once."""
        return self.config.zoom_norm != "batch"

    def logit_scale(self) -> torch.Tensor:
        return self.text_model.logit_scale.exp()

    def forward(self, video: torch.Tensor, pooled: bool = False) -> dict[str, Any]:
        """(B, T, 3, H, W) preprocessed clips -> dict with logits (B, K), probs (B, K), ef and ef_coarse (B,)
        in percent, attention (B, T) and embedding (B, D). With `pooled`, `video` holds (B, T, F) cached
        pooled trunk features instead of frames (`embed_pooled`)."""
        return self.forward_features(self.embed_pooled(video) if pooled else self.encode_frames(video))

    def forward_features(self, frames: torch.Tensor) -> dict[str, Any]:
        """The rest of `forward` from (B, T, D) frame embeddings (`encode_frames`): MFL, logits, EF."""
        embedding, attention = self.aggregator(frames)
        text = self.text_features().to(embedding.dtype)
        logits = self.logit_scale() * embedding @ text.t()
        ef, ef_coarse = self.head(logits)
        return {
            "logits": logits,
            "probs": torch.softmax(logits.float(), dim=-1),
            "ef": ef,
            "ef_coarse": ef_coarse,
            "attention": attention,
            "embedding": embedding,
        }

    # ----------------------------------------------------------------------------- parameter groups
    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters by part (each gets its own learning rate)."""
        groups = {
            "trunk": list(self.image_encoder.trunk.parameters()),
            "zoom": list(self.image_encoder.norms.parameters()) + list(self.image_encoder.proj.parameters()),
            "mfl": list(self.aggregator.parameters()),
            "text": self.text_parameters(),
            "head": list(self.head.parameters()),
        }
        return {name: [p for p in params if p.requires_grad] for name, params in groups.items()}


def _tokens(backbone: Backbone, prompts: PromptSet) -> torch.Tensor:
    """The prompts' tokens (K, context length); a prompt longer than the context is truncated, with a warning."""
    tokens = backbone.tokenizer(list(prompts.texts))
    truncated = [name for name, row in zip(prompts.names, tokens, strict=True) if int(row[-1]) != 0]
    if truncated:
        log.warning("prompts longer than the text context (%d tokens) are truncated: %s", tokens.shape[1], truncated)
    return tokens
