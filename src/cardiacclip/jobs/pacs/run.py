"""`cardiacclip pacs run`: pull -> predict by study -> one SR per study -> push, in one resumable command.

OUT/pulled holds the pulled studies (PHI), OUT/predictions.csv a row per loop (rerun: only the missing rows),
OUT/predictions.studies.csv a row per study, OUT/sr the SRs (PHI); with `store` they go back to the PACS. A
rerun on the same OUT fetches nothing already there, predicts nothing already predicted and stores SRs with the
same UIDs: the PACS ends with one SR per study.

Tested by tests/jobs/pacs/test_pacs.py.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from cardiacclip.data.video_io import find_videos
from cardiacclip.dicom.dicomweb import PacsSettings, connect
from cardiacclip.dicom.echo_sr import is_structured_report
from cardiacclip.dicom.sr import ModelIdentity
from cardiacclip.jobs.pacs.pull import PullSummary, pull
from cardiacclip.jobs.pacs.push import PushSummary, push
from cardiacclip.jobs.predict import PredictOptions, PredictSummary, predict_files
from cardiacclip.jobs.predict.rows import read_rows
from cardiacclip.jobs.predict.studies import report_studies
from cardiacclip.model.predictor import load

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    pulled: PullSummary
    predicted: PredictSummary
    reports: list[Path]
    pushed: PushSummary | None
    seconds: dict[str, float]  # wall time of each stage: pull, predict, sr, push


def run_pacs(
    model: str | Path,
    settings: PacsSettings,
    out: Path,
    *,
    studies: list[str] | None = None,
    since: str | None = None,
    store: bool = True,
    options: PredictOptions | None = None,
    device: str = "auto",
    progress: bool = True,
) -> RunSummary:
    """The whole round trip (see the module docstring); raises `PacsError` before any work when the PACS cannot
    be used, and a model error before pulling."""
    client = connect(settings)
    predictor = load(model, device)
    identity = ModelIdentity.of(model)
    clock = _Clock()
    pulled = pull(client, out / "pulled", studies, since, progress=progress)
    clock.lap("pull")
    found = find_videos([out / "pulled"]) if (out / "pulled").is_dir() else []
    loops = [path for path in found if not is_structured_report(path)]
    rows = out / "predictions.csv"
    options = dataclasses.replace(options or PredictOptions(), resume=rows.exists(), by="study")
    predicted = predict_files(predictor, loops, rows, options, progress=progress)
    clock.lap("predict")
    reports = report_studies(read_rows(rows), rows, True, out / "sr", identity).reports or []
    clock.lap("sr")
    pushed = push(client, reports, progress) if store else None
    clock.lap("push")
    return RunSummary(pulled, predicted, reports, pushed, clock.seconds)


class _Clock:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage], self.last = now - self.last, now
