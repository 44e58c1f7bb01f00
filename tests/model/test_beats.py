"""Beat-by-beat predictions (`clips="beats"`): one clip per beat found, the EF their mean, the fallback for a loop
without a complete beat, the rhythm flags, and the phase head a training run fits."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cardiacclip as cc
from cardiacclip.data.clips import BEAT_LEAD
from cardiacclip.data.filelist import read_beats, read_filelist
from cardiacclip.data.video_io import read_video
from cardiacclip.model.beats import BeatSummary
from cardiacclip.model.phase import PhaseHead


@pytest.fixture(scope="module")
def predictor(tiny_run):
    return cc.load(tiny_run[0], device="cpu")


def test_training_fits_a_phase_head_and_load_finds_it(tiny_run, predictor):
    saved = json.loads((tiny_run[0] / "phase.json").read_text())
    assert saved["route"] in ("head", "periodicity") and set(saved["validation"]) >= {"head_ed", "periodicity_es"}
    assert isinstance(predictor.phase, PhaseHead) and len(predictor.phase.weight) == len(saved["weight"])


def test_one_clip_per_beat_and_the_ef_is_their_mean(predictor, synthetic_root):
    table = read_filelist(synthetic_root / "FileList.csv")
    drawn = read_beats(synthetic_root)
    name = table["FileName"][0]
    result = predictor.predict(synthetic_root / "Videos" / table["VideoFile"][0], clips="beats")
    beats = result.beats
    assert beats is not None and not beats.fallback and beats.n_beats >= 1
    assert result.clip_starts == [max(0, ed - BEAT_LEAD * result.period) for ed in beats.beat_ed]
    assert len(result.clip_efs) == beats.n_beats
    assert result.ef == pytest.approx(np.mean(beats.beat_efs), abs=1e-4)
    assert all(ed < es < nxt for ed, es, nxt in zip(beats.beat_ed, beats.beat_es, beats.beat_next_ed, strict=True))
    assert beats.heart_rate is not None and 30 < beats.heart_rate < 200
    truth = drawn[drawn["FileName"] == name]["EDFrame"].to_numpy()
    assert min(abs(truth - beats.beat_ed[0])) <= 3  # the tiny model finds a drawn beat's end-diastole
    period = beats.beat_periods[0]  # the evenly spaced clips' spacing, or longer where the clip must reach ES
    assert period >= result.period
    end = result.clip_starts[0] + (predictor.config.data.length - 1) * period
    assert result.clip_starts[0] <= beats.beat_ed[0] and beats.beat_es[0] <= end  # the clip holds its ED and ES
    body = result.to_dict()
    assert body["beats"]["n_beats"] == beats.n_beats and json.dumps(body)


def test_a_loop_shorter_than_a_beat_falls_back_to_evenly_spaced_clips(predictor, synthetic_root):
    table = read_filelist(synthetic_root / "FileList.csv")
    frames, fps = read_video(synthetic_root / "Videos" / table["VideoFile"][1])
    short = frames[:20]  # 0.4 s: no heart rate drawn gives a whole beat in it
    result = predictor.predict(short, fps=fps, clips="beats")
    even = predictor.predict(short, fps=fps, clips=predictor.fallback_clips)
    assert result.beats.fallback and result.beats.beat_efs == [] and "no_complete_beat" in result.flags
    assert result.ef == pytest.approx(even.ef) and any("no complete heartbeat" in w for w in result.warnings)


def test_rhythm_flags():
    def summary(rr_cv, efs):
        return BeatSummary("head", 70.0, rr_cv, [0], [10], beat_efs=efs)

    assert summary(0.05, [50.0, 52.0]).flags(10.0) == []
    assert summary(0.2, [50.0, 52.0]).flags(10.0) == ["irregular_rhythm"]
    assert summary(0.05, [40.0, 55.0]).flags(10.0) == ["beat_ef_spread"]
    assert summary(0.05, [40.0, 55.0]).flags(20.0) == []  # within the model's interval width
    assert summary(0.05, [40.0, 55.0]).flags(None) == ["beat_ef_spread"]  # uncalibrated: 10 EF points
    assert BeatSummary("periodicity", None, None, [], [], fallback=True).flags(10.0) == ["no_complete_beat"]


def test_without_a_phase_head_beats_are_found_label_free_and_it_says_so(predictor, synthetic_root):
    video = synthetic_root / "Videos" / read_filelist(synthetic_root / "FileList.csv")["VideoFile"][0]
    label_free = cc.Predictor(predictor.model, predictor.config, predictor.device, calibration=predictor.calibration)
    result = label_free.predict(video, clips="beats")
    assert result.beats.route == "periodicity" and any("label-free route" in w for w in result.warnings)
    assert not any("label-free" in w for w in predictor.predict(video, clips="beats").warnings)


def test_beat_clips_reuse_the_phase_pass_and_give_the_same_outputs(predictor, synthetic_root):
    from cardiacclip.model.beats import beat_clip_features, find_video_beats, on_beats
    from cardiacclip.model.inference import predict_clips

    table = read_filelist(synthetic_root / "FileList.csv")
    prepared = predictor.prepare(predictor.probe(synthetic_root / "Videos" / table["VideoFile"][2]), "beats")
    found = find_video_beats(predictor.model, predictor.sampler, prepared, predictor.phase)
    video = on_beats(predictor.sampler, prepared, found)
    pooled = beat_clip_features(predictor.model, video, found)
    assert pooled is not None and pooled.shape[:2] == video.clips.shape[:2]
    whole = predict_clips(predictor.model, video.clips, source_index=video.source_index)
    reused = predict_clips(predictor.model, pooled, pooled=True)
    for key in ("ef", "attention", "probs"):
        np.testing.assert_allclose(reused[key], whole[key], atol=1e-4)


def test_a_regular_loop_averages_three_beats_spread_over_it_an_irregular_one_every_beat():
    from cardiacclip.model.beats import REGULAR_BEATS, beats_to_average
    from cardiacclip.model.phase import Beat, BeatFinding

    beats = [Beat(50 * i, 50 * i + 15, 50 * i + 50) for i in range(6)]
    eds = [b.ed_frame for b in beats] + [300]
    regular = BeatFinding(beats, eds, [b.es_frame for b in beats], 60.0, 0.02, "head", np.zeros(320))
    chosen = beats_to_average(regular)
    assert REGULAR_BEATS == 3 and [b.ed_frame for b in chosen.beats] == [0, 100, 250]  # first, middle, last
    assert chosen.ed_frames == eds and chosen.heart_rate == 60.0 and chosen.rr_cv == 0.02
    irregular = BeatFinding(beats, eds, [b.es_frame for b in beats], 60.0, 0.25, "head", np.zeros(320))
    assert beats_to_average(irregular).beats == beats
    assert beats_to_average(BeatFinding(beats[:2], eds, [], 60.0, 0.02, "head", np.zeros(320))).beats == beats[:2]
