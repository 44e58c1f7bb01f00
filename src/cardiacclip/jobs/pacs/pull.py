"""`cardiacclip pacs pull`: the ultrasound loops and echo SRs of a PACS's studies into a folder, by DICOMweb.

QIDO-RS finds the studies (`--study UID`, repeatable; `--since YYYYMMDD`; modality US by default), then each
study's series and instances; WADO-RS fetches, one instance at a time (memory stays bounded by one instance),
every multi-frame ultrasound loop and every SR, written to OUT/<StudyInstanceUID>/<SOPInstanceUID>.dcm through a
temporary name (an interrupted file is never taken for a finished one). Other objects are skipped and counted;
our own SR series (`cardiacclip.dicom.ours.OWN_SERIES`) are not fetched back. An instance already in OUT is not
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

from cardiacclip.dicom.dicomweb import describe
from cardiacclip.dicom.echo_sr import SR_CLASSES
from cardiacclip.dicom.ours import is_own_series
from cardiacclip.dicom.uids import is_uid, not_a_uid
from cardiacclip.jobs.output import output_folder
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
    refused: list[str] = field(default_factory=list)  # why each UID that is not one was refused (never a path)

    def refuse(self, value: object, where: str) -> None:
        """Refuse a study, series or instance whose UID does not follow the DICOM grammar, and log it."""
        self.refused.append(f"{where}: {not_a_uid(value)}")
        log.error("refused %s", self.refused[-1])


def _value(item: dict, tag: str) -> str | None:
    values = (item.get(tag) or {}).get("Value") or [None]
    return None if values[0] is None else str(values[0])


def _objects(answer: object, what: str) -> list[dict]:
    """A QIDO-RS answer, which must be a list of DICOM JSON objects; a `ValueError` naming `what` otherwise."""
    if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
        raise ValueError(f"{what}: the answer is not a list of DICOM JSON objects")
    return answer


def find_studies(
    client: DICOMwebClient, studies: list[str] | None = None, since: str | None = None, modality: str = "US"
) -> tuple[list[str], list[str]]:
    """(StudyInstanceUIDs found, requested UIDs the PACS does not have) by QIDO-RS. Only UIDs are asked for
    (`--study` values that are not are refused by `pull` before); what the PACS answers is checked by `pull`."""
    if studies:
        found, missing = [], []
        for uid in studies:
            (found if client.search_for_studies(search_filters={"StudyInstanceUID": uid}) else missing).append(uid)
        return found, missing
    filters = {"ModalitiesInStudy": modality} if modality else {}
    if since:
        filters["StudyDate"] = f"{since}-"
    answer = _objects(client.search_for_studies(search_filters=filters), "the studies")
    return sorted({_value(item, STUDY) for item in answer} - {None}), []


def pull_study(client: DICOMwebClient, study: str, out: Path, summary: PullSummary) -> None:
    """Fetch one study's loops and SRs into out/<study>/ (see the module docstring)."""
    folder = output_folder(out / study)
    for series in _objects(client.search_for_series(study), f"the series of study {study}"):
        if is_own_series(_value(series, MODALITY), _value(series, DESCRIPTION)):
            continue  # our own report, written by a previous run
        series_uid = _value(series, SERIES)
        if not is_uid(series_uid):
            summary.refuse(series_uid, f"a series of study {study}")
            continue
        found = client.search_for_instances(study, series_uid, fields=[SOP_CLASS])
        for instance in _objects(found, f"the instances of series {series_uid}"):
            _pull_instance(client, (study, series_uid), instance, folder, summary)


def _pull_instance(client: DICOMwebClient, where: tuple[str, str], instance: dict, folder: Path, summary) -> None:
    """Fetch one instance (a loop or an SR) of a study's series into `folder`, unless it is there already."""
    sop_class, sop = _value(instance, SOP_CLASS), _value(instance, SOP)
    if not is_uid(sop_class):  # a search answer that does not say what the object is: not DICOM JSON
        summary.refuse(sop_class, f"the SOP class of an instance of study {where[0]}")
        return
    if sop_class not in LOOP_CLASSES and sop_class not in SR_CLASSES:
        summary.skipped += 1
        return
    if not is_uid(sop):
        summary.refuse(sop, f"an instance of study {where[0]}")
        return
    target = folder / f"{sop}.dcm"
    if target.is_file():
        summary.present += 1
        return
    try:
        dataset = client.retrieve_instance(*where, sop, media_types=AS_STORED)
        _write_instance(dataset, sop, target)
    except (pydicom.errors.InvalidDicomError, AttributeError, ValueError, TypeError) as exc:
        # the PACS hands out what it was given, or an answer cut short: named, never half written
        summary.unreadable[sop] = str(exc).splitlines()[0][:200] or type(exc).__name__
        reason = summary.unreadable[sop]
        log.error("instance %s of study %s: not a readable DICOM file as served (%s)", sop, where[0], reason)
        return
    summary.fetched += 1


def _write_instance(dataset: pydicom.Dataset, sop: str, target: Path) -> None:
    """Write a served instance through a temporary name, once it is the instance asked for (an answer cut short
    parses into a dataset without it); a `ValueError` otherwise, and nothing left behind."""
    served = str(dataset.get("SOPInstanceUID", ""))
    if served != sop:
        raise ValueError(f"the answer is not the instance asked for (SOPInstanceUID {served[:70]!r}): cut short?")
    partial = target.with_name(f".{sop}.partial")
    try:
        dataset.save_as(partial, enforce_file_format=True)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)


def pull(
    client: DICOMwebClient,
    out: Path,
    studies: list[str] | None = None,
    since: str | None = None,
    modality: str = "US",
    progress: bool = True,
) -> PullSummary:
    """Pull every study found (see the module docstring) into `out`; returns counts, the studies that failed and
    the UIDs refused (a `--study` value or a PACS answer that is not a DICOM UID never becomes a query or a path)."""
    summary = PullSummary()
    asked = _uids(studies or [], "--study", summary)
    if studies and not asked:
        return summary
    found, missing = find_studies(client, asked, since, modality)
    found = _uids(found, "a study the PACS listed", summary)
    summary.studies = len(found)
    for uid in missing:
        summary.failed[uid] = "not found in the PACS"
        log.error("study %s: not found in the PACS", uid)
    for study in progress_bar(found, desc="pulling", unit="study", disable=not progress or len(found) < 2):
        _pull_or_leave(client, study, out, summary)
    return summary


def _uids(values: list[str], where: str, summary: PullSummary) -> list[str]:
    """The values that are DICOM UIDs; the others refused (and logged) as coming from `where`."""
    for value in values:
        if not is_uid(value):
            summary.refuse(value, where)
    return [value for value in values if is_uid(value)]


def _pull_or_leave(client: DICOMwebClient, study: str, out: Path, summary: PullSummary) -> None:
    """`pull_study`, or the study left for the next run with the reason (the PACS failed or answered nonsense)."""
    try:
        pull_study(client, study, out, summary)
    except requests.HTTPError as exc:
        summary.failed[study] = describe(exc, client.base_url)
    except requests.JSONDecodeError as exc:
        summary.failed[study] = f"the PACS answered what is not DICOM JSON ({str(exc)[:120]})"
    except requests.RequestException as exc:  # the PACS went away mid-study: left for the next run
        summary.failed[study] = f"{type(exc).__name__}: the PACS stopped answering"
    except ValueError as exc:  # an answer that is not DICOM JSON, or one the client's own checks refuse
        summary.failed[study] = f"the PACS answered what is not DICOMweb: {str(exc)[:200]}"
    if study in summary.failed:
        log.error("study %s left for the next run: %s", study, summary.failed[study])
