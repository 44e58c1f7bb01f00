"""CAMUS (Leclerc et al., IEEE TMI 2019): 500 patients, apical two- and four-chamber loops, in its public layouts.

Two releases, as public loaders read them:

    NIfTI (2023):  [CAMUS_public/]database_nifti/patientNNNN/patientNNNN_{2CH,4CH}_half_sequence.nii.gz
                   [CAMUS_public/]database_nifti/patientNNNN/Info_{2CH,4CH}.cfg
                   [CAMUS_public/]database_split/subgroup_{training,validation,testing}.txt
    MetaImage:     [training/]patientNNNN/patientNNNN_{2CH,4CH}_sequence.mhd (+ .raw), Info_{2CH,4CH}.cfg

`Info_*.cfg` holds `Key: value` lines: ED and ES (1-based frame numbers in the loop), NbFrame, Sex, Age,
ImageQuality, EF and, where given, FrameRate. The half sequences run from end-diastole to end-systole: 10-40
frames, often less than one clip (the sampler pads with black, see the manual's "External validation"). Splits:
the official subgroup files when the release has them; otherwise patient number modulo 10 (0-7 TRAIN, 8 VAL, 9
TEST). A loop without a usable EF is skipped and named.

Tested by tests/data/test_external_sets.py.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from cardiacclip.data.errors import DatasetError
from cardiacclip.data.external import SourceLoop, read_cfg

log = logging.getLogger(__name__)

CAMUS_VIEWS = ("4CH", "2CH")
SPLIT_FILES = {"TRAIN": "subgroup_training.txt", "VAL": "subgroup_validation.txt", "TEST": "subgroup_testing.txt"}
PATIENT = re.compile(r"^patient(\d+)$")


def _patients(root: Path) -> list[Path]:
    found: dict[str, Path] = {}
    for candidate in (root / "database_nifti", root / "training", root / "testing", root):
        if candidate.is_dir():
            found.update({p.name: p for p in candidate.iterdir() if p.is_dir() and PATIENT.match(p.name)})
    if not found:
        raise DatasetError(f"{root}: no CAMUS patient folders (patientNNNN) here, in database_nifti/ or training/")
    return [found[name] for name in sorted(found)]


def _official_splits(root: Path) -> dict[str, str]:
    splits = {}
    for folder in (root / "database_split", root):
        for split, name in SPLIT_FILES.items():
            path = folder / name
            if path.is_file():
                splits.update({line.strip(): split for line in path.read_text().splitlines() if line.strip()})
    return splits


def _sequence(folder: Path, view: str) -> Path | None:
    for name in (f"{folder.name}_{view}_half_sequence.nii.gz", f"{folder.name}_{view}_half_sequence.nii",
                 f"{folder.name}_{view}_sequence.mhd", f"{folder.name}_{view}_half_sequence.mhd"):  # fmt: skip
        if (folder / name).is_file():
            return folder / name
    return None


def camus_loops(root: str | Path, view: str = "4CH") -> list[SourceLoop]:
    """The loops of one view (`4CH` or `2CH`) of a CAMUS release (see the module docstring)."""
    root, view = Path(root), view.upper()
    if view not in CAMUS_VIEWS:
        raise DatasetError(f"CAMUS has the views {', '.join(CAMUS_VIEWS)}, not {view!r}")
    official = _official_splits(root)
    loops = [_loop(folder, view, official) for folder in _patients(root)]
    return [loop for loop in loops if loop is not None]


def _loop(folder: Path, view: str, official: dict[str, str]) -> SourceLoop | None:
    """One patient's loop of `view`; None (with a warning) without the sequence, its cfg or an EF."""
    sequence, cfg_path = _sequence(folder, view), folder / f"Info_{view}.cfg"
    if sequence is None or not cfg_path.is_file():
        log.warning("%s: no %s sequence or Info_%s.cfg: skipped", folder.name, view, view)
        return None
    cfg = read_cfg(cfg_path)
    try:
        ef = float(cfg["EF"])
    except (KeyError, ValueError):
        log.warning("%s: no EF in %s: skipped", folder.name, cfg_path.name)
        return None
    number = int(PATIENT.match(folder.name).group(1))
    return SourceLoop(
        name=f"{folder.name}_{view}",
        path=sequence,
        ef=ef,
        split=official.get(folder.name) or _split_by_number(number),
        fps=_optional(cfg, "FrameRate", float),
        ed=_frame(cfg, "ED"),
        es=_frame(cfg, "ES"),
        extra={k: cfg[k] for k in ("Sex", "Age", "ImageQuality") if k in cfg},
    )


def _split_by_number(number: int) -> str:
    """Without the official split files: patient number modulo 10, 0-7 TRAIN, 8 VAL, 9 TEST."""
    return "TRAIN" if number % 10 < 8 else "VAL" if number % 10 == 8 else "TEST"


def _optional(cfg: dict[str, str], key: str, kind: type) -> float | int | None:
    return kind(cfg[key]) if cfg.get(key) else None


def _frame(cfg: dict[str, str], key: str) -> int | None:
    """A cfg's 1-based ED or ES frame number as a 0-based frame index."""
    number = _optional(cfg, key, int)
    return None if number is None else number - 1
