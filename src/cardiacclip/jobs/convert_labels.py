"""The labels of a converted archive: a user's labels CSV joined to the converted loops by SOP Instance UID,
Study Instance UID, accession number or file name, and the tables `convert` writes from the private mapping:
FileList.csv for labelled loops, FileList_unlabelled.csv for the rest. Without a Split, a salted hash of the study
assigns TRAIN/VAL/TEST, so a study's loops stay together.

Tested by tests/jobs/test_convert.py.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from cardiacclip.about import RESEARCH_NOTICE
from cardiacclip.data.errors import DatasetError
from cardiacclip.data.filelist import read_table

LABEL_KEYS = ("SOPInstanceUID", "StudyInstanceUID", "AccessionNumber", "file")
SPLIT_FRACTIONS = (("TRAIN", 0.75), ("VAL", 0.125), ("TEST", 0.125))

log = logging.getLogger(__name__)


def read_labels(path: Path) -> pd.DataFrame:
    """A labels CSV: an EF column (percent) and at least one key column (SOPInstanceUID, StudyInstanceUID,
    AccessionNumber, or file: the source file name); an optional Split column is used as given."""
    if not path.is_file():
        raise DatasetError(f"{path}: labels CSV not found")
    table = read_table(path, "labels CSV", dtype=str)
    if "EF" not in table.columns:
        raise DatasetError(
            f"{path}: a labels CSV needs an EF column (percent); it has {list(table.columns)}: rename the EF column"
        )
    if not set(LABEL_KEYS) & set(table.columns):
        raise DatasetError(
            f"{path}: a labels CSV needs one of the columns {', '.join(LABEL_KEYS)} to join on "
            f"(has {list(table.columns)})"
        )
    table["EF"] = pd.to_numeric(table["EF"], errors="coerce")
    bad = table["EF"].isna() | (table["EF"] < 0) | (table["EF"] > 100)
    if bad.any():
        log.warning("%s: %d label row(s) without an EF in 0-100 are ignored", path, int(bad.sum()))
    return table[~bad].reset_index(drop=True)


def write_filelists(mapping: pd.DataFrame, out: Path, labels: pd.DataFrame | None, salt: str) -> tuple[int, int]:
    """FileList.csv (labelled loops) and FileList_unlabelled.csv from the private mapping (the UID map's rows, as
    text); returns their sizes."""
    mapping = mapping.drop_duplicates(subset=["FileName"], keep="last").reset_index(drop=True)
    ef, split, method = _join_labels(mapping, labels)
    study = mapping["StudyInstanceUID"].where(mapping["StudyInstanceUID"] != "", mapping["FileName"])
    default_split = [_split_of(s, salt) for s in study]
    table = pd.DataFrame(
        {
            "FileName": mapping["FileName"],
            "EF": ef,
            "FrameHeight": mapping["FrameHeight"],
            "FrameWidth": mapping["FrameWidth"],
            "FPS": mapping["FPS"],
            "NumberOfFrames": mapping["NumberOfFrames"],
            "Split": [s or d for s, d in zip(split, default_split, strict=True)],
        }
    )
    if labels is not None and "EF_method" in labels.columns:  # labels from echo reports: how each EF was measured
        table["EF_method"] = method
    labelled = table[table["EF"].notna()]
    labelled.to_csv(out / "FileList.csv", index=False)
    table[table["EF"].isna()].to_csv(out / "FileList_unlabelled.csv", index=False)
    (out / "NOTICE.txt").write_text(
        f"Converted by cardiacclip convert. FileNames are salted hashes; no patient data is stored here.\n"
        f"{RESEARCH_NOTICE}\n"
    )
    return len(labelled), len(table) - len(labelled)


def _join_labels(
    mapping: pd.DataFrame, labels: pd.DataFrame | None
) -> tuple[list[float | None], list[str], list[str]]:
    """EF, Split and EF_method per mapping row: the first key (SOP UID, study UID, accession, file name) with a
    label."""
    n = len(mapping)
    if labels is None or n == 0:
        return [None] * n, [""] * n, [""] * n
    lookups = [(key, _label_lookup(labels, key)) for key in LABEL_KEYS if key in labels.columns]
    found = [_first_label(row, lookups) or (None, "", "") for _, row in mapping.iterrows()]
    ef, split, method = (list(column) for column in zip(*found, strict=True))
    return [None if value is None else float(value) for value in ef], split, method


def _label_lookup(labels: pd.DataFrame, key: str) -> dict[str, tuple]:
    """key value -> (EF, Split upper-cased, EF_method) of the first labels row with that value."""
    rows = labels.dropna(subset=[key]).drop_duplicates(subset=[key], keep="first")
    split, method = (_text_column(rows, column) for column in ("Split", "EF_method"))
    values = zip(rows["EF"], [text.upper() for text in split], method, strict=True)
    return dict(zip(rows[key].astype(str).str.strip(), values, strict=True))


def _text_column(rows: pd.DataFrame, column: str) -> list[str]:
    """A column's values as text ("" where empty), or "" for every row without the column."""
    if column not in rows.columns:
        return [""] * len(rows)
    return list(rows[column].astype(object).fillna("").astype(str))


def _first_label(row: pd.Series, lookups: list[tuple[str, dict]]) -> tuple | None:
    for key, table in lookups:
        value = Path(row["source"]).name if key == "file" else row[key]
        if value and value in table:
            return table[value]
    return None


def _split_of(study: str, salt: str) -> str:
    """TRAIN/VAL/TEST by a salted hash of the study, so every loop of a study lands in the same split."""
    u = int(hashlib.sha256(f"{salt}:split:{study}".encode()).hexdigest()[:8], 16) / 2**32
    edge = 0.0
    for name, fraction in SPLIT_FRACTIONS:
        edge += fraction
        if u < edge:
            return name
    return SPLIT_FRACTIONS[-1][0]


