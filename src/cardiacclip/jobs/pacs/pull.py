"""`cardiacclip pacs pull`: the ultrasound loops and echo SRs of a PACS's studies into a folder, by DICOMweb.

QIDO-RS finds the studies (`--study UID`, repeatable; `--since YYYYMMDD`; modality US by default), then each
study's series and instances; WADO-RS fetches, one instance at a time (memory stays bounded by one instance),
every multi-frame ultrasound loop and every SR, written to OUT/<StudyInstanceUID>/<SOPInstanceUID>.dcm through a
temporary name (an interrupted file is never taken for a finished one). Other objects are skipped and counted;
our own SR series (`cardiacclip.jobs.sr.OWN_SERIES`) are not fetched back. An instance already in OUT is not
fetched again, so a rerun continues where the last one stopped. A study that keeps failing (after the session's
retries) is logged and left for the next run; the others go on.

Tested by tests/jobs/pacs/test_pacs.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient

from cardiacclip.data.echo_sr import SR_CLASSES
from cardiacclip.jobs.output import output_folder
from cardiacclip.jobs.pacs.client import describe
from cardiacclip.jobs.sr import OWN_SERIES
from cardiacclip.progress import progress_bar

log = logging.getLogger(__name__)

AS_STORED = (("application/dicom", "*"),)  # the stored transfer syntax: no decompression by the PACS
LOOP_CLASSES = {"1.2.840.10008.5.1.4.1.1.3.1"}  # Ultrasound Multi-frame Image Storage
STUDY, SERIES, SOP_CLASS, SOP = "0020000D", "0020000E", "00080016", "00080018"  # DICOM JSON tags (QIDO-RS)
MODALITY, DESCRIPTION = "00080060", "0008103E"


@dataclass
class PullSummary:
    studies: int = 0  # studies found
    fetched: int = 0  # instances written in this run
    present: int = 0  # instances already in OUT (resume)
    skipped: int = 0  # other objects (not a loop or an SR)
    unreadable: dict[str, str] = field(default_factory=dict)  # SOPInstanceUID -> why the served file did not parse
    failed: dict[str, str] = field(default_factory=dict)  # StudyInstanceUID -> reason (left for the next run)


def _value(item: dict, tag: str) -> str | None:
    values = (item.get(tag) or {}).get("Value") or [None]
    return None if values[0] is None else str(values[0])


def find_studies(
    client: DICOMwebClient, studies: list[str] | None = None, since: str | None = None, modality: str = "US"
) -> tuple[list[str], list[str]]:
    """(StudyInstanceUIDs found, requested UIDs the PACS does not have) by QIDO-RS."""
    if studies:
        found, missing = [], []
        for uid in studies:
            (found if client.search_for_studies(search_filters={"StudyInstanceUID": uid}) else missing).append(uid)
        return found, missing
    filters = {"ModalitiesInStudy": modality} if modality else {}
    if since:
        filters["StudyDate"] = f"{since}-"
    return sorted({_value(item, STUDY) for item in client.search_for_studies(search_filters=filters)} - {None}), []


def pull_study(client: DICOMwebClient, study: str, out: Path, summary: PullSummary) -> None:
    """Fetch one study's loops and SRs into out/<study>/ (see the module docstring)."""
    folder = output_folder(out / study)
    for series in client.search_for_series(study):
        if _value(series, MODALITY) == "SR" and _value(series, DESCRIPTION) == OWN_SERIES:
            continue  # our own report, written by a previous run
        series_uid = _value(series, SERIES)
        for instance in client.search_for_instances(study, series_uid, fields=[SOP_CLASS]):
            sop_class, sop = _value(instance, SOP_CLASS), _value(instance, SOP)
            if sop_class not in LOOP_CLASSES and sop_class not in SR_CLASSES:
                summary.skipped += 1
                continue
            target = folder / f"{sop}.dcm"
            if target.is_file():
                summary.present += 1
                continue
            try:
                dataset = client.retrieve_instance(study, series_uid, sop, media_types=AS_STORED)
            except pydicom.errors.InvalidDicomError as exc:  # the PACS hands out what it was given
                summary.unreadable[sop] = str(exc).splitlines()[0][:200]
                log.error("instance %s of study %s: not a readable DICOM file as served", sop, study)
                continue
            partial = target.with_name(f".{sop}.partial")
            dataset.save_as(partial, enforce_file_format=True)
            partial.replace(target)
            summary.fetched += 1


def pull(
    client: DICOMwebClient,
    out: Path,
    studies: list[str] | None = None,
    since: str | None = None,
    modality: str = "US",
    progress: bool = True,
) -> PullSummary:
    """Pull every study found (see the module docstring) into `out`; returns counts and the studies that failed."""
    found, missing = find_studies(client, studies, since, modality)
    summary = PullSummary(studies=len(found))
    for uid in missing:
        summary.failed[uid] = "not found in the PACS"
        log.error("study %s: not found in the PACS", uid)
    for study in progress_bar(found, desc="pulling", unit="study", disable=not progress or len(found) < 2):
        try:
            pull_study(client, study, out, summary)
        except requests.HTTPError as exc:
            summary.failed[study] = describe(exc, client.base_url)
        except requests.RequestException as exc:  # the PACS went away mid-study: left for the next run
            summary.failed[study] = f"{type(exc).__name__}: the PACS stopped answering"
        if study in summary.failed:
            log.error("study %s left for the next run: %s", study, summary.failed[study])
    return summary
