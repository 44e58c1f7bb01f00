"""Builders shared by the tests: small configs and models, test videos, DICOM files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cardiacclip.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from cardiacclip.data.fewshot import FewShotSplit, write_split_file
from cardiacclip.data.filelist import read_filelist, select_split
from cardiacclip.model.backbone import load_backbone
from cardiacclip.model.cardiacclip import CardiacCLIP
from cardiacclip.model.prompts import load_prompts


def small_split_file(root: Path, out: Path, n_train: int = 4, n_val: int = 3) -> Path:
    """A FileList-format split with a few TRAIN and VAL videos and the whole TEST split."""
    table = read_filelist(root / "FileList.csv")
    split = FewShotSplit(
        sorted(select_split(table, "train")["FileName"])[:n_train],
        sorted(select_split(table, "val")["FileName"])[:n_val],
        sorted(select_split(table, "test")["FileName"]),
    )
    return write_split_file(split, table, out)


def tiny_config(root: Path | None = None, split_file: Path | None = None, **model_overrides) -> RunConfig:
    model = ModelConfig(**{"backbone": "tiny", **model_overrides})
    data = DataConfig(
        root=str(root) if root else None,
        split_file=str(split_file) if split_file else None,
        shots=1,
        val_size=3,
        length=4,
        period=8,
        pad=4,
        val_clips=1,
        test_clips=2,
    )
    train = TrainConfig(
        epochs=2,
        batch_size=2,
        lr_trunk=1e-4,
        lr_zoom=1e-3,
        lr_mfl=1e-3,
        lr_text=1e-4,
        lr_head=1e-3,
        device="cpu",
        seed=3,
    )
    return RunConfig(data=data, model=model, train=train)


def tiny_model(config: RunConfig | None = None, seed: int = 0) -> CardiacCLIP:
    config = config or tiny_config()
    torch.manual_seed(seed)
    backbone = load_backbone(config.model.backbone)
    return CardiacCLIP(backbone, config.model, load_prompts(config.model.prompts), tile_size=config.data.image_size)


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


def write_dicom(
    path: Path, frames: np.ndarray, photometric: str = "RGB", fps: float | None = 30.0, frame_time: bool = False
) -> Path:
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


def write_structured_report(path: Path) -> Path:
    """A DICOM Comprehensive SR (a report: no pixel data), as archives keep beside the loops of a study."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "SR"
    ds.save_as(path, enforce_file_format=True)
    return path


def set_raw_tag(path: Path, keyword: str, vr: str, text: str) -> Path:
    """Rewrite a DICOM file with one header value stored as given, even malformed (e.g. FrameTime '33,33')."""
    import pydicom

    from cardiacclip.synthetic.dicoms import raw_tag

    ds = pydicom.dcmread(path)
    raw_tag(ds, keyword, vr, text)
    ds.save_as(path)
    return path
