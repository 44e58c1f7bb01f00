from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.data.dicom import open_dicom
from cardiacclip.data.errors import CorruptVideoError, NotAVideoError, SingleFrameError, VideoReadError
from cardiacclip.data.source import probe
from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom
from helpers import moving_pattern, write_dicom, write_structured_report


@pytest.fixture(scope="module")
def capture():
    return screen_capture(seed=3, height=120, width=160, echo_px=64, echo_size=64, n_frames=12, fps=30.0)


@pytest.mark.parametrize("timing", ["cine", "frame_time_comma", "vector"])
def test_a_loop_states_its_rate_regions_and_identifiers(capture, tmp_path, timing):
    path = write_ultrasound_dicom(tmp_path / "loop.dcm", capture, timing=timing, study_uid="1.2.3", accession="A9")
    loop = open_dicom(path)
    assert loop.n_frames == 12 and loop.fps == pytest.approx(30.0, rel=0.01)
    assert loop.info.modality == "US" and loop.info.study_uid == "1.2.3" and loop.info.accession == "A9"
    x0, y0, x1, y1 = capture.box
    region = loop.info.regions[0]
    assert (region["RegionLocationMinX0"], region["RegionLocationMaxX1"]) == (x0, x1 - 1)


@pytest.mark.parametrize("encoding", ["rgb", "mono2", "mono1", "rle"])
def test_frames_decode_one_at_a_time_only_where_asked(capture, tmp_path, encoding):
    loop = open_dicom(write_ultrasound_dicom(tmp_path / "loop.dcm", capture, encoding=encoding))
    picked = dict(loop.frames([5, 1, 40, -1]))  # past the end and negative indices are left out
    assert sorted(picked) == [1, 5]
    assert picked[1].shape == (120, 160, 3) and picked[1].dtype == np.uint8
    grey_source = capture.frames[5].max(axis=-1).astype(int)
    assert np.abs(picked[5].max(axis=-1).astype(int) - grey_source).mean() < 2  # lossless encodings
    assert loop.count_decoded() == 12


def test_a_loop_that_declares_more_frames_than_it_holds_keeps_what_is_there(capture, tmp_path):
    loop = open_dicom(write_ultrasound_dicom(tmp_path / "short.dcm", capture, declared_frames=20))
    assert loop.n_frames == 12 and any("20" in w for w in loop.info.warnings)


def test_files_that_are_not_loops_are_named_with_the_reason(capture, tmp_path):
    still = screen_capture(seed=3, height=120, width=160, echo_px=64, echo_size=64, n_frames=1, fps=30.0)
    cases = {
        write_ultrasound_dicom(tmp_path / "still.dcm", still): SingleFrameError,
        write_structured_report(tmp_path / "report.dcm"): NotAVideoError,
    }
    (tmp_path / "text.dcm").write_text("not a DICOM file")
    cases[tmp_path / "text.dcm"] = (NotAVideoError, CorruptVideoError)
    for path, error in cases.items():
        with pytest.raises(error) as info:
            open_dicom(path)
        assert str(path) in str(info.value)


def test_a_damaged_value_representation_is_a_malformed_header(tmp_path):
    path = write_dicom(tmp_path / "vr.dcm", moving_pattern(n_frames=6), photometric="MONOCHROME2")
    data = path.read_bytes()
    tag = b"\x28\x00\x04\x00CS"  # (0028,0004) PhotometricInterpretation, explicit VR "CS"
    assert data.count(tag) == 1
    path.write_bytes(data.replace(tag, b"\x28\x00\x04\x00\x43\xf7"))
    with pytest.raises(CorruptVideoError, match="malformed DICOM header"):
        probe(path)


def test_corrupt_rle_data_is_corrupt_not_an_encoding_that_needs_a_plugin(tmp_path):
    path = write_ultrasound_dicom(tmp_path / "rle.dcm", screen_capture(0, 120, 160, 64, n_frames=6), "rle")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = b"\xff" * 4000  # a damaged stretch of the RLE segments
    path.write_bytes(bytes(data))
    with pytest.raises(VideoReadError) as caught:
        video = probe(path)
        video.read(range(video.n_frames))
    assert isinstance(caught.value, CorruptVideoError), caught.value
    assert "pip install" not in str(caught.value) and "cannot be decoded" in str(caught.value)
