from __future__ import annotations

import av
import numpy as np
import pytest

from cardiacclip.data import (
    CorruptVideoError,
    EmptyFileError,
    NoFramesError,
    NotAVideoError,
    SingleFrameError,
    VideoNotFoundError,
    VideoReadError,
    read_video,
    write_video,
)
from helpers import moving_pattern, set_raw_tag, write_dicom


@pytest.fixture
def pattern():
    return moving_pattern(n_frames=24)


def test_avi_mp4_dicom_read_to_the_same_frames(tmp_path, pattern):
    avi = read_video(write_video(tmp_path / "v.avi", pattern, fps=50))
    mp4 = read_video(write_video(tmp_path / "v.mp4", pattern, fps=50, quality=1))
    rgb = read_video(write_dicom(tmp_path / "rgb.dcm", pattern, "RGB", fps=30))
    mono = read_video(write_dicom(tmp_path / "mono", pattern, "MONOCHROME2", fps=25, frame_time=True))
    ybr = read_video(write_dicom(tmp_path / "ybr.dcm", pattern, "YBR_FULL", fps=30))
    for video in (avi, mp4, rgb, mono, ybr):
        assert video.frames.dtype == np.uint8
        assert video.frames.shape == pattern.shape
    assert np.array_equal(rgb.frames, pattern)  # native DICOM is lossless
    assert np.array_equal(mono.frames, np.repeat(pattern[..., :1], 3, axis=-1))
    # Lossy codecs and the YCbCr round trip stay close to the source.
    for video in (avi, mp4, ybr):
        assert np.abs(video.frames.astype(int) - pattern.astype(int)).mean() < 3.0
    assert avi.fps == pytest.approx(50) and mp4.fps == pytest.approx(50)
    assert rgb.fps == pytest.approx(30) and mono.fps == pytest.approx(25)


def test_frame_count_is_decoded_not_trusted(tmp_path, pattern):
    path = write_video(tmp_path / "v.avi", pattern, fps=50)
    assert len(read_video(path).frames) == len(pattern)


def test_missing_file(tmp_path):
    with pytest.raises(VideoNotFoundError, match="file not found") as info:
        read_video(tmp_path / "nope.avi")
    assert isinstance(info.value, FileNotFoundError) and "nope.avi" in str(info.value)


def test_zero_bytes(tmp_path):
    (tmp_path / "empty.avi").write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty.avi: file is empty"):
        read_video(tmp_path / "empty.avi")


def test_not_a_video(tmp_path):
    (tmp_path / "notes.avi").write_text("this is a text file, not a video\n" * 20)
    with pytest.raises(NotAVideoError, match="notes.avi: not a video"):
        read_video(tmp_path / "notes.avi")


def test_corrupt_stream(tmp_path, pattern):
    path = write_video(tmp_path / "v.avi", pattern, fps=50)
    data = bytearray(path.read_bytes())
    for i in range(2000, len(data) - 2000, 97):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptVideoError, match="v.avi: corrupt video stream"):
        read_video(path)


def test_zero_decodable_frames(tmp_path):
    path = tmp_path / "noframes.avi"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=50)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuvj420p"
        container.start_encoding()  # writes the header of a stream that never gets a frame
    with pytest.raises(NoFramesError, match="noframes.avi: no decodable frames"):
        read_video(path)


def test_dicom_still_is_refused(tmp_path, pattern):
    path = write_dicom(tmp_path / "still.dcm", pattern[:1], "RGB")
    with pytest.raises(SingleFrameError, match="still.dcm: a single still image"):
        read_video(path)


def test_dicom_suffix_but_garbage(tmp_path):
    (tmp_path / "bad.dcm").write_bytes(b"\x00" * 64 + b"garbage" * 10)
    with pytest.raises(VideoReadError, match="bad.dcm"):
        read_video(tmp_path / "bad.dcm")


def test_dicom_decimal_comma_frame_time_is_read(tmp_path, pattern):
    path = set_raw_tag(write_dicom(tmp_path / "comma.dcm", pattern, "RGB", fps=None), "FrameTime", "DS", "33,33")
    video = read_video(path)
    assert video.fps == pytest.approx(1000 / 33.33) and len(video.frames) == len(pattern)


def test_dicom_malformed_number_of_frames_is_a_read_error_naming_the_tag(tmp_path, pattern):
    path = set_raw_tag(write_dicom(tmp_path / "bad.dcm", pattern, "RGB"), "NumberOfFrames", "IS", "1A")
    with pytest.warns(UserWarning), pytest.raises(CorruptVideoError, match="malformed NumberOfFrames '1A'"):
        read_video(path)


def test_an_avi_is_counted_without_decoding_and_read_by_seeking(tmp_path):
    from cardiacclip.data.video_io import open_loop

    frames = moving_pattern(n_frames=150)
    path = write_video(tmp_path / "long.avi", frames, fps=30.0)
    decoded = read_video(path).frames
    loop = open_loop(path)
    assert loop.n_frames == 150 and loop.fps == pytest.approx(30.0)
    picked = dict(loop.frames([149, 0, 77, 77, 400]))
    assert sorted(picked) == [0, 77, 149]  # past the end left out, duplicates once
    np.testing.assert_array_equal(picked[77], decoded[77])
