"""One way from a file to a clip: what `evaluate` measures is what `predict` and `cc.load(...).predict` answer.

A FileList of DICOM screen captures (several pixel encodings, region tags on some, 30 and 50 frames/s) trains
for 2 epochs (frozen trunk with the trunk-feature cache, so DICOM loops go through the cache's prefill too) and
is evaluated; every video's EF from `evaluate` must equal the EF from the `predict` job and from the Python
API to 1e-4, with the same checkpoint, clips and precision. The same for AVIs at two frame rates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cardiacclip as cc
from cardiacclip.data.filelist import video_file_name
from cardiacclip.jobs.evaluate import evaluate_checkpoint
from cardiacclip.jobs.predict import PredictOptions, predict_files
from cardiacclip.jobs.train import train
from cardiacclip.synthetic.dataset import generate_dataset
from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom
from helpers import tiny_config

ENCODINGS = ["jpeg", "rle", "mono2", "palette16", "ybr_full", "rgb", "mono16_window", "palette_bronze"]
CLIPS = 3


def dicom_dataset(root: Path) -> Path:
    """8 screen captures as DICOMs: 4 TRAIN, 2 VAL, 2 TEST; rates alternate 30/50 fps; tags on every other."""
    (root / "Videos").mkdir(parents=True)
    rows = []
    for i, encoding in enumerate(ENCODINGS):
        fps = 30.0 if i % 2 else 50.0
        capture = screen_capture(100 + i, height=300, width=400, echo_px=192, n_frames=48, fps=fps)
        name = f"cap{i}_{encoding}.dcm"
        write_ultrasound_dicom(root / "Videos" / name, capture, encoding, regions=i % 4 < 2)
        rows.append({"FileName": name, "EF": round(capture.ef, 1)})
    table = pd.DataFrame(rows)
    table["Split"] = ["TRAIN"] * 4 + ["VAL"] * 2 + ["TEST"] * 2
    table.to_csv(root / "FileList.csv", index=False)
    return root


def avi_dataset(root: Path) -> Path:
    """Synthetic AVIs at 50 fps (TRAIN, VAL) and 30 fps (VAL and TEST copies at another rate)."""
    generate_dataset(root, n=12, seed=4, workers=1, progress=False)
    slow = root.parent / f"{root.name}_30fps"
    generate_dataset(slow, n=8, seed=5, fps=30.0, workers=1, progress=False)
    table = pd.read_csv(root / "FileList.csv")
    extra = pd.read_csv(slow / "FileList.csv")
    for name in extra["FileName"]:
        (slow / "Videos" / f"{name}.avi").rename(root / "Videos" / f"{name}.avi")
    pd.concat([table, extra]).to_csv(root / "FileList.csv", index=False)
    return root


def check_same_ef(root: Path, tmp_path: Path, trunk_cache: bool) -> pd.DataFrame:
    config = tiny_config(root)
    config.data.shots, config.data.val_size, config.data.pad = None, None, 0
    config.data.length, config.data.period, config.data.test_clips = 4, 6, CLIPS
    config.train.precision = "fp32"
    config.model.freeze_trunk = config.train.trunk_cache = trunk_cache
    run = tmp_path / "run"
    result = train(config, run, progress=False)
    assert result.epochs_run == 2 and (run / "checkpoints" / "best.pt").is_file()

    evaluate_checkpoint(run, root, tmp_path / "eval", split="all", clips=CLIPS, precision="fp32", progress=False)
    evaluated = pd.read_csv(tmp_path / "eval" / "predictions.csv").set_index("FileName")

    model = cc.load(run, device="cpu", precision="fp32")
    files = [root / "Videos" / video_file_name(name) for name in evaluated.index]
    predict_files(model, files, tmp_path / "rows.csv", PredictOptions(clips=CLIPS, workers=1), progress=False)
    rows = pd.read_csv(tmp_path / "rows.csv").set_index("file")
    assert (rows["status"] == "ok").all()
    for name, path in zip(evaluated.index, files, strict=True):
        api = model.predict(path, clips=CLIPS)
        ef = evaluated.at[name, "EF_pred"]
        assert api.ef == pytest.approx(ef, abs=1e-4), name
        assert rows.at[str(path), "EF_pred"] == pytest.approx(ef, abs=1e-4), name
        assert api.period == evaluated.at[name, "period"] == rows.at[str(path), "period"]
        assert api.clip_starts == [int(s) for s in evaluated.at[name, "clip_starts"].split()]
    return rows


@pytest.mark.slow
def test_dicom_filelist_trains_with_the_trunk_cache_and_evaluates_as_predict_answers(tmp_path):
    rows = check_same_ef(dicom_dataset(tmp_path / "dicoms"), tmp_path, trunk_cache=True)
    periods = {Path(f).name[:4]: p for f, p in rows["period"].items()}
    assert periods["cap0"] == 6 and periods["cap1"] == 4  # 50 fps: the config's period; 30 fps: round(6 * 30 / 50)
    methods = {Path(f).name: m for f, m in rows["crop_method"].items()}
    assert methods["cap0_jpeg.dcm"] == "regions" and methods["cap2_mono2.dcm"] == "sector"
    assert rows.loc[rows.index.str.endswith("palette_bronze.dcm"), "colour"].item() == "tinted"


@pytest.mark.slow
def test_avis_at_two_frame_rates_evaluate_as_predict_answers(tmp_path):
    rows = check_same_ef(avi_dataset(tmp_path / "avis"), tmp_path, trunk_cache=False)
    assert set(rows["period"]) == {6, 4} and set(rows["fps"].round()) == {50, 30}
