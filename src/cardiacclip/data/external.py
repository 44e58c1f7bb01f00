"""External validation sets in their own layouts (CAMUS, EchoNet-Pediatric): what each release gives per loop.

A reader (`cardiacclip.data.camus`, `cardiacclip.data.pediatric`) turns a release into `SourceLoop`s;
`cardiacclip convert --from camus|echonet-pediatric` writes them in the EchoNet-Dynamic layout the rest of the
toolkit reads, keeping the end-diastolic and end-systolic frame numbers where the source has them (FileList.csv
columns EDFrame, ESFrame, 0-based) so the key-frame metric works on them.

Tested by tests/data/test_external_sets.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cardiacclip.data.errors import DatasetError
from cardiacclip.data.library_messages import stderr_messages

log = logging.getLogger(__name__)

FOLD_RULE = {"TRAIN": range(0, 8), "VAL": range(8, 9), "TEST": range(9, 10)}  # folds 0-7 / 8 / 9


@dataclass
class SourceLoop:
    """One loop of an external set.

    name: the FileName to write. path: the image (NIfTI/MHD) or video file. ef: percent. split: TRAIN, VAL or
    TEST. fps: frames per second (None: the release does not say). ed, es: 0-based frame numbers of end-diastole
    and end-systole in this loop (None where the release has none). extra: other labels kept as FileList columns
    (Sex, Age, ImageQuality, Weight, Height, ...).
    """

    name: str
    path: Path
    ef: float
    split: str
    fps: float | None = None
    ed: int | None = None
    es: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def read_cfg(path: Path) -> dict[str, str]:
    """A CAMUS `Info_*.cfg` file: one `Key: value` per line."""
    values = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return values


def read_image_frames(path: Path) -> np.ndarray:
    """(F, H, W) uint8 frames of a NIfTI (.nii, .nii.gz) or MetaImage (.mhd + .raw) sequence, read by SimpleITK;
    other pixel types are scaled to 0-255. What ITK prints about the file is logged once, as its warning, or
    joins the error."""
    import SimpleITK as sitk

    messages: list[str] = []
    try:
        with stderr_messages(messages):
            array = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    except RuntimeError as exc:
        said = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        reason = "; ".join([said[-1][:200], *messages])  # ITK's own reason comes last, after where it was raised
        raise DatasetError(f"{path}: not a readable NIfTI/MetaImage sequence ({reason})") from None
    for message in messages:
        log.warning("%s: %s", path, message)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise DatasetError(f"{path}: expected a 2D+time sequence, got an array of shape {array.shape}")
    if array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        array = np.clip((array - low) / max(high - low, 1e-6) * 255, 0, 255).astype(np.uint8)
    return array


def parse_folds(text: str | None) -> dict[str, set[int]]:
    """`TRAIN=0-7,VAL=8,TEST=9` -> {split: folds}; None gives `FOLD_RULE`. A fold in two splits is an error."""
    if not text:
        return {split: set(folds) for split, folds in FOLD_RULE.items()}
    rule: dict[str, set[int]] = {}
    for part in text.split(","):
        split, folds = _fold_part(part, text)
        rule.setdefault(split, set()).update(folds)
    seen = [f for folds in rule.values() for f in folds]
    if len(seen) != len(set(seen)):
        raise DatasetError(f"--folds {text!r}: a fold is in two splits")
    return rule


def _fold_part(part: str, text: str) -> tuple[str, range]:
    """One `SPLIT=a-b` (or `SPLIT=a`) of a --folds value: the split and its folds."""
    split, _, spec = part.partition("=")
    split = split.strip().upper()
    if split not in FOLD_RULE or not spec.strip():
        raise DatasetError(f"--folds {text!r}: write TRAIN=0-7,VAL=8,TEST=9 (splits TRAIN, VAL, TEST)")
    low, _, high = spec.strip().partition("-")
    try:
        return split, range(int(low), int(high or low) + 1)
    except ValueError:
        raise DatasetError(f"--folds {text!r}: folds are numbers or ranges such as 0-7") from None


def split_of_fold(fold: int, rule: dict[str, set[int]]) -> str | None:
    return next((split for split, folds in rule.items() if fold in folds), None)
