from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.data.source import probe
from cardiacclip.data.video_io import is_dicom, read_video_info
from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom


@pytest.fixture(scope="module")
def capture():
    return screen_capture(1, n_frames=40)


ENCODINGS = ["rgb", "mono2", "mono1", "mono16_window", "palette16", "rle", "ybr_full", "jpeg"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_pixels_decode_to_the_drawn_image(capture, tmp_path, encoding):
    video, info = read_video_info(write_ultrasound_dicom(tmp_path / "x.dcm", capture, encoding))
    drawn = (
        capture.frames
        if encoding in ("rgb", "rle", "ybr_full", "jpeg")
        else np.repeat(capture.frames.max(-1)[..., None], 3, -1)
    )
    assert video.frames.shape == drawn.shape
    assert np.abs(video.frames.astype(int) - drawn).mean() <= 3  # grey levels
    assert video.fps == pytest.approx(capture.fps) and info.modality == "US" and len(info.regions) == 1


@pytest.mark.parametrize("timing", ["frame_time_comma", "vector"])
def test_frame_rate_from_decimal_comma_and_frame_time_vector(capture, tmp_path, timing):
    video, _ = read_video_info(write_ultrasound_dicom(tmp_path / "t.dcm", capture, "mono2", timing=timing))
    assert video.fps == pytest.approx(capture.fps, rel=1e-3)


def test_raw_dataset_extensionless_and_over_declared(capture, tmp_path):
    raw = write_ultrasound_dicom(tmp_path / "IM000001", capture, "mono2", preamble=False)
    assert is_dicom(raw) and raw.read_bytes()[128:132] != b"DICM"
    video, info = read_video_info(raw)
    assert len(video.frames) == 40 and "without the 128-byte preamble" in info.warnings[0]
    video, info = read_video_info(write_ultrasound_dicom(tmp_path / "o.dcm", capture, "mono2", declared_frames=55))
    assert len(video.frames) == 40 and "says 55 but the pixel data holds 40" in info.warnings[0]
    _, info = read_video_info(write_ultrasound_dicom(tmp_path / "n.dcm", capture, "mono2", timing="none"))
    assert info.study_uid and not info.warnings


def test_jpeg_baseline_is_stored_as_scanners_do(capture, tmp_path):
    import pydicom

    ds = pydicom.dcmread(write_ultrasound_dicom(tmp_path / "j.dcm", capture, "jpeg"))
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEGBaseline8Bit
    assert ds.PhotometricInterpretation == "YBR_FULL_422" and ds.AccessionNumber == "ACC0001"


@pytest.mark.parametrize("encoding", ["jpeg", "rle", "mono16_window"])
def test_probe_and_selected_frames_match_the_whole_loop(capture, tmp_path, encoding):
    path = write_ultrasound_dicom(tmp_path / "p.dcm", capture, encoding)
    whole, _ = read_video_info(path)
    video = probe(path)
    assert video.n_frames == 40 and video.kind == "dicom" and video.fps == pytest.approx(capture.fps)
    picked = video.read([3, 17, 17, 39, 80], transform=lambda f: f[::2, ::2])
    assert sorted(picked) == [3, 17, 39]  # past the end left out, duplicates once
    np.testing.assert_array_equal(picked[17], whole.frames[17][::2, ::2])
