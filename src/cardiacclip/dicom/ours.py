"""What marks a DICOM object as one cardiacclip wrote, in one place: the SR writer stamps it, the label reader
never takes such a report for an echo machine's measurement, and `pacs pull` does not fetch it back.

Tested by tests/dicom/test_echo_sr.py and tests/dicom/test_sr.py.
"""

from __future__ import annotations

import pydicom

OWN_MANUFACTURER = "cardiacclip"  # the Manufacturer of our SRs' equipment module
OWN_SERIES = "cardiacclip LVEF (research software, not a medical device)"  # the SeriesDescription of our SRs
OWN_REPORT_ROOT = ("DCM", "126000")  # TID 1500 "Imaging Measurement Report": the template our SRs use


def is_own_report(report: pydicom.Dataset) -> bool:
    """Whether an SR is one `cardiacclip` wrote (never a label: it is the model's own answer): our manufacturer,
    or a TID 1500 measurement report, which no echo machine's report is."""
    manufacturer = str(report.get("Manufacturer", "")).lower()
    concept = report.get("ConceptNameCodeSequence")
    root = (str(concept[0].CodingSchemeDesignator), str(concept[0].CodeValue)) if concept else None
    return manufacturer == OWN_MANUFACTURER or root == OWN_REPORT_ROOT


def is_own_series(modality: str | None, description: str | None) -> bool:
    """Whether a PACS series (its Modality and SeriesDescription, as QIDO-RS answers them) holds our SRs."""
    return modality == "SR" and description == OWN_SERIES
