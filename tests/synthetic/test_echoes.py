from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardiacclip.data.filelist import read_filelist, read_volume_tracings, volume_from_tracing
from cardiacclip.data.video_io import read_video
from cardiacclip.synthetic.echoes import (
    contraction,
    generate_dataset,
    lv_geometry,
    lv_profile,
    render_video,
    sample_params,
)


def test_layout_and_labels_from_tracings(synthetic_root):
    table = read_filelist(synthetic_root / "FileList.csv")
    tracings = read_volume_tracings(synthetic_root / "VolumeTracings.csv")
    assert set(table["Split"]) == {"TRAIN", "VAL", "TEST"}
    for _, row in table.iterrows():
        frames = tracings[row["VideoFile"]]
        assert len(frames) == 2 and all(len(rows) == 21 for rows in frames.values())
        es, ed = (volume_from_tracing(frames[f]) for f in frames)  # first listed ES, last ED
        assert 100 * (ed - es) / ed == pytest.approx(row["EF"], abs=1e-4)
        assert row["EDV"] > row["ESV"] > 0
    video = read_video(synthetic_root / "Videos" / table["VideoFile"][0])
    assert video.frames.shape[1:] == (112, 112, 3) and video.fps == pytest.approx(50)
    assert len(video.frames) == table["NumberOfFrames"][0]


def test_ef_distribution_and_dilation():
    rng = np.random.default_rng(0)
    params = [sample_params(rng) for _ in range(3000)]
    ef = np.array([p.target_ef for p in params])
    assert 52 < ef.mean() < 58 and 10 < ef.std() < 15
    assert ef.min() >= 10 and ef.max() <= 90
    radius = np.array([p.lv_radius / p.zoom for p in params])
    assert np.corrcoef(ef, radius)[0, 1] < -0.3  # low EF comes with a dilated LV


def test_single_frame_does_not_give_the_ef():
    """LV area in one frame is only loosely tied to EF; the ED/ES change determines it."""
    rng = np.random.default_rng(1)
    ef, area_random_frame, ef_from_change = [], [], []
    for _ in range(400):
        p = sample_params(rng)
        c = float(contraction(np.array([rng.random()]), p.systole)[0])
        length, radius = lv_geometry(p, c)
        area_random_frame.append(length * radius)
        (l_ed, r_ed), (l_es, r_es) = lv_geometry(p, 0.0), lv_geometry(p, 1.0)
        ef_from_change.append(100 * (1 - (r_es**2 * l_es) / (r_ed**2 * l_ed)))
        ef.append(p.target_ef)
    assert abs(np.corrcoef(ef, area_random_frame)[0, 1]) < 0.7
    assert np.allclose(ef, ef_from_change)


def test_contraction_cycle():
    phase = np.linspace(0, 1, 1001)
    c = contraction(phase, 0.35)
    assert c[0] == pytest.approx(0) and c.max() == pytest.approx(1, abs=1e-3)
    assert phase[np.argmax(c)] == pytest.approx(0.35, abs=0.002)
    assert lv_profile(np.array([0.0]))[0] == 0 and lv_profile(np.array([0.6]))[0] > 0.8


def test_generation_is_seeded_and_names_are_disjoint(tmp_path):
    a = generate_dataset(tmp_path / "a", n=3, seed=7, workers=1, progress=False)
    b = generate_dataset(tmp_path / "b", n=3, seed=7, workers=2, progress=False)
    c = generate_dataset(tmp_path / "c", n=3, seed=8, workers=1, progress=False)
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "a/Videos" / f"{a.FileName[0]}.avi").read_bytes() == (
        tmp_path / "b/Videos" / f"{b.FileName[0]}.avi"
    ).read_bytes()
    assert not set(a.FileName) & set(c.FileName)


def test_motion_is_visible_in_the_video():
    rng = np.random.default_rng(4)
    p = sample_params(rng)
    video = render_video(p, rng)
    ed, es = video.frames[video.ed_frame].astype(float), video.frames[video.es_frame].astype(float)
    assert np.abs(ed - es).mean() > 2.0
    # the LV cavity (dark) is larger at end-diastole than at end-systole
    centre = video.ed_tracing[1:, :2].mean(axis=0).astype(int)
    assert ed[centre[1], centre[0]] < 60
