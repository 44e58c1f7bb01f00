"""Studies in `cardiacclip predict`: a study key safe to write out, a user's video-to-study map, which rows count
for a study, and the one way from predict's rows to the per-study table and the SRs (`report_studies`), used by
`predict --by study --write-sr` and by `pacs run`.

Tested by tests/jobs/predict/test_studies.py, tests/dicom/test_sr.py and tests/jobs/pacs/test_pacs.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.data.filelist import read_table
from cardiacclip.dicom.sr import LoopResult, ModelIdentity, loop_result, write_reports
from cardiacclip.jobs.output import OutputError
from cardiacclip.model.beats import BEAT_FLAGS

STUDY_COLUMNS = ["study", "EF_median", "videos_used", "videos", "beats", "irregular_rhythm", "notice"]


def study_key(study_uid: str) -> str:
    """A study identifier safe to write out: a hash of the StudyInstanceUID (the UID itself is not written)."""
    return "S" + hashlib.sha256(study_uid.encode()).hexdigest()[:16]


def read_study_map(path: Path) -> dict[str, str]:
    """A user's CSV mapping videos to studies (columns: file, study), for AVI/MP4 that carry no study UID.
    `file` may be the path as given to predict or just the file name."""
    table = read_table(path, "study map", dtype=str)
    if not {"file", "study"} <= set(table.columns):
        raise OutputError(f"{path}: a study map needs the columns file and study (has {list(table.columns)})")
    return dict(zip(table["file"].str.strip(), table["study"].str.strip(), strict=True))


def usable(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows that count for a study: predicted (status ok) and without a quality flag (the rhythm flags of
    `cardiacclip.model.beats` describe the heart, not the loop, and do not leave a video out)."""
    flags = rows["flags"].astype(object).fillna("").astype(str).str.split()
    quality = flags.map(lambda found: bool(set(found) - set(BEAT_FLAGS)))
    return rows[(rows["status"] == "ok") & ~quality]


@dataclass
class StudyOutputs:
    table: Path | None = None  # the per-study table, <out>.studies.csv
    reports: list[Path] | None = None  # one SR per study


def report_studies(
    rows: pd.DataFrame,
    out: Path,
    table: bool = True,
    sr_folder: Path | None = None,
    identity: ModelIdentity | None = None,
) -> StudyOutputs:
    """From predict's rows (in memory): with `table` the per-study table beside `out`, and with `sr_folder` one SR
    per study signed with the model's `identity`."""
    outputs = StudyOutputs(table=study_table(rows, out) if table else None)
    if sr_folder is not None:
        outputs.reports = write_reports(sr_studies(rows), sr_folder, identity)
    return outputs


def study_table(rows: pd.DataFrame, out: Path) -> Path:
    """Per-study rows beside the per-video output (`<out>.studies.csv`): median EF of the unflagged videos
    that were predicted, how many were used of how many (as EchoPrime reports at study level)."""
    rows = rows[rows["study"].astype(object).fillna("").astype(str) != ""]
    records = []
    for study, group in rows.groupby("study", sort=True):
        used = usable(group)
        median = round(float(used["EF_pred"].median()), 2) if len(used) else None
        record = {"study": study, "EF_median": median, "videos_used": len(used), "videos": len(group)}
        records.append({**record, **_beats(used)})
    path = out.with_suffix(".studies.csv")
    table = pd.DataFrame(records, columns=STUDY_COLUMNS[:-1]).assign(notice=RESEARCH_NOTICE)
    table = table.astype({"beats": "Int64", "irregular_rhythm": "Int64"})  # counts, empty without beats
    table.to_csv(path, index=False)
    return path


def _beats(used: pd.DataFrame) -> dict:
    """A study's beats: complete beats averaged over its used videos, and how many of them are flagged
    irregular_rhythm (both empty when they were predicted without --clips beats)."""
    if "n_beats" not in used or used["n_beats"].isna().all():
        return {"beats": None, "irregular_rhythm": None}
    irregular = used["flags"].astype(object).fillna("").astype(str).str.split().map(lambda f: "irregular_rhythm" in f)
    return {"beats": int(used["n_beats"].fillna(0).sum()), "irregular_rhythm": int(irregular.sum())}


def sr_studies(rows: pd.DataFrame) -> dict[str, list[LoopResult]]:
    """The usable DICOM loops of each study (StudyInstanceUID from the file's header)."""
    studies: dict[str, list[LoopResult]] = {}
    for row in usable(rows).to_dict("records"):
        low, high = (None if pd.isna(row.get(k)) else float(row[k]) for k in ("EF_low", "EF_high"))
        beats = row.get("n_beats")
        beats = int(beats) if beats is not None and not pd.isna(beats) and str(beats) != "" else None
        found = loop_result(row["file"], float(row["EF_pred"]), low, high, beats)
        if found is not None:
            studies.setdefault(found[0], []).append(found[1])
    return studies
