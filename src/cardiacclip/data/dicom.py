"""DICOM cine loops (multi-frame ultrasound) through pydicom.

Handles MONOCHROME1/2, RGB, YBR_FULL, YBR_FULL_422 (converted to RGB by pydicom) and
PALETTE COLOR, native or compressed where a pydicom decoder plugin is installed (JPEG
baseline, the usual echo encoding, decodes with Pillow). The frame rate comes from
CineRate (0018,0040), else FrameTime (0018,1063, milliseconds), else
RecommendedDisplayFrameRate (0008,2144). Decimal commas ("33,33") are read as decimal points;
a tag that is not a number is reported as a malformed header, naming the tag.

Returns plain (frames, fps) so this module does not depend on `video_io`, which dispatches here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from cardiacclip.data.errors import (
    CorruptVideoError,
    NoFramesError,
    NotAVideoError,
    SingleFrameError,
    UnsupportedEncodingError,
)


def _number(ds: pydicom.Dataset, keyword: str) -> float | None:
    """A numeric header value (decimal commas accepted), None when absent or empty; ValueError names the tag."""
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"malformed {keyword} {str(value)!r}: not a number") from None


def dicom_frame_rate(ds: pydicom.Dataset) -> float | None:
    """Frames per second stated by the dataset, or None. Raises ValueError for a malformed tag."""
    cine_rate = _number(ds, "CineRate")
    if cine_rate is not None and cine_rate > 0:
        return cine_rate
    frame_time = _number(ds, "FrameTime")
    if frame_time is not None and frame_time > 0:
        return 1000.0 / frame_time
    display_rate = _number(ds, "RecommendedDisplayFrameRate")
    if display_rate is not None and display_rate > 0:
        return display_rate
    return None


def _to_uint8(pixels: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    bits = int(ds.get("BitsStored", 8))
    pixels = pixels.astype(np.float32)
    if ds.get("PixelRepresentation", 0) == 1:
        pixels -= pixels.min()
    scale = 255.0 / max(float(2**bits - 1), 1.0)
    return np.clip(pixels * scale + 0.5, 0, 255).astype(np.uint8)


def read_dicom_video(path: str | Path) -> tuple[np.ndarray, float | None]:
    """Read a multi-frame DICOM into (F, H, W, 3) uint8 RGB frames and its frame rate (frames/s or None).

    Raises a `VideoReadError` subclass naming the file and the reason.
    """
    path = Path(path)
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise NotAVideoError(path, f"not a readable DICOM file: {exc}") from exc
    except Exception as exc:  # pydicom raises plain exceptions on truncated headers
        raise CorruptVideoError(path, f"DICOM header cannot be parsed: {exc}") from exc
    if "PixelData" not in ds:
        raise NotAVideoError(path, "DICOM file has no pixel data")
    try:
        n_frames = int(_number(ds, "NumberOfFrames") or 1)
        fps = dicom_frame_rate(ds)
    except ValueError as exc:
        raise CorruptVideoError(path, f"DICOM header: {exc}") from exc
    if n_frames < 2:
        raise SingleFrameError(path, f"NumberOfFrames={n_frames}")
    pixels = _rgb_pixels(ds, path)
    if pixels.shape[0] == 0:
        raise NoFramesError(path)
    return np.ascontiguousarray(pixels), fps


def _rgb_pixels(ds: pydicom.Dataset, path: Path) -> np.ndarray:
    """The dataset's frames as (F, H, W, 3) uint8 RGB, whatever the photometric interpretation."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    try:
        pixels = ds.pixel_array  # YBR_FULL / YBR_FULL_422 are converted to RGB here
    except (NotImplementedError, RuntimeError) as exc:
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
        raise UnsupportedEncodingError(
            path,
            f"transfer syntax {getattr(syntax, 'name', syntax)} needs a pydicom decoder plugin "
            f"(for JPEG: pip install pylibjpeg pylibjpeg-libjpeg): {exc}",
        ) from exc
    except Exception as exc:
        raise CorruptVideoError(path, f"pixel data cannot be decoded: {exc}") from exc
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        pixels = apply_color_lut(pixels, ds)
    pixels = _to_uint8(np.asarray(pixels), ds)
    if pixels.ndim == 3:  # (F, H, W) monochrome
        if photometric == "MONOCHROME1":
            pixels = 255 - pixels
        pixels = np.repeat(pixels[..., None], 3, axis=-1)
    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise UnsupportedEncodingError(path, f"unexpected pixel array shape {pixels.shape} for {photometric}")
    return pixels
