from __future__ import annotations

import pydicom
import pytest

from cardiacclip.dicom.echo_sr import is_structured_report, report_ef
from cardiacclip.dicom.ours import is_own_report
from cardiacclip.synthetic.echo_reports import (
    BIPLANE,
    LVEF_BY_US,
    TEICHHOLZ_2D,
    EchoMeasurement,
    vendor_measurements,
    write_echo_report,
)


@pytest.mark.parametrize(
    ("kind", "expected", "method"),
    [
        (0, 47.5, "biplane method of disks"),
        (1, 47.5, "biplane method of disks"),
        (2, 50.5, "single-plane method of disks"),
    ],
)
def test_the_label_rule_prefers_biplane_then_single_plane_and_averages(tmp_path, kind, expected, method):
    path = write_echo_report(tmp_path / "sr.dcm", "1.2.3", vendor_measurements(47.5, kind))
    label = report_ef(pydicom.dcmread(path))
    assert label.ef == pytest.approx(expected) and label.method == method
    assert label.n_values == (2 if kind == 1 else 1) and is_structured_report(path)


def test_a_report_without_an_ef_or_with_only_bad_values_gives_none(tmp_path):
    no_ef = write_echo_report(tmp_path / "a.dcm", "1.2.3", vendor_measurements(50, 3))
    assert report_ef(pydicom.dcmread(no_ef)) is None
    bad = [EchoMeasurement(LVEF_BY_US, 250.0, method=BIPLANE)]
    assert report_ef(pydicom.dcmread(write_echo_report(tmp_path / "b.dcm", "1.2.3", bad))) is None
    teichholz = [EchoMeasurement(TEICHHOLZ_2D, 61.0), EchoMeasurement(LVEF_BY_US, 55.0)]  # unspecified ranks last
    label = report_ef(pydicom.dcmread(write_echo_report(tmp_path / "c.dcm", "1.2.3", teichholz)))
    assert (label.ef, label.method) == (61.0, "Teichholz")


def test_our_own_reports_are_never_labels(tmp_path):
    report = pydicom.dcmread(write_echo_report(tmp_path / "own.dcm", "1.2.3", vendor_measurements(40, 0)))
    report.Manufacturer = "cardiacclip"
    assert is_own_report(report) and report_ef(report) is None
    assert not is_structured_report(tmp_path / "nothing.dcm")
