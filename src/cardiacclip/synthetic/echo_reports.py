"""Vendor-like echo measurement reports (DICOM Comprehensive SRs laid out like TID 5200) for the synthetic PACS.

An echo machine stores its measurements as an SR in the study: a root container (125200, DCM, "Adult
Echocardiography Procedure Report") holding section containers ("Left Ventricle", ...) holding NUM items,
each a code, a value and a unit, some with a "Measurement Method" modifier. `write_echo_report` writes such a
file with invented patient data and the measurements it is given; `cardiacclip.dicom.echo_sr` reads them back.
These are drawings for tests and the manual's walk-through, not any vendor's exact layout.

Tested by tests/data/test_echo_sr.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"


@dataclass(frozen=True)
class EchoMeasurement:
    """One NUM item: (scheme, code, meaning), value, UCUM unit, and an optional method modifier code (DCM)."""

    code: tuple[str, str, str]
    value: float
    unit: str = "%"
    method: tuple[str, str, str] | None = None


LVEF_BY_US = ("LN", "18043-0", "Left Ventricular Ejection Fraction by US")
BIPLANE = ("DCM", "125207", "Method of Disks, Biplane")
SINGLE_PLANE_4CH = ("LN", "79993-2", "Left ventricular Ejection fraction by 4 chamber method of disks")
TEICHHOLZ_2D = ("LN", "77891-0", "Left ventricular Ejection fraction by 2D Teichholz")
LVIDD = ("LN", "29436-3", "Left Ventricle Internal End Diastolic Dimension")


def _code(scheme: str, value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _num(measurement: EchoMeasurement) -> Dataset:
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "NUM"
    item.ConceptNameCodeSequence = [_code(*measurement.code)]
    value = Dataset()
    value.NumericValue = f"{measurement.value:.1f}"
    value.MeasurementUnitsCodeSequence = [_code("UCUM", measurement.unit, measurement.unit)]
    item.MeasuredValueSequence = [value]
    if measurement.method is not None:
        modifier = Dataset()
        modifier.RelationshipType, modifier.ValueType = "HAS CONCEPT MOD", "CODE"
        modifier.ConceptNameCodeSequence = [_code("SCT", "370129005", "Measurement Method")]
        modifier.ConceptCodeSequence = [_code(*measurement.method)]
        item.ContentSequence = [modifier]
    return item


def _container(name: tuple[str, str, str], children: list[Dataset], relationship: str | None) -> Dataset:
    item = Dataset()
    if relationship:
        item.RelationshipType = relationship
    item.ValueType, item.ContinuityOfContent = "CONTAINER", "SEPARATE"
    item.ConceptNameCodeSequence = [_code(*name)]
    item.ContentSequence = children
    return item


def write_echo_report(
    path: str | Path,
    study_uid: str,
    measurements: list[EchoMeasurement],
    accession: str = "ACC0001",
    manufacturer: str = "Synthetic Echo Co.",
) -> Path:
    """Write a TID 5200-like Comprehensive SR holding `measurements` in a "Left Ventricle" section."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = COMPREHENSIVE_SR, generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = COMPREHENSIVE_SR, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, generate_uid()
    ds.Modality, ds.Manufacturer, ds.SeriesDescription = "SR", manufacturer, "Echo measurements"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Doe^Jane", "000123", "19700101"
    ds.StudyDate, ds.AccessionNumber, ds.SeriesNumber, ds.InstanceNumber = "20240315", accession, 90, 1
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    section = _container(("DCM", "T-32600", "Left Ventricle"), [_num(m) for m in measurements], "CONTAINS")
    root = _container(("DCM", "125200", "Adult Echocardiography Procedure Report"), [section], None)
    for keyword in ("ValueType", "ContinuityOfContent", "ConceptNameCodeSequence", "ContentSequence"):
        setattr(ds, keyword, getattr(root, keyword))
    ds.save_as(Path(path), enforce_file_format=True)
    return Path(path)


def vendor_measurements(ef: float, kind: int) -> list[EchoMeasurement]:
    """A study's measurements in one of four shapes (`kind` % 4): biplane + single plane + Teichholz; two biplane
    values around `ef` (averaged by the label rule); single plane + Teichholz only; no EF at all. The label rule
    gives `ef` for the first two, `ef` + 3 (the single-plane value) for the third and nothing for the fourth."""
    lvidd = EchoMeasurement(LVIDD, 4.8, "cm")
    shapes = [
        [lvidd, EchoMeasurement(LVEF_BY_US, ef, method=BIPLANE), EchoMeasurement(SINGLE_PLANE_4CH, ef + 3),
         EchoMeasurement(TEICHHOLZ_2D, ef - 5)],
        [EchoMeasurement(LVEF_BY_US, ef - 1, method=BIPLANE), EchoMeasurement(LVEF_BY_US, ef + 1, method=BIPLANE)],
        [EchoMeasurement(TEICHHOLZ_2D, ef - 5), EchoMeasurement(SINGLE_PLANE_4CH, ef + 3)],
        [lvidd],
    ]  # fmt: skip
    return shapes[kind % 4]
