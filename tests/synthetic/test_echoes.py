from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cardiacclip.data.filelist import read_filelist, read_volume_tracings, volume_from_tracing
from cardiacclip.data.video_io import read_video
from cardiacclip.synthetic.dataset import generate_dataset
from cardiacclip.synthetic.echoes import contraction, lv_geometry, lv_profile, render_video, sample_params
from cardiacclip.synthetic.styles import ECHONET, SECOND, mixed_style


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


def test_default_style_draws_what_it_always_drew():
    """The echonet style is the generator without styles: same parameters, same pixels (the demo's and the
    benchmark's data, and every figure measured on them, stay valid)."""
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    a = render_video(sample_params(rng_a), rng_a)
    b = render_video(sample_params(rng_b, style=ECHONET), rng_b, ECHONET)
    assert a.frames.ndim == 3 and np.array_equal(a.frames, b.frames) and a.ef == b.ef


@pytest.mark.parametrize("style_name", ["second", "mixed"])
def test_other_styles_keep_exact_labels(tmp_path, style_name):
    table = generate_dataset(tmp_path / style_name, n=4, seed=21, workers=1, progress=False, style=style_name)
    tracings = read_volume_tracings(tmp_path / style_name / "VolumeTracings.csv")
    params = pd.read_csv(tmp_path / style_name / "SyntheticParams.csv")
    assert (params["Style"] == style_name).all()
    for _, row in read_filelist(tmp_path / style_name / "FileList.csv").iterrows():
        es, ed = (volume_from_tracing(f) for f in tracings[row["VideoFile"]].values())
        assert 100 * (ed - es) / ed == pytest.approx(row["EF"], abs=1e-4)  # the taper is the drawn one
    if style_name == "second":
        assert (table["FPS"] == 30).all() and (params["lv_taper"] == SECOND.lv_taper).all()
        video = read_video(tmp_path / style_name / "Videos" / f"{table['FileName'].iloc[0]}.avi")
        red, blue = video.frames[..., 0].astype(float).mean(), video.frames[..., 2].astype(float).mean()
        assert red > 1.3 * blue  # the bronze colour map


def test_mixed_styles_stay_clear_of_the_held_out_style():
    rng = np.random.default_rng(5)
    styles = [mixed_style(rng) for _ in range(300)]
    assert len({s.channel_gamma for s in styles}) > 100  # many looks, grey among them
    assert any(s.channel_gamma == (1.0, 1.0, 1.0) for s in styles)
    assert all(s.fps != SECOND.fps for s in styles)
    assert all(s.noise < SECOND.noise and s.lv_taper < SECOND.lv_taper for s in styles)
    assert all(s.sector_half_angle[0] > SECOND.sector_half_angle[1] for s in styles)


def test_unknown_style_is_refused_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="unknown synthetic style"):
        generate_dataset(tmp_path / "x", n=2, seed=0, style="sepia", progress=False)
    assert not (tmp_path / "x").exists()


def test_irregular_rhythm_writes_every_beat(tmp_path):
    from cardiacclip.data.filelist import read_beats

    table = generate_dataset(tmp_path / "af", n=10, seed=3, workers=2, progress=False, rhythm="irregular")
    beats = read_beats(tmp_path / "af")
    relative = []
    for name, ef in zip(table["FileName"], table["EF"], strict=True):
        mine = beats[beats["FileName"] == name]
        assert len(mine) >= 1 and ef == pytest.approx(mine["EF"].mean(), abs=1e-4)  # the label is the beats' mean
        assert (mine["EDFrame"] < mine["ESFrame"]).all() and (mine["ESFrame"] < mine["NextEDFrame"]).all()
        assert (mine["EDFrame"].to_numpy()[1:] == mine["NextEDFrame"].to_numpy()[:-1]).all()
        relative += list(mine["RR_ms"] / mine["RR_ms"].mean())
    assert np.std(relative) > 0.1  # AF-like: the intervals vary (a regular rhythm: under 0.05, below)


def test_a_regular_rhythm_has_one_ef_for_every_beat(synthetic_root):
    from cardiacclip.data.filelist import read_beats

    beats = read_beats(synthetic_root)
    labels = read_filelist(synthetic_root / "FileList.csv").set_index("FileName")["EF"]
    spread = beats.groupby("FileName")["EF"].agg(lambda e: e.max() - e.min())
    assert spread.max() < 1.0  # within frame sampling
    first = beats.groupby("FileName").first()
    assert (first["EF"] - labels[first.index]).abs().max() < 1.0
    assert beats.groupby("FileName")["RR_ms"].agg(lambda r: r.std(ddof=0) / r.mean()).max() < 0.05
