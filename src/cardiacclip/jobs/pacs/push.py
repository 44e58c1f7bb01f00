"""`cardiacclip pacs push`: our SRs into the PACS by STOW-RS, one file at a time.

Idempotent: an SR keeps its SOP Instance UID from run to run (`cardiacclip.dicom.sr.build_report`), so pushing
twice leaves one SR per study in the PACS. A file the PACS refuses is logged and counted; the others go on.

Tested by tests/jobs/pacs/test_pacs.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient

from cardiacclip.dicom.dicomweb import describe
from cardiacclip.progress import progress_bar

log = logging.getLogger(__name__)


@dataclass
class PushSummary:
    stored: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # file -> reason


def push(client: DICOMwebClient, files: list[Path], progress: bool = True) -> PushSummary:
    """STOW-RS every file (DICOM) to the PACS."""
    summary = PushSummary()
    for path in progress_bar(files, desc="storing", unit="SR", disable=not progress or len(files) < 2):
        try:
            client.store_instances([pydicom.dcmread(path)])
            summary.stored += 1
        except requests.HTTPError as exc:
            summary.failed[str(path)] = describe(exc, client.base_url)
        except requests.RequestException as exc:
            summary.failed[str(path)] = f"{type(exc).__name__}: the PACS stopped answering"
        if str(path) in summary.failed:
            log.error("%s not stored: %s", path.name, summary.failed[str(path)])
    return summary
