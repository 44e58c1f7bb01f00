"""Our DICOM SR: one Comprehensive SR per study, a TID 1500 Measurement Report written with highdicom.

For each loop predicted (status ok, not flagged) and for the study (the median of those loops, as
`predict --by study` computes it) a measurement group holds:

    LVEF       (18043-0, LN, "Left Ventricular Ejection Fraction by US"), in % (UCUM), to 0.01
    site       (363698007, SCT, "Finding Site") = (87878005, SCT, "Left ventricle")
    method     algorithm identification (TID 4019): name "cardiacclip", version, the model's SHA-256
    interval   with a calibrated model, the 90 % interval as lower/upper measurement uncertainty (TID 310)
    evidence   the loop's source instance (per loop; the study group references them all)

and a text item (121106, DCM, "Comment") carries the research notice. Patient and study identifiers are copied
from the source study: the SR belongs in the patient's study and is PHI, written only where the user points.
The SOP Instance and Series UIDs are derived from the model's hash and the study UID, so a rerun writes the
same UIDs (and STOW-RS of a rerun replaces, never adds). `read_study_ef` reads the study's EF back.

Tested by tests/dicom/test_sr.py and tests/jobs/pacs/test_pacs.py.
"""

from __future__ import annotations

import hashlib
import statistics
from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import pydicom
from highdicom.sr import CodedConcept
from pydicom.uid import generate_uid

from cardiacclip.about import RESEARCH_NOTICE, __version__
from cardiacclip.dicom.echo_sr import walk_content
from cardiacclip.dicom.ours import OWN_MANUFACTURER, OWN_SERIES
from cardiacclip.model.factory import resolve
from cardiacclip.model.layout import PackageFolder

LVEF = CodedConcept("18043-0", "LN", "Left Ventricular Ejection Fraction by US")
PERCENT = CodedConcept("%", "UCUM", "%")
LEFT_VENTRICLE = CodedConcept("87878005", "SCT", "Left ventricle")
ECHOCARDIOGRAPHY = CodedConcept("40701008", "SCT", "Echocardiography")
COMMENT = CodedConcept("121106", "DCM", "Comment")
STUDY_GROUP = "study"


@dataclass(frozen=True)
class ModelIdentity:
    """What the SR says produced it: the package name and version, and the SHA-256 of the model's weights file."""

    sha256: str
    name: str = "cardiacclip"
    version: str = __version__

    @classmethod
    def of(cls, model: str | Path) -> ModelIdentity:
        """The identity of a run folder, checkpoint or package (the hash of its checkpoint or weights file)."""
        files = resolve(model)
        weights = PackageFolder(files.path).weights if files.kind == "package" else files.path
        digest = hashlib.sha256()
        with open(weights, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return cls(digest.hexdigest())


@dataclass
class LoopResult:
    """One predicted loop: its source header (no pixels) and EF with the interval (percent)."""

    header: pydicom.Dataset
    ef: float
    ef_low: float | None = None
    ef_high: float | None = None
    beats: int | None = None  # heartbeats the EF is the mean of (predicted with clips="beats")


def loop_result(
    path: str | Path, ef: float, low: float | None, high: float | None, beats: int | None = None
) -> tuple[str, LoopResult] | None:
    """(StudyInstanceUID, the loop's result) for a predicted DICOM loop; None for a file without a study (an AVI,
    an MP4, a DICOM header without StudyInstanceUID): there is no study to report into."""
    try:
        header = pydicom.dcmread(path, stop_before_pixels=True)
    except (pydicom.errors.InvalidDicomError, OSError):
        return None
    if "StudyInstanceUID" not in header:
        return None
    return str(header.StudyInstanceUID), LoopResult(header, ef, low, high, beats)


def _measurement(identity: ModelIdentity, ef: float, low: float | None, high: float | None) -> hd.sr.Measurement:
    properties = None
    if low is not None and high is not None:
        properties = hd.sr.MeasurementProperties(
            upper_measurement_uncertainty=round(high - ef, 2), lower_measurement_uncertainty=round(ef - low, 2)
        )
    return hd.sr.Measurement(
        name=LVEF,
        value=round(ef, 2),
        unit=PERCENT,
        finding_sites=[hd.sr.FindingSite(LEFT_VENTRICLE)],
        algorithm_id=_algorithm(identity),
        properties=properties,
    )


def _algorithm(identity: ModelIdentity) -> hd.sr.AlgorithmIdentification:
    return hd.sr.AlgorithmIdentification(identity.name, identity.version, parameters=[f"sha256 {identity.sha256}"])


def _group(identity: ModelIdentity, tracking: str, uid: str, loops: list[LoopResult], ef: float, interval):
    sources = [
        hd.sr.SourceImageForMeasurementGroup(str(loop.header.SOPClassUID), str(loop.header.SOPInstanceUID))
        for loop in loops
    ]
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=uid, identifier=tracking),
        measurements=[_measurement(identity, ef, *interval)],
        algorithm_id=_algorithm(identity),
        finding_sites=[hd.sr.FindingSite(LEFT_VENTRICLE)],
        source_images=sources,
    )


def build_report(study: str, loops: list[LoopResult], identity: ModelIdentity) -> hd.sr.ComprehensiveSR:
    """The SR of one study (see the module docstring)."""
    key = [identity.sha256, study]
    groups = []
    for i, loop in enumerate(loops):
        uid = generate_uid(entropy_srcs=[*key, str(i)])
        interval = (loop.ef_low, loop.ef_high)
        group = _group(identity, str(loop.header.SOPInstanceUID), uid, [loop], loop.ef, interval)
        if loop.beats:
            text = f"LVEF is the mean over {loop.beats} heartbeats (end-diastole and end-systole found in the loop)"
            group[0].ContentSequence.append(hd.sr.TextContentItem(COMMENT, text, relationship_type="CONTAINS"))
        groups.append(group)
    median = statistics.median(loop.ef for loop in loops)
    study_uid = generate_uid(entropy_srcs=[*key, "study"])
    groups.append(_group(identity, STUDY_GROUP, study_uid, loops, median, (None, None)))
    observer = hd.sr.ObserverContext(
        observer_type=hd.sr.CodedConcept("121007", "DCM", "Device"),
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=[identity.sha256]), name=identity.name, model_name=identity.version
        ),
    )
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=ECHOCARDIOGRAPHY,
        imaging_measurements=groups,
    )
    content[0].ContentSequence.append(hd.sr.TextContentItem(COMMENT, RESEARCH_NOTICE, relationship_type="CONTAINS"))
    return hd.sr.ComprehensiveSR(
        evidence=[_with_type2_attributes(loop.header) for loop in loops],
        content=content[0],
        series_instance_uid=generate_uid(entropy_srcs=[*key, "series"]),
        series_number=9900,
        sop_instance_uid=generate_uid(entropy_srcs=[*key, "sr"]),
        instance_number=1,
        manufacturer=OWN_MANUFACTURER,
        series_description=OWN_SERIES,
    )


TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID", "StudyDate", "StudyTime",
         "ReferringPhysicianName", "AccessionNumber")  # fmt: skip


def _with_type2_attributes(header: pydicom.Dataset) -> pydicom.Dataset:
    """A copy of a source header with the patient and study attributes an SR copies present (type 2: empty when
    the source lacks them, as some exports do)."""
    header = pydicom.Dataset(header)
    for keyword in TYPE2:
        if keyword not in header:
            setattr(header, keyword, "")
    return header


def write_reports(studies: dict[str, list[LoopResult]], folder: Path, identity: ModelIdentity) -> list[Path]:
    """One SR per study into `folder` (<SOPInstanceUID>.dcm), studies in UID order; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for study, loops in sorted(studies.items()):
        report = build_report(study, loops, identity)
        path = folder / f"{report.SOPInstanceUID}.dcm"
        report.save_as(path, enforce_file_format=True)
        written.append(path)
    return written


def read_study_ef(report: pydicom.Dataset) -> float | None:
    """The study-level LVEF of one of our SRs (the measurement group tracked as "study"), or None."""
    for group in walk_content(report.get("ContentSequence")):
        children = list(group.get("ContentSequence") or [])
        if any(c.get("ValueType") == "TEXT" and c.get("TextValue") == STUDY_GROUP for c in children):
            for child in children:
                code = child.get("ConceptNameCodeSequence")
                if child.get("ValueType") == "NUM" and code and code[0].CodeValue == LVEF.value:
                    return float(child.MeasuredValueSequence[0].NumericValue)
    return None


def report_text(report: pydicom.Dataset, depth: int = 0) -> list[str]:
    """An SR's content tree as indented text lines (value type, concept, value): for reading one by eye."""
    lines = []
    for item in report.get("ContentSequence") or []:
        name = item.ConceptNameCodeSequence[0].CodeMeaning if item.get("ConceptNameCodeSequence") else ""
        kind = item.get("ValueType", "")
        value = ""
        if kind == "NUM":
            measured = item.MeasuredValueSequence[0]
            value = f" = {measured.NumericValue} {measured.MeasurementUnitsCodeSequence[0].CodeValue}"
        elif kind == "CODE":
            value = f" = {item.ConceptCodeSequence[0].CodeMeaning}"
        elif kind in ("TEXT", "UIDREF"):
            value = f" = {item.get('TextValue', item.get('UID', ''))}"
        elif kind == "IMAGE":
            value = f" = {item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID}"
        lines.append(f"{'  ' * depth}{kind} {name}{value}")
        lines.extend(report_text(item, depth + 1))
    return lines
