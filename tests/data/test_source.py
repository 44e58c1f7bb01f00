from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.data import CorruptVideoError, NotAVideoError, SingleFrameError, VideoReadError, write_video
from cardiacclip.data.source import Reading, probe, probe_all, problem
from cardiacclip.data.video_io import read_video
from cardiacclip.synthetic.dicoms import screen_capture, with_colour_doppler, write_ultrasound_dicom
from helpers import moving_pattern, set_raw_tag, write_dicom, write_structured_report


@pytest.fixture(scope="module")
def capture():
    return screen_capture(7, height=300, width=400, echo_px=192, n_frames=36, fps=30.0)


def test_an_avi_is_probed_from_its_packets_and_a_sample(tmp_path):
    frames = moving_pattern(n_frames=90, height=112, width=112)
    video = probe(write_video(tmp_path / "v.avi", frames, fps=30.0))
    assert (video.kind, video.n_frames, video.fps, video.colour) == ("video", 90, pytest.approx(30.0), "tinted")
    assert video.region.method == "none" and video.flags == [] and video.array is None
    as_stored = probe(tmp_path / "v.avi", Reading(colour="rgb"))
    decoded = read_video(tmp_path / "v.avi").frames
    picked = as_stored.read([89, 3, 3, 120], transform=lambda f: f[:, :, :1])
    assert sorted(picked) == [3, 89] and picked[3].shape == (112, 112, 1)
    np.testing.assert_array_equal(picked[89], decoded[89][:, :, :1])


def test_dicom_region_from_tags_or_pixels_and_the_same_frames_as_the_array(capture, tmp_path):
    tagged = probe(write_ultrasound_dicom(tmp_path / "t.dcm", capture, "rgb", regions=True))
    found = probe(write_ultrasound_dicom(tmp_path / "f.dcm", capture, "rgb", regions=False))
    assert tagged.kind == "dicom" and tagged.region.method == "regions" and tagged.region.box == capture.box
    assert found.region.method == "sector" and found.region.mask is not None
    in_memory = probe(capture.frames, fps=capture.fps, info=tagged.info)
    assert in_memory.kind == "array" and in_memory.region.box == tagged.region.box
    a, b = tagged.read_resized([0, 10], 112), in_memory.read_resized([0, 10], 112)
    np.testing.assert_array_equal(a[10], b[10])  # a file and its frames in memory: one reading


def test_a_tinted_loop_reads_as_its_grey_twin(capture, tmp_path):
    grey = probe(write_ultrasound_dicom(tmp_path / "g.dcm", capture, "mono2"))
    bronze_file = write_ultrasound_dicom(tmp_path / "b.dcm", capture, "palette_bronze")
    bronze = probe(bronze_file)
    assert grey.colour == "grey" and grey.luminance_gain is None
    assert bronze.colour == "tinted" and bronze.luminance_gain == pytest.approx(
        1 / (0.299 + 0.587 * 0.78 + 0.114 * 0.5), rel=0.01
    )
    assert bronze.flags == []
    a, b = grey.read_resized([5, 20], 112), bronze.read_resized([5, 20], 112)
    assert np.abs(a[5].astype(int) - b[5]).max() <= 1 and np.abs(a[20].astype(int) - b[20]).mean() < 0.1
    as_stored = probe(bronze_file, Reading(colour="rgb"))
    assert as_stored.colour == "tinted" and as_stored.luminance_gain is None
    stored = as_stored.read_resized([5], 112)[5]
    assert stored[..., 0].mean() > stored[..., 2].mean() + 5  # still bronze


def test_colour_doppler_in_the_sector_is_flagged_and_not_converted(capture, tmp_path):
    path = write_ultrasound_dicom(tmp_path / "d.dcm", with_colour_doppler(capture), "rgb")
    video = probe(path)
    assert video.colour == "colour_doppler" and "colour_doppler" in video.flags and video.luminance_gain is None
    assert problem(video) == "flagged: colour_doppler"


def test_coloured_overlays_outside_the_sector_do_not_count(capture, tmp_path):
    # the screen has a green ECG trace and a blue logo; whatever region is kept, colour is judged in the sector
    path = write_ultrasound_dicom(tmp_path / "s.dcm", capture, "rgb", regions=False)
    for crop in ("auto", "none"):
        assert probe(path, Reading(crop=crop)).colour == "grey"


def test_a_frame_that_does_not_decode_is_a_read_error(tmp_path):
    video = probe(write_video(tmp_path / "v.avi", moving_pattern(n_frames=20), fps=50.0))
    video.n_frames = 25  # as if the container had announced frames that are not there
    with pytest.raises(CorruptVideoError, match=r"frame\(s\) \[20, 21, 22\] of 25 could not be decoded"):
        video.read([20, 21, 22])


def test_probe_all_gives_each_video_its_source_or_its_reason(tmp_path):
    good = write_video(tmp_path / "good.avi", moving_pattern(n_frames=40), fps=50.0)
    still = write_dicom(tmp_path / "still.dcm", moving_pattern(n_frames=1))
    (tmp_path / "empty.avi").write_bytes(b"")
    paths = {"good": good, "still": still, "empty": tmp_path / "empty.avi", "gone": tmp_path / "gone.avi"}
    paths.update({f"copy{i}": good for i in range(8)})  # enough videos for worker processes
    results = probe_all(paths, workers=2, show=False)
    assert results["good"].n_frames == 40 and problem(results["good"]) is None
    assert isinstance(results["still"], SingleFrameError) and "single still image" in problem(results["still"])
    assert isinstance(results["empty"], VideoReadError) and "file is empty" in problem(results["empty"])
    assert "file not found" in problem(results["gone"])


def test_a_structured_report_is_not_a_video(tmp_path):
    with pytest.raises(NotAVideoError, match="no pixel data"):
        probe(write_structured_report(tmp_path / "sr.dcm"))


@pytest.mark.parametrize("fps", [2.576980381e9, 1e-6, float("inf")])
def test_an_implausible_frame_rate_is_treated_as_unknown_and_named(fps):
    video = probe(moving_pattern(n_frames=30), fps=fps)
    assert video.fps is None
    assert any("implausible frame rate" in w and f"{fps:.10g}" in w for w in video.warnings), video.warnings


def test_a_dicom_stating_an_absurd_frame_rate_gets_the_training_period(tmp_path):
    from cardiacclip.data.clips import ClipSampler

    path = write_dicom(tmp_path / "fast.dcm", moving_pattern(n_frames=40), fps=None)
    set_raw_tag(path, "CineRate", "IS", "99999999")
    video = probe(path)
    assert video.fps is None and "99999999" in " ".join(video.warnings)
    assert ClipSampler(length=8, period=2, fps=50.0).for_video(video.fps).period == 2
