"""Shared fixtures: a small synthetic EchoNet-Dynamic folder and helpers that write test videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cardiacclip.data.synthetic import generate_dataset

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """48 synthetic videos (seed 0): 36 TRAIN, 6 VAL, 6 TEST."""
    root = tmp_path_factory.mktemp("synthetic")
    generate_dataset(root, n=48, seed=0, workers=2, progress=False)
    return root


def moving_pattern(n_frames: int = 20, height: int = 64, width: int = 64) -> np.ndarray:
    """Smooth, codec-friendly RGB frames with a moving bright disc (uint8, F x H x W x 3)."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = []
    for t in range(n_frames):
        cx = width / 2 + width / 4 * np.cos(2 * np.pi * t / n_frames)
        disc = np.exp(-((xx - cx) ** 2 + (yy - height / 2) ** 2) / (2 * (width / 8) ** 2))
        gray = 40 + 180 * disc
        frames.append(np.stack([gray, gray * 0.9, gray * 0.8], axis=-1))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def write_dicom(path: Path, frames: np.ndarray, photometric: str = "RGB", fps: float | None = 30.0, frame_time: bool = False) -> Path:
    """A multi-frame ultrasound DICOM (native, explicit VR little endian) written with pydicom."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.pixels import convert_color_space
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"  # Ultrasound Multi-frame Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "US"
    ds.Rows, ds.Columns = frames.shape[1], frames.shape[2]
    ds.NumberOfFrames = len(frames)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if photometric.startswith("MONOCHROME"):
        pixels = frames[..., 0] if frames.ndim == 4 else frames
        ds.SamplesPerPixel = 1
    else:
        pixels = frames
        if photometric == "YBR_FULL":
            pixels = convert_color_space(frames.copy(), "RGB", "YBR_FULL", per_frame=True)  # converts in place
        ds.SamplesPerPixel = 3
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    if fps is not None:
        if frame_time:
            ds.FrameTime = f"{1000.0 / fps:.4f}"
        else:
            ds.CineRate = int(round(fps))
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
