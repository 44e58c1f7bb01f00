"""What FFmpeg and ITK say about a damaged file is that file's warning or part of its error, once; nothing reaches
the terminal on its own."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pytest

from cardiacclip.data.errors import DatasetError, VideoReadError
from cardiacclip.data.external import read_image_frames
from cardiacclip.data.library_messages import summary
from cardiacclip.data.source import probe
from cardiacclip.data.video_io import write_video
from helpers import moving_pattern


def test_ffmpeg_explains_a_damaged_stream_in_the_files_error_and_prints_nothing(tmp_path, capfd):
    path = write_video(tmp_path / "loop.avi", moving_pattern(30), fps=50)
    data = bytearray(path.read_bytes())
    for at in range(len(data) // 3, len(data), 301):
        data[at] ^= 0xFF
    damaged = tmp_path / "damaged.avi"
    damaged.write_bytes(bytes(data))
    with pytest.raises(VideoReadError) as raised:
        probe(damaged).read(range(30))
    assert "FFmpeg reported:" in str(raised.value)
    assert str(raised.value).count("FFmpeg reported:") == 1
    assert capfd.readouterr().err == ""


def test_an_intact_loop_gets_no_ffmpeg_warning(tmp_path):
    path = write_video(tmp_path / "loop.avi", moving_pattern(20), fps=50)
    assert not any("FFmpeg" in w for w in probe(path).warnings)


def test_itk_messages_join_the_error_of_a_damaged_nifti(tmp_path, capfd):
    import SimpleITK as sitk

    good = tmp_path / "seq.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((5, 8, 8), np.uint8)), str(good))
    header = bytearray(gzip.decompress(good.read_bytes()))
    header[40:44] = b"\x05\x00\x00\x00"  # dim[0] = 5, dim[1] = 0: nifti refuses it, printing why to stderr
    damaged = tmp_path / "damaged.nii"
    damaged.write_bytes(bytes(header))
    with pytest.raises(DatasetError, match="not a readable NIfTI") as raised:
        read_image_frames(damaged)
    assert capfd.readouterr().err == ""
    assert "ITK" in str(raised.value)


def test_summary_quotes_distinct_messages_once_and_drops_harmless_ones(caplog):
    messages = ["a\nb", "a b", "deprecated pixel format used, make sure you did set range correctly", "c", "d", "e"]
    assert summary("FFmpeg", messages) == "FFmpeg reported: a b; c; d (and 1 more)"
    assert summary("FFmpeg", ["deprecated pixel format used"]) is None
    with caplog.at_level(logging.DEBUG):
        assert summary("ITK", []) is None
