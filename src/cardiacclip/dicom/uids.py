"""DICOM UIDs as the standard writes them (PS3.5 section 9.1): components of digits separated by dots, no
component with a leading zero (but "0" itself), at most 64 characters. A UID that a PACS answers, or a user
types, becomes a query and a file name only after `is_uid` says it is one: `1.2.3/../../x` would otherwise
name a folder outside the output.

Tested by tests/dicom/test_uids.py and tests/jobs/pacs/test_pull_hostile.py.
"""

from __future__ import annotations

import re

MAX_LENGTH = 64
_GRAMMAR = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def is_uid(text: object) -> bool:
    """Whether `text` is a string that follows the DICOM UID grammar."""
    return isinstance(text, str) and len(text) <= MAX_LENGTH and _GRAMMAR.fullmatch(text) is not None


def not_a_uid(text: object) -> str:
    """Why `text` was refused, in words a user understands (the value shown as Python writes it, so a path
    separator or a control character is visible and harmless in a log)."""
    return f"{text!r} is not a DICOM UID (digits and dots, at most {MAX_LENGTH} characters)"
