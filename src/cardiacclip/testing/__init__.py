"""Test and demonstration infrastructure, not part of any command: a local Orthanc PACS (`orthanc`) for the tests,
the PACS benchmark and users who try the PACS path locally, and a seeded mutation fuzzer over the files the
toolkit reads (`fuzz`), run by the tests with a small budget and by `benchmarks/fuzz_inputs.py` with a large one.
"""

from cardiacclip.data.video_io import is_part10
from cardiacclip.testing.orthanc import LocalOrthanc, orthanc_available, orthanc_binary

__all__ = ["LocalOrthanc", "is_part10", "orthanc_available", "orthanc_binary"]
