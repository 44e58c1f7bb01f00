from __future__ import annotations

import pytest

from cardiacclip.dicom.uids import is_uid, not_a_uid


@pytest.mark.parametrize("uid", ["1.2.840.10008.5.1.4.1.1.3.1", "0", "1.0.2", "2.25." + "1" * 59])
def test_uids_that_follow_the_grammar(uid):
    assert is_uid(uid)


@pytest.mark.parametrize(
    "text",
    ["1.2.3/../../../x", "../1.2", "1..2", ".1.2", "1.2.", "1.02", "1.2 ", "1.2\n", "", "2.25." + "1" * 61, None, 12],
)
def test_what_is_not_a_uid(text):
    assert not is_uid(text)
    assert "not a DICOM UID" in not_a_uid(text)
