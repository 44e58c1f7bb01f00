"""Logs hold what a person needs: a library's record of something the readers already report is not repeated,
and no third-party traceback reaches the log unless -v."""

from __future__ import annotations

import logging

import pytest

from cardiacclip.logging_setup import configure_logging


def _pydicom_error_with_traceback() -> None:
    try:
        raise ValueError("The amount of decoded RLE segment data doesn't match the expected amount")
    except ValueError:
        logging.getLogger("pydicom.pixels.decoders.base").error("decoding failed", exc_info=True)


@pytest.mark.parametrize("verbose", [False, True])
def test_pydicom_s_own_records_show_only_with_verbose(verbose, capsys):
    configure_logging(verbose)
    try:
        _pydicom_error_with_traceback()
        logging.getLogger("cardiacclip.data").error("v.dcm: corrupt video stream")
        printed = capsys.readouterr().err
    finally:
        configure_logging(False)
    assert "corrupt video stream" in printed
    assert ("Traceback" in printed) == verbose and ("RLE segment" in printed) == verbose
