"""DICOM cine loops (multi-frame ultrasound) through pydicom, decoded frame by frame.

Pixels: MONOCHROME1/2, RGB, YBR_FULL, YBR_FULL_422 (converted to RGB), PALETTE COLOR with 8- or
16-bit palette entries, native, RLE, or compressed where a pydicom decoder plugin is installed
(JPEG baseline decodes with Pillow; JPEG-LS/2000 need `pip install cardiacclip[dicom]`). Data of more
than 8 bits is mapped to 0-255 through its VOI LUT or window when the file has one, else through
its actual data range (never through 2**BitsStored, which makes 0-255 data stored in 16 bits black).

Frames are decoded one at a time (`pydicom.pixels.iter_pixels`) and turned into uint8 RGB at
once, so a long 600 x 800 loop never exists as a float or YBR copy of the whole loop.

Timing: CineRate (0018,0040), else FrameTime (0018,1063, ms), else FrameTimeVector (0018,1065,
the median interval), else RecommendedDisplayFrameRate (0008,2144). Decimal commas ("33,33") are
read as decimal points; a tag that is not a number is a malformed header, naming the tag.

Files: a dataset without the 128-byte preamble is read (with a warning); a NumberOfFrames larger
than the pixel data holds keeps the frames that are there (with a warning). `LoopInfo` carries
what later steps need and nothing about the patient: modality, ultrasound regions, study UID (for
grouping by study), warnings.

`open_dicom` reads the header only; `DicomLoop.frames(indices)` decodes just the frames asked for
(what the clips need). Returns plain data so this module does not depend on `video_io`, which dispatches here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from cardiacclip.data.errors import (
    CorruptVideoError,
    NotAVideoError,
    SingleFrameError,
    UnsupportedEncodingError,
)

REGION_KEYWORDS = (
    "RegionSpatialFormat",
    "RegionDataType",
    "RegionLocationMinX0",
    "RegionLocationMinY0",
    "RegionLocationMaxX1",
    "RegionLocationMaxY1",
)


@dataclass
class LoopInfo:
    """What a loop's file says about itself (a DICOM's header; empty for AVI/MP4 and arrays): technical
    facts, no patient name, ID or date; the study and instance UIDs and the accession number are kept for
    grouping and for joining labels, and are only ever written hashed or to `convert`'s private mapping file."""

    modality: str | None = None
    regions: list[dict] = field(default_factory=list)
    study_uid: str | None = None
    sop_uid: str | None = None  # identifiers for joining labels (`convert`); never written to shared outputs
    accession: str | None = None
    warnings: list[str] = field(default_factory=list)


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
    """Frames per second stated by the dataset, or None: the first positive of CineRate, FrameTime (ms per frame),
    the median of FrameTimeVector, RecommendedDisplayFrameRate. Raises ValueError for a malformed tag it reads."""
    for rate_of in (_cine_rate, _frame_time_rate, _vector_rate, _display_rate):
        rate = rate_of(ds)
        if rate is not None and rate > 0:
            return rate
    return None


def _cine_rate(ds: pydicom.Dataset) -> float | None:
    return _number(ds, "CineRate")


def _frame_time_rate(ds: pydicom.Dataset) -> float | None:
    frame_time = _number(ds, "FrameTime")
    return 1000.0 / frame_time if frame_time is not None and frame_time > 0 else None


def _vector_rate(ds: pydicom.Dataset) -> float | None:
    vector = ds.get("FrameTimeVector")
    if vector in (None, ""):
        return None
    items = [vector] if isinstance(vector, str | bytes) or not hasattr(vector, "__iter__") else list(vector)
    intervals = [v for v in (float(str(item).replace(",", ".")) for item in items) if v > 0]
    return 1000.0 / float(np.median(intervals)) if intervals else None


def _display_rate(ds: pydicom.Dataset) -> float | None:
    return _number(ds, "RecommendedDisplayFrameRate")


def _open(path: Path, warnings: list[str]) -> pydicom.Dataset:
    try:
        return _with_transfer_syntax(pydicom.dcmread(path), warnings)
    except InvalidDicomError:
        pass  # no preamble: maybe a raw dataset
    except Exception as exc:  # pydicom raises plain exceptions on truncated headers
        raise CorruptVideoError(path, f"DICOM header cannot be parsed: {exc}") from exc
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as exc:  # pydicom's plain exceptions on a file that is not DICOM: this file's reason
        raise NotAVideoError(path, f"not a readable DICOM file: {exc}") from exc
    if "PixelData" not in ds and len(ds) == 0:
        raise NotAVideoError(path, "not a DICOM file")
    ds = _with_transfer_syntax(ds, [])
    warnings.append(
        f"raw DICOM dataset without the 128-byte preamble and file meta: read as {ds.file_meta.TransferSyntaxUID.name}"
    )
    return ds


def _with_transfer_syntax(ds: pydicom.Dataset, warnings: list[str]) -> pydicom.Dataset:
    """A dataset whose file meta lacks the transfer syntax (a raw dataset, or a damaged meta group) gets the one it
    was read with (implicit or explicit VR little endian), with a warning."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return ds
    ds.file_meta = meta if meta is not None else pydicom.dataset.FileMetaDataset()
    syntax = pydicom.uid.ImplicitVRLittleEndian if ds.is_implicit_VR else pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta.TransferSyntaxUID = syntax
    warnings.append(f"no transfer syntax in the file meta: read as {syntax.name}")
    return ds


@dataclass
class DicomLoop:
    """An opened DICOM loop whose pixels are not decoded yet: `frames(indices)` decodes what is asked for."""

    path: Path
    dataset: pydicom.Dataset
    n_frames: int
    fps: float | None
    info: LoopInfo

    def frames(self, indices: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(index, (H, W, 3) uint8 RGB frame) for each requested frame index (all when None; past the end left
        out), ascending, decoded and converted one frame at a time."""
        if indices is None:
            return _rgb_frames(self.dataset, self.path, None)
        wanted = sorted({int(i) for i in indices if 0 <= int(i) < self.n_frames})
        return _rgb_frames(self.dataset, self.path, wanted) if wanted else iter(())

    def count_decoded(self) -> int:
        """Frames the pixel data actually yields (decodes the whole loop)."""
        return sum(1 for _ in self.frames())


def open_dicom(path: str | Path) -> DicomLoop:
    """Read a DICOM header (the pixel data stays encoded). Raises a `VideoReadError` subclass naming the
    file and the reason: not DICOM, no pixel data, malformed timing tags, a still image."""
    path = Path(path)
    info = LoopInfo()
    ds = _open(path, info.warnings)
    _check_header(ds, path)
    if "PixelData" not in ds:
        raise NotAVideoError(path, "DICOM file has no pixel data")
    missing = [k for k in ("Rows", "Columns", "BitsAllocated") if not isinstance(ds.get(k), int) or ds.get(k) <= 0]
    if missing:
        raise CorruptVideoError(path, f"malformed DICOM header: no valid {', '.join(missing)}")
    try:
        declared = int(_number(ds, "NumberOfFrames") or 1)
        fps = dicom_frame_rate(ds)
    except ValueError as exc:
        raise CorruptVideoError(path, f"DICOM header: {exc}") from exc
    if declared < 2:
        raise SingleFrameError(path, f"NumberOfFrames={declared}")
    _describe(ds, info)
    _fit_frame_count(ds, declared, info.warnings)
    return DicomLoop(path, ds, int(ds.NumberOfFrames), fps, info)


def _check_header(ds: pydicom.Dataset, path: Path) -> None:
    """Every header element parsed now (pydicom parses lazily): a damaged one, such as an unknown value
    representation, is a malformed header here, not a decoder's error later."""
    try:
        for element in ds.iterall():  # nested sequences too
            element.value  # noqa: B018 (reading the value is the check)
        known_syntax = ds.file_meta.TransferSyntaxUID.is_transfer_syntax
    except Exception as exc:  # pydicom's plain exceptions on a damaged element
        raise CorruptVideoError(path, f"malformed DICOM header: {type(exc).__name__}: {exc}") from exc
    if not known_syntax:
        syntax = str(ds.file_meta.TransferSyntaxUID)[:64]
        raise CorruptVideoError(path, f"malformed DICOM header: {syntax!r} is not a transfer syntax")


def _text(ds: pydicom.Dataset, keyword: str) -> str | None:
    return str(ds.get(keyword, "")) or None


def _describe(ds: pydicom.Dataset, info: LoopInfo) -> None:
    """The identifiers and ultrasound regions of the header, into `info`."""
    info.modality, info.study_uid = _text(ds, "Modality"), _text(ds, "StudyInstanceUID")
    info.sop_uid, info.accession = _text(ds, "SOPInstanceUID"), _text(ds, "AccessionNumber")
    regions = ds.get("SequenceOfUltrasoundRegions", [])
    info.regions = [_region_values(item) for item in regions]


def _region_values(item: pydicom.Dataset) -> dict[str, int | float | str]:
    """One ultrasound region's tags; a damaged one holding several values (or none) is left out."""
    values = {k: item.get(k) for k in REGION_KEYWORDS if k in item}
    return {k: v for k, v in values.items() if isinstance(v, int | float | str)}


def _fit_frame_count(ds: pydicom.Dataset, declared: int, warnings: list[str]) -> None:
    """Native pixel data holding fewer frames than declared: keep the frames that are there."""
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return
    samples = int(ds.get("SamplesPerPixel", 1))
    frame_bytes = int(ds.Rows) * int(ds.Columns) * samples * ((int(ds.BitsAllocated) + 7) // 8)
    available = len(ds.PixelData) // max(frame_bytes, 1)
    if 0 < available < declared:
        ds.NumberOfFrames = available
        warnings.append(f"NumberOfFrames says {declared} but the pixel data holds {available} frames: used {available}")


def _rgb_frames(ds: pydicom.Dataset, path: Path, indices: list[int] | None) -> Iterator[tuple[int, np.ndarray]]:
    """Frames (all, or `indices` ascending) as uint8 RGB, decoded and converted one frame at a time. A decoder
    that fails is `UnsupportedEncodingError` only when no decoder for the transfer syntax is installed (a plugin
    would help); otherwise the pixel data is damaged: `CorruptVideoError`."""
    from pydicom.pixels import iter_pixels

    order = indices if indices is not None else range(int(ds.get("NumberOfFrames", 1)))
    try:
        to_rgb = _rgb_converter(ds, path)
        # YBR_FULL / YBR_FULL_422 are converted to RGB by iter_pixels
        for i, frame in zip(order, iter_pixels(ds, indices=indices), strict=False):
            yield i, to_rgb(frame)
    except UnsupportedEncodingError:
        raise
    except (NotImplementedError, RuntimeError) as exc:
        if not _decoder_installed(ds):
            syntax = _syntax_name(ds)
            detail = f"transfer syntax {syntax} needs a pydicom decoder plugin (pip install 'cardiacclip[dicom]')"
            raise UnsupportedEncodingError(path, f"{detail}: {exc}") from exc
        raise CorruptVideoError(path, f"pixel data cannot be decoded ({_syntax_name(ds)}): {exc}") from exc
    except Exception as exc:  # the decoders' plain exceptions on damaged pixel data: this file's reason
        raise CorruptVideoError(path, f"pixel data cannot be decoded: {exc}") from exc


def _syntax_name(ds: pydicom.Dataset) -> str:
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown")
    return str(getattr(syntax, "name", syntax))


def _decoder_installed(ds: pydicom.Dataset) -> bool:
    """Whether pydicom has a working decoder for the dataset's transfer syntax (a missing plugin says False)."""
    from pydicom.pixels.decoders.base import get_decoder

    try:
        return bool(get_decoder(ds.file_meta.TransferSyntaxUID).is_available)
    except Exception:  # an unknown or private transfer syntax: no decoder
        return False


def _rgb_converter(ds: pydicom.Dataset, path: Path):
    """A function from one decoded frame to (H, W, 3) uint8 RGB for the dataset's photometric interpretation."""
    from pydicom.pixels import apply_color_lut

    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    to_uint8 = _grey_mapping(ds) if photometric.startswith("MONOCHROME") else None
    full_scale = 2 ** int(ds.get("BitsStored", 8)) - 1

    def to_rgb(frame: np.ndarray) -> np.ndarray:
        if photometric == "PALETTE COLOR":
            frame = _palette_to_uint8(apply_color_lut(frame, ds), ds)
        elif to_uint8 is not None:
            frame = to_uint8(frame)
            frame = 255 - frame if photometric == "MONOCHROME1" else frame
        elif frame.dtype != np.uint8:
            frame = np.clip(frame.astype(np.float32) * 255.0 / full_scale + 0.5, 0, 255)
        frame = np.ascontiguousarray(frame, dtype=np.uint8)  # RLE decodes colour planes as strided views
        if frame.ndim == 2:
            frame = np.repeat(frame[..., None], 3, axis=-1)
        if frame.ndim != 3 or frame.shape[-1] != 3:
            raise UnsupportedEncodingError(path, f"unexpected pixel array shape {frame.shape} for {photometric}")
        return frame

    return to_rgb


def _grey_mapping(ds: pydicom.Dataset):
    """A function from one monochrome frame to uint8: through the VOI LUT or window when the file has one
    (its output range mapped to 0-255), else through the data range of the first frame (8-bit data as is)."""
    from pydicom.pixels import apply_voi_lut

    if "VOILUTSequence" in ds:
        low, high = 0.0, float(2 ** int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1)
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        bits, signed = int(ds.get("BitsStored", 16)), int(ds.get("PixelRepresentation", 0)) == 1
        low, high = (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1) if signed else (0.0, 2.0**bits - 1)
    else:
        low = high = None
    data_range: list[float] = []

    def to_uint8(frame: np.ndarray) -> np.ndarray:
        if low is not None:
            values, lo, hi = apply_voi_lut(frame, ds).astype(np.float32), low, high
        else:
            if frame.dtype == np.uint8:
                return frame
            values = frame.astype(np.float32)
            if not data_range:
                data_range.extend((float(values.min()), float(values.max())))
            lo, hi = data_range
        return np.clip((values - lo) * 255.0 / max(hi - lo, 1e-6) + 0.5, 0, 255).astype(np.uint8)

    return to_uint8


def _palette_to_uint8(rgb: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """Palette output (entries of 8 or 16 bits, from the LUT descriptor) as uint8 RGB."""
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor", [0, 0, 8])
    bits = int(descriptor[2]) if len(descriptor) > 2 else 8
    if bits <= 8 and rgb.max() <= 255:
        return rgb.astype(np.uint8)
    return np.clip(rgb.astype(np.float32) * 255.0 / (2**bits - 1) + 0.5, 0, 255).astype(np.uint8)
