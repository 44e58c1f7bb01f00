"""Realistic ultrasound DICOM screen captures, for tests and demonstrations of hospital-archive input.

A synthetic echo (`synthetic.echoes`) is upscaled into a 600 x 800 screen with what PACS captures
carry around the sector: burned-in patient text, an ECG trace sweeping along the bottom, a depth
scale and a logo. The DICOM gets optional SequenceOfUltrasoundRegions tags for the sector and is
written in one of several pixel encodings. The drawn sector mask and box are returned so tests can
check what the reader and the region finder recover.

Every name, ID and date in these files is invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from cardiacclip.synthetic.echoes import render_video, sample_params

Encoding = Literal["rgb", "mono2", "mono1", "mono16_window", "palette16", "palette_bronze", "rle", "ybr_full", "jpeg"]
BRONZE = (1.0, 0.78, 0.5)  # a linear bronze tint map: grey level g shown as g * BRONZE


@dataclass
class ScreenCapture:
    frames: np.ndarray  # (F, H, W, 3) uint8 RGB screen
    sector: np.ndarray  # (F, P, P, 3) uint8: the echo alone at its size on the screen (the "sector-only twin")
    fps: float
    mask: np.ndarray  # (H, W) bool: where the sector was drawn
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) of the pasted echo, exclusive
    ef: float


def screen_capture(
    seed: int,
    height: int = 600,
    width: int = 800,
    echo_px: int = 384,
    echo_size: int = 112,
    n_frames: int | None = None,
    fps: float = 50.0,
) -> ScreenCapture:
    """One synthetic echo at `fps` frames/s pasted into a screen with overlays (see the module docstring)."""
    rng = np.random.default_rng([seed, 424242])
    params = sample_params(rng, size=echo_size, fps=fps)
    if n_frames is not None:
        params = type(params)(**{**params.__dict__, "n_frames": n_frames})
    video = render_video(params, rng)
    echo = video.frames if video.frames.ndim == 4 else np.repeat(video.frames[..., None], 3, axis=-1)
    big = np.stack([cv2.resize(f, (echo_px, echo_px), interpolation=cv2.INTER_CUBIC) for f in echo])
    y0, x0 = (height - echo_px) // 2 + 20, (width - echo_px) // 2
    screen = np.zeros((len(big), height, width, 3), dtype=np.uint8)
    screen[:, y0 : y0 + echo_px, x0 : x0 + echo_px] = big
    drawn = np.zeros((height, width), dtype=np.uint8)
    drawn[y0 : y0 + echo_px, x0 : x0 + echo_px] = big.max(axis=(0, 3)) > 8
    mask = np.zeros((height, width), dtype=np.uint8)  # the fan: the convex hull of what was drawn
    cv2.fillConvexPoly(mask, cv2.convexHull(cv2.findNonZero(drawn)), 1)
    mask = mask.astype(bool)
    _draw_overlays(screen, x0, y0, echo_px, params.fps, rng)
    return ScreenCapture(screen, big, params.fps, mask, (x0, y0, x0 + echo_px, y0 + echo_px), video.ef)


def with_colour_doppler(capture: ScreenCapture, seed: int = 0) -> ScreenCapture:
    """The capture with colour-Doppler flow painted into the sector: the dark (blood) pixels of a box around the
    sector's middle in red (towards the probe) and blue (away), changing over the cycle, as a colour-flow loop
    shows them."""
    frames = capture.frames.copy()
    x0, y0, x1, y1 = capture.box
    cx, cy, half = (x0 + x1) // 2, (y0 + y1) // 2, (x1 - x0) // 5
    rng = np.random.default_rng([seed, 7])
    for i, frame in enumerate(frames):
        box = frame[cy - half : cy + half, cx - half : cx + half]
        blood = (box.max(axis=-1) < 70) & capture.mask[cy - half : cy + half, cx - half : cx + half]
        towards = (np.sin(2 * np.pi * i / 25 + rng.uniform(0, 0.3)) > 0) ^ (np.arange(2 * half)[:, None] > half)
        box[blood & towards] = (210, 40, 30)
        box[blood & ~towards] = (30, 70, 220)
    return ScreenCapture(frames, capture.sector, capture.fps, capture.mask, capture.box, capture.ef)


def _draw_overlays(screen: np.ndarray, x0: int, y0: int, echo_px: int, fps: float, rng: np.random.Generator) -> None:
    f, h, w = screen.shape[:3]
    static = np.zeros((h, w, 3), dtype=np.uint8)
    for row, text in enumerate(("DOE^JANE  ID 000123", "DOB 1970-01-01", "ECHO LAB 3  A4C", "FR 50Hz  16cm")):
        cv2.putText(static, text, (12, 28 + 24 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (230, 230, 230), 1, cv2.LINE_AA)
    for depth in range(0, echo_px, echo_px // 8):  # depth scale ticks right of the sector
        cv2.line(static, (x0 + echo_px + 10, y0 + depth), (x0 + echo_px + 22, y0 + depth), (200, 200, 200), 1)
    cv2.rectangle(static, (w - 110, 12), (w - 12, 44), (90, 140, 200), -1)  # a vendor logo
    screen |= static[None]
    base = h - 40  # ECG: a sweeping green trace, one beat per second
    t = np.arange(w) / 120.0
    beat = np.exp(-(((t % 1.0) - 0.3) ** 2) / 0.0008) * 25 - np.exp(-(((t % 1.0) - 0.45) ** 2) / 0.003) * 6
    ys = (base - beat).astype(np.int32)
    for i in range(f):
        head = int((i / fps) * 160) % w
        points = np.stack([np.arange(head), ys[:head]], axis=1).reshape(-1, 1, 2)
        if head > 1:
            cv2.polylines(screen[i], [points], False, (40, 220, 60), 1)


def write_ultrasound_dicom(
    path: str | Path,
    capture: ScreenCapture,
    encoding: Encoding = "rgb",
    regions: bool = True,
    timing: Literal["cine", "frame_time_comma", "vector", "none"] = "cine",
    modality: str = "US",
    preamble: bool = True,
    declared_frames: int | None = None,
    study_uid: str | None = None,
    accession: str | None = None,
) -> Path:
    """Write a capture as a multi-frame ultrasound DICOM (invented patient data) in `encoding`."""
    from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

    frames = capture.frames
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid or generate_uid(), generate_uid()
    ds.Modality, ds.PatientName, ds.PatientID, ds.PatientBirthDate = modality, "Doe^Jane", "000123", "19700101"
    ds.StudyDate, ds.AccessionNumber = "20240315", accession or "ACC0001"
    ds.Rows, ds.Columns = frames.shape[1], frames.shape[2]
    ds.NumberOfFrames = declared_frames or len(frames)
    _set_timing(ds, capture.fps, len(frames), timing)
    if regions:
        item = Dataset()
        item.RegionSpatialFormat, item.RegionDataType, item.RegionFlags = 1, 1, 0
        x0, y0, x1, y1 = capture.box
        item.RegionLocationMinX0, item.RegionLocationMinY0 = x0, y0
        item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x1 - 1, y1 - 1
        ds.SequenceOfUltrasoundRegions = [item]
    _set_pixels(ds, frames, encoding)
    if encoding == "rle":
        ds.compress(RLELossless, encoding_plugin="pydicom")
    elif encoding == "jpeg":
        _jpeg_baseline(ds, frames)
    if timing == "frame_time_comma":  # stored as written by some vendors: a decimal comma
        raw_tag(ds, "FrameTime", "DS", f"{1000.0 / capture.fps:.2f}".replace(".", ","))
    return _save(ds, Path(path), preamble)


def _set_timing(ds, fps: float, n_frames: int, timing: str) -> None:
    """The frame rate as the scanner states it: CineRate, FrameTime, FrameTimeVector, or nothing."""
    if timing == "cine":
        ds.CineRate = int(round(fps))
    elif timing == "frame_time_comma":
        ds.FrameTime = f"{1000.0 / fps:.2f}"
    elif timing == "vector":
        ds.FrameTimeVector = [0.0] + [round(1000.0 / fps, 3)] * (n_frames - 1)


def _save(ds, path: Path, preamble: bool) -> Path:
    """A Part-10 file, or (`preamble=False`) a raw dataset without preamble and file meta, as PACS exports hold."""
    if preamble:
        ds.save_as(path, enforce_file_format=True)
        return path
    import pydicom

    del ds.file_meta
    ds.preamble = None
    pydicom.dcmwrite(path, ds, enforce_file_format=False, implicit_vr=False, little_endian=True)
    return path


def _set_pixels(ds, frames: np.ndarray, encoding: Encoding) -> None:
    """Pixel data and the tags that describe it, in one of the encodings (RLE and JPEG are compressed after)."""
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if encoding in ("rgb", "rle", "ybr_full", "jpeg"):
        pixels = _colour_pixels(ds, frames, encoding)
    elif encoding in ("mono2", "mono1", "mono16_window"):
        pixels = _grey_pixels(ds, frames.max(axis=-1), encoding)  # the overlays keep their brightness
    elif encoding in ("palette16", "palette_bronze"):
        pixels = _palette_pixels(ds, frames.max(axis=-1), encoding)
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()


def _colour_pixels(ds, frames: np.ndarray, encoding: Encoding) -> np.ndarray:
    ds.SamplesPerPixel, ds.PlanarConfiguration = 3, 0
    ds.PhotometricInterpretation = "YBR_FULL" if encoding == "ybr_full" else "RGB"
    if encoding != "ybr_full":
        return frames
    from pydicom.pixels import convert_color_space

    return convert_color_space(frames.copy(), "RGB", "YBR_FULL", per_frame=True)


def _grey_pixels(ds, grey: np.ndarray, encoding: Encoding) -> np.ndarray:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if encoding == "mono1" else "MONOCHROME2"
    if encoding == "mono1":
        return 255 - grey
    if encoding == "mono16_window":  # 16-bit storage holding 0-255, with a display window (PACS exports do this)
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.WindowCenter, ds.WindowWidth = 127.5, 256
        return grey.astype(np.uint16)
    return grey


def _palette_pixels(ds, grey: np.ndarray, encoding: Encoding) -> np.ndarray:
    """8-bit indices into a palette with 16-bit entries; palette_bronze: a tinted B-mode loop, each grey level
    shown as a shade of bronze."""
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "PALETTE COLOR"
    tint = BRONZE if encoding == "palette_bronze" else (1.0, 1.0, 1.0)
    for colour, gain in zip(("Red", "Green", "Blue"), tint, strict=True):
        entries = np.round(np.arange(256) * 257 * gain).astype(np.uint16)
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", entries.tobytes())
    return grey


def _jpeg_baseline(ds, frames: np.ndarray, quality: int = 95) -> None:
    """JPEG baseline (process 1) in YBR_FULL_422, as scanners store it: one Pillow-encoded frame per fragment."""
    import io

    from PIL import Image
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    encoded = []
    for frame in frames:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, "JPEG", quality=quality, subsampling=1)  # 1 = 4:2:2
        encoded.append(buffer.getvalue())
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True


def raw_tag(ds, keyword: str, vr: str, text: str) -> None:
    """Store one header value exactly as given, even malformed (e.g. FrameTime '33,33'), as some vendors write it."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    tag = Tag(keyword)
    value = text.encode() + (b" " if len(text) % 2 else b"")
    ds._dict[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)


def write_dicomdir_tree(folder: str | Path, dicoms: list[Path]) -> Path:
    """Copy DICOM files into a DICOMDIR file set (`folder/DICOMDIR`, `PT*/ST*/SE*/IM*` without extensions),
    as a CD or a PACS export lays them out. Returns the DICOMDIR path."""
    import pydicom
    from pydicom.fileset import FileSet

    file_set = FileSet()
    for number, path in enumerate(dicoms, start=1):
        ds = pydicom.dcmread(path)
        ds.StudyTime = ds.get("StudyTime", "120000")
        ds.StudyID = ds.get("StudyID", "1")
        ds.SeriesNumber, ds.InstanceNumber = ds.get("SeriesNumber", 1), number
        file_set.add(ds)
    file_set.write(folder)
    return Path(folder) / "DICOMDIR"


def write_pacs_export(folder: str | Path, n: int = 12, seed: int = 0, n_frames: int = 60) -> Path:
    """A synthetic PACS export to try `inspect`, `convert` and `predict --by study` on: `n` loops of n/3 studies
    (600 x 800 screen captures in rotating encodings, some without region tags, extension-less names, one
    raw dataset without preamble), a DICOMDIR subtree, one AVI screen capture, and two files that must not
    get an EF (a CT object and a file that only looks like DICOM). Writes `folder/export/` and
    `folder/labels.csv` (StudyInstanceUID, EF: each study's first loop's drawn EF), and `folder/reports/`: each
    study's echo measurement SR as the echo machine would store it (`write_study_reports`). Returns the export
    folder."""
    import pandas as pd

    from cardiacclip.data.video_io import write_video

    folder = Path(folder)
    export = folder / "export"
    (export / "cd").mkdir(parents=True, exist_ok=True)
    encodings: list[Encoding] = ["jpeg", "rle", "mono16_window", "palette16", "ybr_full", "mono1"]
    labels: dict[str, float] = {}
    staged = []
    for i in range(n):
        capture = screen_capture(seed * 1000 + i, n_frames=n_frames)
        study = f"1.2.826.0.1.3680043.10.999.{seed}.{i // 3 + 1}"
        labels.setdefault(study, round(capture.ef, 1))
        kwargs = {"study_uid": study, "accession": f"ACC{seed:02d}{i // 3 + 1:04d}", "regions": i % 2 == 0}
        if i % 4 == 3:  # the DICOMDIR part of the export
            staged.append(write_ultrasound_dicom(folder / f"staged_{i}.dcm", capture, encodings[i % 6], **kwargs))
            continue
        name = f"IM{i + 1:06d}" if i % 3 else f"loop_{i + 1:03d}.dcm"
        write_ultrasound_dicom(export / name, capture, encodings[i % 6], preamble=i != 5, **kwargs)
    if staged:
        write_dicomdir_tree(export / "cd", staged)
        for path in staged:
            path.unlink()
    capture = screen_capture(seed * 1000 + n, n_frames=n_frames)
    write_video(export / "capture.avi", capture.frames, fps=capture.fps)
    scout = screen_capture(seed * 1000 + n + 1, n_frames=4)
    write_ultrasound_dicom(export / "ct_scout.dcm", scout, "mono2", modality="CT")
    (export / "IM999999").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00truncated")
    table = pd.DataFrame({"StudyInstanceUID": list(labels), "EF": list(labels.values())})
    table.to_csv(folder / "labels.csv", index=False)
    write_study_reports(folder / "reports", labels, seed)
    return export


def write_study_reports(folder: Path, labels: dict[str, float], seed: int = 0) -> list[Path]:
    """The echo machine's measurement SR of each study (`synthetic.echo_reports`), in the four shapes of
    `vendor_measurements` in turn (the last kind holds no EF): `folder/<n>.dcm`."""
    from cardiacclip.synthetic.echo_reports import vendor_measurements, write_echo_report

    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_echo_report(folder / f"SR{i + 1:04d}.dcm", study, vendor_measurements(ef, i), f"ACC{seed:02d}{i + 1:04d}")
        for i, (study, ef) in enumerate(labels.items())
    ]
