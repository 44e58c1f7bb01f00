"""EchoNet-Pediatric (Reddy et al., JASE 2023): apical four-chamber (A4C) and parasternal short-axis (PSAX) videos.

Layout, as the release ships and public loaders read it:

    A4C/FileList.csv         FileName (with or without .avi), EF, Sex, Age, Weight, Height, Split (folds 0-9)
    A4C/VolumeTracings.csv   FileName, X, Y, Frame: LV outline points per traced frame (end-systole listed first,
                             end-diastole last; "No Systolic" / "No Diastolic" where a phase was not traced)
    A4C/Videos/*.avi         112 x 112
    PSAX/...                 the same

Folds become splits by a documented rule (`external.FOLD_RULE`: 0-7 TRAIN, 8 VAL, 9 TEST) or the user's
(`--folds TRAIN=0-7,VAL=8,TEST=9`). The traced frames give ED and ES.

Tested by tests/data/test_external_sets.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from cardiacclip.data.errors import DatasetError
from cardiacclip.data.external import SourceLoop, split_of_fold
from cardiacclip.data.filelist import read_table

log = logging.getLogger(__name__)

PEDIATRIC_VIEWS = ("A4C", "PSAX")
EXTRA = ("Sex", "Age", "Weight", "Height")


def traced_phases(path: Path) -> dict[str, tuple[int | None, int | None]]:
    """{video name without extension: (ES frame, ED frame)} from a VolumeTracings.csv with X, Y, Frame columns
    (the first frame listed is end-systole, the last end-diastole; untraced phases are None)."""
    if not path.is_file():
        return {}
    table = read_table(path, "VolumeTracings.csv", dtype={"Frame": str})
    phases = {}
    for name, rows in table.groupby("FileName", sort=False):
        frames = [int(f) if str(f).strip().isdigit() else None for f in rows["Frame"].drop_duplicates()]
        phases[Path(str(name)).stem] = (frames[0], frames[-1]) if len(frames) >= 2 else (None, None)
    return phases


def pediatric_loops(root: str | Path, view: str, rule: dict[str, set[int]]) -> list[SourceLoop]:
    """The videos of one view (`A4C` or `PSAX`) of an EchoNet-Pediatric release, folds mapped by `rule`."""
    root, view = Path(root), view.upper()
    if view not in PEDIATRIC_VIEWS:
        raise DatasetError(f"EchoNet-Pediatric has the views {', '.join(PEDIATRIC_VIEWS)}, not {view!r}")
    folder = root / view if (root / view).is_dir() else root
    if not (folder / "FileList.csv").is_file():
        raise DatasetError(f"{root}: no {view}/FileList.csv (EchoNet-Pediatric layout: A4C/ and PSAX/ folders)")
    table = read_table(folder / "FileList.csv", "FileList")
    phases = traced_phases(folder / "VolumeTracings.csv")
    loops = [_loop(folder, row, rule, phases) for row in table.to_dict("records")]
    return [loop for loop in loops if loop is not None]


def _loop(folder: Path, row: dict, rule: dict[str, set[int]], phases: dict) -> SourceLoop | None:
    """One FileList row as a loop; None (with a warning) without an EF or with a fold outside the rule."""
    stem = Path(str(row["FileName"])).stem
    split = split_of_fold(int(row["Split"]), rule) if str(row.get("Split", "")).strip().isdigit() else None
    if split is None or pd.isna(row.get("EF")):
        log.warning("%s: no EF or a fold outside the split rule: skipped", stem)
        return None
    es, ed = phases.get(stem, (None, None))
    extra = {k: row[k] for k in EXTRA if k in row and not pd.isna(row[k])}
    return SourceLoop(stem, folder / "Videos" / f"{stem}.avi", float(row["EF"]), split, None, ed, es, extra)
