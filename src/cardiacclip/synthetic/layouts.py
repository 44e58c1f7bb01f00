"""Small, format-faithful fixtures of the external sets' releases (`cardiacclip synth --layout ...`).

The same file names, header fields and cfg syntax as the releases (see `cardiacclip.data.camus` and
`cardiacclip.data.pediatric`), drawn by the synthetic echo generator, so the tests and the manual's
external-validation walk-through run without the real data (which must be requested from its owners).

- `write_camus`: `CAMUS_public/database_nifti/patientNNNN/` with `patientNNNN_{2CH,4CH}_half_sequence.nii.gz`
  (end-diastole to end-systole, 10-40 frames, a frame wider than tall) and `Info_{2CH,4CH}.cfg`, plus
  `database_split/subgroup_*.txt`; or, with `fmt="mhd"`, the older `patientNNNN_{2CH,4CH}_sequence.mhd`
  (+ .raw, a whole cycle) without FrameRate in the cfg.
- `write_pediatric`: `A4C/` and `PSAX/`, each with FileList.csv (folds 0-9), VolumeTracings.csv (X, Y, Frame)
  and 112 x 112 AVIs.

Tested by tests/data/test_external_sets.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cardiacclip.synthetic.echoes import render_video, sample_params

CAMUS_SPLITS = ("training", "validation", "testing")


def _video(rng: np.random.Generator, size: int, fps: float, n_frames: int):
    params = sample_params(rng, size=size, fps=fps)
    return render_video(type(params)(**{**params.__dict__, "n_frames": n_frames}), rng)


def _half_sequence(video) -> tuple[np.ndarray, int, int]:
    """Frames from an end-diastole to the next end-systole; (frames, ED index, ES index) in them."""
    ed, es = video.ed_frame, video.es_frame
    if es <= ed:  # the traced end-systole came first: take the next beat's
        es += round(video.params.fps * 60 / video.params.heart_rate)
    frames = video.frames[ed : min(es, len(video.frames) - 1) + 1]
    return frames, 0, len(frames) - 1


def _widen(frames: np.ndarray) -> np.ndarray:
    """Pad (F, S, S) grey frames to (F, S, 1.4 S): CAMUS frames are wider than tall."""
    pad = int(0.2 * frames.shape[2])
    return np.pad(frames, ((0, 0), (0, 0), (pad, pad)))


def _write_image(path: Path, frames: np.ndarray) -> None:
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(frames), str(path))


def write_camus(out: str | Path, n_patients: int = 10, seed: int = 0, fmt: str = "nifti") -> Path:
    """A CAMUS-like release of `n_patients` (see the module docstring); returns its root."""
    rng = np.random.default_rng([seed, 2019])
    root = Path(out) / ("CAMUS_public" if fmt == "nifti" else "camus_mhd")
    patients_dir = root / ("database_nifti" if fmt == "nifti" else "training")
    names = [f"patient{i + 1:04d}" for i in range(n_patients)]
    for name in names:
        folder = patients_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for view in ("2CH", "4CH"):
            fps = float(rng.choice([25.0, 30.0, 40.0]))
            video = _video(rng, 96, fps, 60)
            if fmt == "nifti":
                frames, ed, es = _half_sequence(video)
                _write_image(folder / f"{name}_{view}_half_sequence.nii.gz", _widen(frames))
            else:
                frames, ed, es = video.frames, video.ed_frame, video.es_frame
                _write_image(folder / f"{name}_{view}_sequence.mhd", _widen(frames))
            lines = [f"ED: {ed + 1}", f"ES: {es + 1}", f"NbFrame: {len(frames)}", f"Sex: {rng.choice(['M', 'F'])}",
                     f"Age: {int(rng.integers(20, 90))}", f"ImageQuality: {rng.choice(['Good', 'Medium', 'Poor'])}",
                     f"EF: {video.ef:.1f}"]  # fmt: skip
            if fmt == "nifti":
                lines.append(f"FrameRate: {fps:g}")
            (folder / f"Info_{view}.cfg").write_text("\n".join(lines) + "\n")
    if fmt == "nifti":
        (root / "database_split").mkdir(parents=True, exist_ok=True)
        thirds = np.array_split(np.array(names), 3)
        for split, members in zip(CAMUS_SPLITS, thirds, strict=True):
            (root / "database_split" / f"subgroup_{split}.txt").write_text("\n".join(members) + "\n")
    return root


def write_pediatric(out: str | Path, n_per_view: int = 10, seed: int = 0) -> Path:
    """An EchoNet-Pediatric-like release with A4C and PSAX folders (see the module docstring); returns its root."""
    from cardiacclip.data.video_io import write_video

    rng = np.random.default_rng([seed, 2023])
    root = Path(out) / "echonet_pediatric"
    for view in ("A4C", "PSAX"):
        (root / view / "Videos").mkdir(parents=True, exist_ok=True)
        rows, tracings = [], []
        for i in range(n_per_view):
            video = _video(rng, 112, 50.0, 70)
            name = f"CR{seed:02d}{view}{i:04d}.avi"
            write_video(root / view / "Videos" / name, video.frames, fps=50.0)
            rows.append({"FileName": name, "EF": round(video.ef, 2), "Sex": rng.choice(["M", "F"]),
                         "Age": int(rng.integers(0, 18)), "Weight": round(float(rng.uniform(3, 70)), 1),
                         "Height": round(float(rng.uniform(50, 180)), 1), "Split": i % 10})  # fmt: skip
            for frame, outline in ((video.es_frame, video.es_tracing), (video.ed_frame, video.ed_tracing)):
                points = np.asarray(outline).reshape(-1, 2)[:8] if np.asarray(outline).size else np.zeros((1, 2))
                tracings += [{"FileName": name, "X": x, "Y": y, "Frame": frame} for x, y in points]
        pd.DataFrame(rows).to_csv(root / view / "FileList.csv", index=False)
        pd.DataFrame(tracings).to_csv(root / view / "VolumeTracings.csv", index=False)
    return root
