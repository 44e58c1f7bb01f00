"""cardiacclip: few-shot LVEF prediction from echocardiogram videos (CardiacCLIP, MICCAI 2025).

Research software, not a medical device: its outputs must not be used for diagnosis or
treatment decisions.

The public Python API (imported lazily, so `import cardiacclip` stays cheap)::

    import cardiacclip as cc
    model = cc.load("runs/k1")                  # a run folder or a checkpoint file
    result = model.predict("study.dcm")         # -> cc.Prediction (EF in percent, category, ...)
    results = model.predict_many(["a.avi", "b.dcm"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cardiacclip.about import RESEARCH_NOTICE, __version__

if TYPE_CHECKING:
    from cardiacclip.model.predictor import BeatSummary, Prediction, Predictor, load

_API = {"load", "Predictor", "Prediction", "BeatSummary"}

__all__ = ["RESEARCH_NOTICE", "BeatSummary", "Prediction", "Predictor", "__version__", "load"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from cardiacclip.model import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module 'cardiacclip' has no attribute {name!r}")
