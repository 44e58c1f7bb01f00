"""`cardiacclip predict`: EF, category and category probabilities for new echo videos, at archive scale.

Any number of files or folders (searched recursively for AVI/MP4/DICOM) in, one row per file out (CSV, or
JSON Lines for `.jsonl` and for standard output). By concern:

    loop      the predict loop and the whole job (`run_predict`, `predict_files`, `PredictOptions`)
    rows      the row schema, the writer that flushes each row, the output check, the resume repair
    shards    torchrun: a part file per rank, merged by rank 0 in input order
    studies   study keys, a user's video-to-study map, the per-study table
"""

from cardiacclip.jobs.predict.loop import PredictOptions, PredictSummary, predict_files, run_predict
from cardiacclip.jobs.predict.rows import RowWriter, check_output
from cardiacclip.jobs.predict.studies import read_study_map

__all__ = [
    "PredictOptions",
    "PredictSummary",
    "RowWriter",
    "check_output",
    "predict_files",
    "read_study_map",
    "run_predict",
]
