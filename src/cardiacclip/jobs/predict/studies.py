"""Studies in `cardiacclip predict`: a study key safe to write out, a user's video-to-study map, and the
per-study table beside the per-video rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.jobs.output import OutputError


def study_key(study_uid: str) -> str:
    """A study identifier safe to write out: a hash of the StudyInstanceUID (the UID itself is not written)."""
    return "S" + hashlib.sha256(study_uid.encode()).hexdigest()[:16]


def read_study_map(path: Path) -> dict[str, str]:
    """A user's CSV mapping videos to studies (columns: file, study), for AVI/MP4 that carry no study UID.
    `file` may be the path as given to predict or just the file name."""
    import pandas as pd

    table = pd.read_csv(path, dtype=str)
    if not {"file", "study"} <= set(table.columns):
        raise OutputError(f"{path}: a study map needs the columns file and study (has {list(table.columns)})")
    return dict(zip(table["file"].str.strip(), table["study"].str.strip(), strict=True))


def study_table(out: Path) -> Path:
    """Per-study rows beside the per-video output (`<out>.studies.csv`): median EF of the unflagged videos
    that were predicted, how many were used of how many (as EchoPrime reports at study level)."""
    import pandas as pd

    rows = pd.read_csv(out) if out.suffix.lower() == ".csv" else pd.read_json(out, lines=True)
    rows = rows[rows["study"].astype(object).fillna("").astype(str) != ""]
    records = []
    for study, group in rows.groupby("study", sort=True):
        used = group[(group["status"] == "ok") & (group["flags"].astype(object).fillna("").astype(str) == "")]
        records.append(
            {
                "study": study,
                "EF_median": round(float(used["EF_pred"].median()), 2) if len(used) else None,
                "videos_used": len(used),
                "videos": len(group),
                "notice": RESEARCH_NOTICE,
            }
        )
    path = out.with_suffix(".studies.csv")
    pd.DataFrame(records, columns=["study", "EF_median", "videos_used", "videos", "notice"]).to_csv(path, index=False)
    return path
