"""The allowed values of the options that several places accept, each named once.

The config fields, the command line (typer reads a `Literal` as a list of choices and refuses any other
value with exit status 2), the API server and the library signatures all use these types, so adding a
value here adds it everywhere; `values(kind)` gives the tuple for a message or a form.
"""

from __future__ import annotations

from typing import Literal, get_args

# The ultrasound region a reader keeps (`cardiacclip.data.region`): DICOM region tags, else the scan sector
# found in the pixels (auto); the tags only (regions); the pixels only (sector); the whole frame (none).
CropMethod = Literal["auto", "regions", "sector", "none"]
# How a B-mode loop stored in a colour map (a tint) is read (`cardiacclip.data.colour`).
ColourMode = Literal["luminance", "rgb"]
# Numeric precision of a run (`cardiacclip.runtime.resolve_precision`).
Precision = Literal["auto", "fp32", "bf16", "fp16"]
# The unit of `predict`'s table: a row per video, or also a row per study.
GroupBy = Literal["video", "study"]
# What a contrastive pretraining sample shows (`cardiacclip.train.pretrain`).
PretrainViews = Literal["clips", "key_frames"]
# Drawing styles of the synthetic echoes (`cardiacclip.synthetic.styles`).
SyntheticStyle = Literal["echonet", "mixed", "second"]
# Heart rhythms the synthetic echoes draw (`cardiacclip.synthetic.echoes.sample_rhythm`): one cycle length and
# one EF for every beat, or AF-like beat-to-beat variation.
SyntheticRhythm = Literal["regular", "irregular"]
# The styles the demo trains and tests on: its own, and the held-out look.
DemoStyle = Literal["echonet", "second"]
# External validation sets `convert --from` reads and `synth --layout` imitates.
ExternalSet = Literal["camus", "echonet-pediatric"]


def values(kind: object) -> tuple[str, ...]:
    """The allowed values of one of the `Literal` types above, e.g. ("auto", "regions", "sector", "none")."""
    return get_args(kind)
