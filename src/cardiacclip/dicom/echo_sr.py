"""LVEF labels from an archive's own echo reports: the measurement SRs echo machines store in each study.

Vendor echo reports are Comprehensive or Enhanced SRs laid out by TID 5200 ("Adult Echocardiography Procedure
Report") or TID 5300 ("Simplified Echo Procedure Report"); the LVEF sits as a NUM item somewhere in nested
section containers. `report_ef` walks the whole content tree and reads every LVEF it finds:

    code                         method
    (18043-0, LN)  LVEF by US    from its "Measurement Method" modifier (370129005, SCT), else unspecified
    (10230-1, LN)  LVEF          likewise
    (70822001, SCT) cardiac EF   likewise (post-coordinated, TID 5302)
    (79991-6, LN)                biplane method of disks
    (79993-2, LN), (79992-4, LN) single-plane method of disks (4- and 2-chamber)
    (77891-0, LN), (18049-7, LN) Teichholz (2D, M-mode)

The rule (one, documented in the manual, "PACS to report"): the method ranked first in `METHOD_RANK` that the
report holds wins (biplane method of disks, then single plane, then Teichholz, then unspecified); several values
of that method are averaged; values outside 0-100 % are ignored. A report with no usable EF gives None (the
study is listed, not guessed). Our own reports (TID 1500 measurement reports written by `cardiacclip`) are never
read as labels.

Tested by tests/dicom/test_echo_sr.py.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pydicom

from cardiacclip.dicom.ours import is_own_report

log = logging.getLogger(__name__)

SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.11": "basic",
    "1.2.840.10008.5.1.4.1.1.88.22": "enhanced",
    "1.2.840.10008.5.1.4.1.1.88.33": "comprehensive",
    "1.2.840.10008.5.1.4.1.1.88.34": "comprehensive 3D",
}
GENERIC_EF = {("LN", "18043-0"), ("LN", "10230-1"), ("SCT", "70822001")}
PRECOORDINATED = {
    ("LN", "79991-6"): "biplane method of disks",
    ("LN", "79993-2"): "single-plane method of disks",
    ("LN", "79992-4"): "single-plane method of disks",
    ("LN", "77891-0"): "Teichholz",
    ("LN", "18049-7"): "Teichholz",
}
METHOD_MODIFIERS = {  # CID 12227 values of (370129005, SCT, "Measurement Method")
    ("DCM", "125207"): "biplane method of disks",
    ("DCM", "125208"): "single-plane method of disks",
    ("DCM", "125209"): "Teichholz",
}
METHOD_RANK = ("biplane method of disks", "single-plane method of disks", "Teichholz", "unspecified")
MEASUREMENT_METHOD = ("SCT", "370129005")


@dataclass(frozen=True)
class ReportEF:
    """The EF label a report gives: value in percent, the method it was measured by, how many values were averaged."""

    ef: float
    method: str
    n_values: int


def _code(item) -> tuple[str, str] | None:
    sequence = item.get("ConceptNameCodeSequence")
    if not sequence:
        return None
    return str(sequence[0].CodingSchemeDesignator), str(sequence[0].CodeValue)


def walk_content(items) -> Iterator[pydicom.Dataset]:
    """Every content item of an SR content sequence, depth first, in document order."""
    for item in items or []:
        yield item
        yield from walk_content(item.get("ContentSequence"))


def _method(item) -> str:
    """The method of one LVEF item: its pre-coordinated code, else its measurement-method modifier."""
    code = _code(item)
    if code in PRECOORDINATED:
        return PRECOORDINATED[code]
    for child in item.get("ContentSequence") or []:
        if _code(child) == MEASUREMENT_METHOD and child.get("ConceptCodeSequence"):
            value = child.ConceptCodeSequence[0]
            return METHOD_MODIFIERS.get((str(value.CodingSchemeDesignator), str(value.CodeValue)), "unspecified")
    return "unspecified"


def ef_values(report: pydicom.Dataset) -> list[tuple[float, str]]:
    """Every LVEF (percent, method) in a report's content tree, in document order."""
    values = []
    for item in walk_content(report.get("ContentSequence")):
        code = _code(item)
        if item.get("ValueType") != "NUM" or (code not in GENERIC_EF and code not in PRECOORDINATED):
            continue
        measured = item.get("MeasuredValueSequence")
        if not measured or "NumericValue" not in measured[0]:
            continue
        value = float(measured[0].NumericValue)
        if 0 <= value <= 100:
            values.append((value, _method(item)))
    return values


def report_ef(report: pydicom.Dataset) -> ReportEF | None:
    """The report's LVEF label by the rule of the module docstring, or None (no usable EF, or our own report)."""
    return study_ef([report])


def study_ef(reports: list[pydicom.Dataset]) -> ReportEF | None:
    """A study's LVEF label from all its echo reports (our own left out): the rule of the module docstring over
    every value they hold together, or None."""
    values = [value for report in reports if not is_own_report(report) for value in ef_values(report)]
    for method in METHOD_RANK:
        chosen = [value for value, kind in values if kind == method]
        if chosen:
            return ReportEF(sum(chosen) / len(chosen), method, len(chosen))
    return None


def is_structured_report(path: str | Path) -> bool:
    """Whether a file is a DICOM SR (its header only is read)."""
    pydicom_log = logging.getLogger("pydicom")
    level = pydicom_log.level
    pydicom_log.setLevel(logging.ERROR)  # odd headers are the loop readers' business, not this check's
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except Exception:  # pydicom's many exceptions on a damaged header: not a report this check can read
        return False
    finally:
        pydicom_log.setLevel(level)
    return str(header.get("SOPClassUID", "")) in SR_CLASSES


@dataclass
class Harvest:
    """What the echo reports of an archive give: a label per study and the studies that have none."""

    labels: dict[str, ReportEF]  # StudyInstanceUID -> label
    without_ef: list[str]  # StudyInstanceUIDs of studies whose reports hold no usable EF
    reports: list[Path]  # every SR file found (ours included): not loops, never converted
    unreadable: dict[str, str] = field(default_factory=dict)  # damaged reports (path -> reason): left out, logged


def harvest_labels(paths: list[Path]) -> Harvest:
    """Read every SR among `paths` and give each study its label (`study_ef`); studies whose reports hold no usable
    EF are listed in `without_ef`, not guessed. Files that are not SRs are ignored."""
    by_study: dict[str, list[pydicom.Dataset]] = {}
    reports = [path for path in paths if is_structured_report(path)]
    unreadable: dict[str, str] = {}
    for path in reports:
        report = _read_report(path, unreadable)
        if report is not None:
            by_study.setdefault(str(report.get("StudyInstanceUID", "")), []).append(report)
    labels, without = {}, []
    for study, study_reports in sorted(by_study.items()):
        label = study_ef(study_reports)
        if label is not None:
            labels[study] = label
        elif not all(is_own_report(r) for r in study_reports):
            without.append(study)
    return Harvest(labels, without, reports, unreadable)


def _read_report(path: Path, unreadable: dict[str, str]) -> pydicom.Dataset | None:
    """A report read and its content walked now, so a damaged one is named here (in `unreadable`, and the log) and
    left out, not a failure in the middle of the harvest."""
    try:
        report = pydicom.dcmread(path, stop_before_pixels=True)
        is_own_report(report)
        ef_values(report)
        return report
    except Exception as exc:  # pydicom's plain exceptions on a damaged report: this report's reason
        unreadable[str(path)] = f"{type(exc).__name__}: {exc}"[:200]
        log.warning("%s: echo report left out, unreadable (%s)", path, unreadable[str(path)])
        return None
