"""Beat finding on filling signals with known beats: the synthetic echoes' own rhythm (regular, AF-like, shorter
than a beat, starting mid-systole), the label-free orientation, and the phase head's fit."""

from __future__ import annotations

import numpy as np
import pytest

from cardiacclip.model.phase import (
    IRREGULAR_CV,
    PhaseHead,
    find_beats,
    fit_phase_head,
    periodicity_signal,
    phase_signal,
)
from cardiacclip.synthetic.echoes import contraction
from cardiacclip.synthetic.rhythm import irregular_track, regular_track, sample_rhythm, true_beats

FPS = 50.0


def _fill(track, rng=None, noise=0.0):
    """The LV's filling over the loop (1 - contraction: high at end-diastole), optionally noisy; and its truth."""
    fill = 1.0 - contraction(track.phase, track.systole)
    beats = true_beats(track, fill * track.scale, FPS, 1.0)
    if rng is not None:
        fill = fill + rng.normal(0.0, noise, fill.shape)
    return fill, beats


def _assert_matches(found, truth, tolerance=1):
    assert len(found.beats) == len(truth) > 0
    for beat, drawn in zip(found.beats, truth, strict=True):
        assert abs(beat.ed_frame - drawn.ed_frame) <= tolerance
        assert abs(beat.es_frame - drawn.es_frame) <= tolerance
        assert abs(beat.next_ed_frame - drawn.next_ed_frame) <= tolerance


def test_a_regular_rhythm_gives_every_beat_and_the_heart_rate():
    track = regular_track(phase0=0.6, heart_rate=72.0, fps=FPS, n_frames=200, systole=0.35, ef=55.0)
    signal, truth = _fill(track, np.random.default_rng(0), noise=0.03)
    found = find_beats(signal, FPS, "head")
    _assert_matches(found, truth)
    assert found.heart_rate == pytest.approx(72.0, rel=0.04)
    assert found.rr_cv is not None and found.rr_cv < IRREGULAR_CV and not found.irregular


def test_an_irregular_rhythm_gives_every_beat_and_is_flagged():
    rng = np.random.default_rng(3)
    rhythm = sample_rhythm(rng, heart_rate=80.0, fps=FPS, n_frames=250, target_ef=50.0)
    track = irregular_track(rhythm, phase0=0.5, fps=FPS, n_frames=250, systole=0.35)
    signal, truth = _fill(track, rng, noise=0.03)
    intervals = np.diff([b.ed_frame for b in truth] + [truth[-1].next_ed_frame])
    assert intervals.std() / intervals.mean() > IRREGULAR_CV  # the drawn rhythm is irregular
    found = find_beats(signal, FPS, "head")
    _assert_matches(found, truth)
    assert found.irregular


def test_a_loop_shorter_than_one_beat_has_no_complete_beat():
    track = regular_track(phase0=0.2, heart_rate=60.0, fps=FPS, n_frames=40, systole=0.35, ef=55.0)
    found = find_beats(_fill(track)[0], FPS, "head")
    assert found.beats == [] and found.heart_rate is None and found.rr_cv is None


def test_a_loop_starting_mid_systole_begins_with_the_first_whole_beat():
    track = regular_track(phase0=0.15, heart_rate=60.0, fps=FPS, n_frames=160, systole=0.35, ef=55.0)
    signal, truth = _fill(track)
    found = find_beats(signal, FPS, "head")
    _assert_matches(found, truth)
    assert found.beats[0].ed_frame >= 40  # the beat cut by the loop's start is not one of them
    assert found.es_frames[0] < found.beats[0].ed_frame  # its end-systole is still found


def test_the_label_free_route_orients_the_cycle_by_itself():
    rng = np.random.default_rng(1)
    track = regular_track(phase0=0.3, heart_rate=90.0, fps=FPS, n_frames=180, systole=0.33, ef=40.0)
    fill, truth = _fill(track)
    direction = rng.normal(size=32)
    for sign in (1.0, -1.0):  # features that move with the filling either way round
        features = np.outer(sign * fill, direction) + rng.normal(0.0, 0.02, (len(fill), 32)) + 5.0
        signal = periodicity_signal(features, FPS)
        assert np.corrcoef(signal, fill)[0, 1] > 0.95
        _assert_matches(find_beats(signal, FPS, "periodicity"), truth)


def test_the_phase_head_learns_the_filling_direction_and_is_saved(tmp_path):
    rng = np.random.default_rng(2)
    direction, nuisance = rng.normal(size=16), rng.normal(size=16)
    subjects = rng.normal(size=(40, 16))
    ed = subjects + direction + rng.normal(0, 0.1, (40, 16)) + np.outer(rng.normal(size=40), nuisance)
    es = subjects - direction + rng.normal(0, 0.1, (40, 16)) + np.outer(rng.normal(size=40), nuisance)
    head = fit_phase_head(ed, es, rng.normal(0, 0.1, (200, 16)) + np.outer(rng.normal(size=200), nuisance))
    assert head.signal(np.stack([ed[0], es[0]]))[0] > head.signal(np.stack([ed[0], es[0]]))[1]
    assert abs(np.dot(head.weight, nuisance / np.linalg.norm(nuisance))) < 0.3  # the nuisance is ignored
    loaded = PhaseHead.load(head.save(tmp_path / "phase.json"))
    assert loaded == head
    _, route = phase_signal(np.stack([ed[0], es[0], ed[1]]), FPS, loaded)
    assert route == "head"
    _, route = phase_signal(np.stack([ed[0], es[0], ed[1]]), FPS, None)
    assert route == "periodicity"
