"""A seeded mutation fuzzer over the files the toolkit reads.

`seed_files` writes one valid file of every input kind (DICOM cine loops in each pixel encoding the readers
support, AVI and MP4, a NIfTI sequence as CAMUS ships it, a vendor echo SR, a FileList and a labels CSV, a run
config, a `--set` value, a PACS's DICOMweb answers). `campaign` draws `n` hostile variants from them, seeded:
bytes flipped in the header or in the data, the file cut short, a chunk zeroed or repeated, and absurd values in
the fields that matter (frame count, frame rate, rows, columns, bits, region coordinates; NaN, inf, huge cells, a
byte-order mark, other separators in the tables; wrong content types and UIDs with path separators in the PACS's
answers). Each variant goes through the reader the toolkit uses for its kind, in a child process with a time
limit; four kinds go through a whole job: `upload` (a loop posted to the `serve` API of an untrained tiny model),
`predict` (the loop predicted by that model, with crops and attention plots), `convert` (a folder holding the
loop, converted) and `dicomweb` (`pacs pull` from a fake PACS giving the answers).
Each case gets one outcome:

    ok           a result whose metadata is plausible (frames > 0, a frame rate inside `PLAUSIBLE_FPS` or unknown,
                 the ultrasound region inside the frame, decoded pixels of the expected shape)
    refused      an error of the toolkit's own classes (a `VideoReadError` subclass, `DatasetError`,
                 `ConfigError`), which a command turns into an error row or exit status 2
    traceback    any other exception: a bug
    hang         no answer within the time limit: a bug
    implausible  a result computed from metadata no scanner writes: a bug
    escaped      a file written outside the case's output folder (or an upload left on disk): a bug

The test suite runs a small fixed budget (tests/testing/test_fuzz.py); `benchmarks/fuzz_inputs.py --n N` runs a
large one and prints the table of outcomes per kind.
"""

from __future__ import annotations

import multiprocessing
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OUTCOMES = ("ok", "refused", "traceback", "hang", "implausible", "escaped")
BUGS = ("traceback", "hang", "implausible", "escaped")
DICOM_ENCODINGS = ("rgb", "rle", "ybr_full", "mono2", "mono1", "mono16_window", "palette16", "jpeg")


class Implausible(Exception):
    """A reader returned a result whose metadata no scanner writes."""


class Refused(Exception):
    """A job refused the input with its own reason (an API's 422, a command's error exit)."""


class Escaped(Exception):
    """A job wrote outside its output folder, or left an upload on disk."""


OUTPUTS = ("src", "out", "out_private")  # what a job may create in a case's folder beside the input


@dataclass(frozen=True)
class Result:
    kind: str
    seed_file: str
    mutation: str
    outcome: str
    detail: str


# --- the seed files ----------------------------------------------------------------------------------------------


def seed_files(folder: Path) -> dict[str, list[Path]]:
    """One valid file (or several, for DICOM) of every input kind, written into `folder`: {kind: files}."""
    from cardiacclip.data.video_io import write_video
    from cardiacclip.synthetic.dicoms import screen_capture, write_ultrasound_dicom

    folder.mkdir(parents=True, exist_ok=True)
    capture = screen_capture(0, height=120, width=160, echo_px=64, n_frames=12)
    dicoms = [write_ultrasound_dicom(folder / f"{e}.dcm", capture, e) for e in DICOM_ENCODINGS]
    frames = capture.frames
    seeds = {
        "dicom": dicoms,
        "avi": [write_video(folder / "loop.avi", frames, fps=capture.fps)],
        "mp4": [write_video(folder / "loop.mp4", frames, fps=capture.fps)],
        "nifti": [_nifti(folder / "half_sequence.nii.gz", frames.max(axis=-1))],
        "echo_sr": [_echo_report(folder / "report.dcm")],
        "filelist": [_text(folder / "FileList.csv", _FILELIST)],
        "labels": [_text(folder / "labels.csv", "SOPInstanceUID,EF,Split\n1.2.3.4,55.5,TRAIN\n1.2.3.5,31.0,TEST\n")],
        "config": [_text(folder / "config.yaml", "data:\n  length: 16\n  period: 4\nmodel:\n  scales: [1]\n")],
        "set": [_text(folder / "set.txt", "data.length=16")],
        "dicomweb": [_answers(folder / "answers.json", dicoms[3])],
    }
    seeds["upload"] = seeds["convert"] = seeds["predict"] = [*dicoms[:4], *seeds["avi"], *seeds["mp4"]]
    # in a child, so that this process need not start torch's thread pool before it forks the cases
    writer = multiprocessing.get_context("fork").Process(target=_write_untrained, args=(folder,))
    writer.start()
    writer.join()
    return seeds


_FILELIST = (
    "FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames,Split\n"
    "0X1A,55.2,30.1,67.2,112,112,50,200,TRAIN\n0X1B,35.0,80.0,123.0,112,112,50,180,VAL\n"
)


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _nifti(path: Path, frames: np.ndarray) -> Path:
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(frames), str(path))
    return path


def _echo_report(path: Path) -> Path:
    from cardiacclip.synthetic.echo_reports import vendor_measurements, write_echo_report

    return write_echo_report(path, "1.2.3.4", vendor_measurements(52.0, 0))


STUDY, SERIES, SOP = "1.2.826.0.1.3680043.10.1", "1.2.826.0.1.3680043.10.1.1", "1.2.826.0.1.3680043.10.1.1.1"
LOOP_CLASS = "1.2.840.10008.5.1.4.1.1.3.1"
BOUNDARY = "cardiacclip-fuzz"


def _answers(path: Path, loop: Path) -> Path:
    """A PACS's DICOMweb answers for one study with one ultrasound loop: {URL path: [content type, body]} (bodies
    as Latin-1 text, so that any bytes survive JSON)."""
    import json

    def uid(tag: str, value: str) -> dict:
        return {tag: {"vr": "UI", "Value": [value]}}

    instance = (
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + _with_uids(loop)
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    answers = {
        "/studies": ["application/dicom+json", json.dumps([uid("0020000D", STUDY)])],
        f"/studies/{STUDY}/series": ["application/dicom+json", json.dumps([uid("0020000E", SERIES)])],
        f"/studies/{STUDY}/series/{SERIES}/instances": [
            "application/dicom+json",
            json.dumps([{**uid("00080016", LOOP_CLASS), **uid("00080018", SOP)}]),
        ],
        f"/studies/{STUDY}/series/{SERIES}/instances/{SOP}": [
            f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
            instance.decode("latin-1"),
        ],
    }
    path.write_text(json.dumps(answers))
    return path


def _with_uids(loop: Path) -> bytes:
    """The loop's bytes as the PACS serves it: with the study, series and instance UIDs its answers name."""
    import io

    import pydicom

    ds = pydicom.dcmread(loop)
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = STUDY, SERIES, SOP
    ds.file_meta.MediaStorageSOPInstanceUID = SOP
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


# --- mutations ---------------------------------------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """One byte-level mutation of `data`: (its name, the mutated bytes)."""
    data = bytearray(data)
    n = len(data)
    kind = rng.choice(["flip_header", "flip_data", "truncate", "zero_chunk", "repeat_chunk"])
    if kind in ("flip_header", "flip_data") and n:
        low, high = (0, min(n, 2048)) if kind == "flip_header" else (min(n - 1, 2048), n)
        for at in rng.integers(low, max(high, low + 1), size=int(rng.integers(1, 21))):
            data[int(at)] = int(rng.integers(0, 256))
    elif kind == "truncate":
        data = data[: int(rng.integers(0, max(n, 1)))]
    elif n:
        start, length = int(rng.integers(0, n)), int(rng.integers(1, max(2, n // 4)))
        chunk = data[start : start + length]
        data[start : start + length] = bytes(len(chunk)) if kind == "zero_chunk" else chunk * 2
    return str(kind), bytes(data)


ABSURD = {
    "NumberOfFrames": ["0", "-3", "999999999", "1e9", "NaN"],
    "CineRate": ["0", "-50", "99999999", "1e-9", "inf"],
    "FrameTime": ["0", "-20", "1e-12", "nan", "33,3,3"],
    "Rows": [0, 1, 65535],
    "Columns": [0, 1, 65535],
    "BitsAllocated": [0, 1, 7, 64],
    "RegionLocationMaxX1": [0, 100000, 4294967295],
}


def mutate_dicom_field(path: Path, rng: np.random.Generator) -> tuple[str, bytes]:
    """An absurd value written into one of the header fields the readers rely on."""
    import pydicom

    from cardiacclip.synthetic.dicoms import raw_tag

    ds = pydicom.dcmread(path)
    keyword = str(rng.choice(list(ABSURD)))
    value = ABSURD[keyword][int(rng.integers(0, len(ABSURD[keyword])))]
    if keyword == "RegionLocationMaxX1":
        if "SequenceOfUltrasoundRegions" not in ds:
            return mutate_bytes(path.read_bytes(), rng)
        ds.SequenceOfUltrasoundRegions[0].RegionLocationMaxX1 = value
    elif isinstance(value, int):
        setattr(ds, keyword, value)
    else:
        raw_tag(ds, keyword, "IS" if keyword == "NumberOfFrames" else "DS", str(value))
    target = path.with_name(f"{path.stem}.field.dcm")
    ds.save_as(target, enforce_file_format=True)
    return f"{keyword}={value}", target.read_bytes()


TABLE_MUTATIONS = (
    ("bom", lambda t: "\ufeff" + t),
    ("semicolons", lambda t: t.replace(",", ";")),
    ("tabs", lambda t: t.replace(",", "\t")),
    ("nan_ef", lambda t: t.replace("55.2", "nan").replace("55.5", "NaN")),
    ("inf_ef", lambda t: t.replace("55.2", "inf").replace("55.5", "-inf")),
    ("duplicated_columns", lambda t: t.replace("EF", "EF,EF", 1)),
    ("huge_cell", lambda t: t.replace("TRAIN", "T" * 200_000, 1)),
    ("latin1", lambda t: (t.replace("TRAIN", "TRÄIN")).encode("latin-1").decode("latin-1", "replace")),
    ("empty", lambda t: ""),
    ("header_only", lambda t: t.splitlines()[0] + "\n"),
)


def mutate_text(path: Path, rng: np.random.Generator) -> tuple[str, bytes]:
    """A structural mutation of a table or config (encodings, separators, NaN and inf, duplicated columns, huge
    cells), or a byte-level one."""
    if rng.random() < 0.5:
        return mutate_bytes(path.read_bytes(), rng)
    name, change = TABLE_MUTATIONS[int(rng.integers(0, len(TABLE_MUTATIONS)))]
    encoding = "latin-1" if name == "latin1" else "utf-8"
    return name, change(path.read_text()).encode(encoding, "replace")


def _mutate_dicom(path: Path, rng: np.random.Generator) -> tuple[str, bytes]:
    return mutate_dicom_field(path, rng) if rng.random() < 0.4 else mutate_bytes(path.read_bytes(), rng)


def _mutate_loop(path: Path, rng: np.random.Generator) -> tuple[str, bytes]:
    return _mutate_dicom(path, rng) if path.suffix == ".dcm" else mutate_bytes(path.read_bytes(), rng)


HOSTILE_UIDS = ("1.2.3/../../../x", "../../escaped", "1.2.3\\..\\x", "1." + "9" * 80, "1.2.3 4", "", "1.2.3.\u00e9")
CONTENT_TYPES = ("text/html", "application/json", "application/dicom", "multipart/related; boundary=other", "")


def mutate_answers(path: Path, rng: np.random.Generator) -> tuple[str, bytes]:
    """One answer of the PACS changed: its body's bytes (`mutate_bytes`), its content type, or one of the UIDs
    it names replaced by one with path separators, too long or not a UID (in every answer that names it)."""
    import json

    answers = json.loads(path.read_text())
    kind = rng.choice(["body", "content_type", "uid"])
    if kind == "uid":
        old, new = str(rng.choice([STUDY, SERIES, SOP])), str(rng.choice(HOSTILE_UIDS))
        text = json.dumps(answers).replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
        return f"uid {old[-4:]} -> {new!r}", text.encode()
    key = str(rng.choice(sorted(answers)))
    if kind == "content_type":
        answers[key][0] = str(rng.choice(CONTENT_TYPES))
        return f"content type of {key[-20:]}: {answers[key][0]!r}", json.dumps(answers).encode()
    name, body = mutate_bytes(answers[key][1].encode("latin-1"), rng)
    answers[key][1] = body.decode("latin-1")
    return f"{name} of {key[-20:]}", json.dumps(answers).encode()


def mutation_of(kind: str) -> Callable[[Path, np.random.Generator], tuple[str, bytes]]:
    if kind == "dicom":
        return _mutate_dicom
    if kind in ("upload", "convert", "predict"):
        return _mutate_loop
    if kind == "dicomweb":
        return mutate_answers
    if kind in ("filelist", "labels", "config", "set"):
        return mutate_text
    return lambda path, rng: mutate_bytes(path.read_bytes(), rng)


# --- the readers and the invariant -------------------------------------------------------------------------------


def read_video(path: Path) -> None:
    """What every job does with a loop: probe it, then decode four frames cropped and resized."""
    from cardiacclip.data.source import PLAUSIBLE_FPS, probe

    video = probe(path)
    _check_metadata(video, PLAUSIBLE_FPS)
    indices = sorted({int(i) for i in np.linspace(0, video.n_frames - 1, 4)})
    frames = video.read_resized(indices, 32)
    if sorted(frames) != indices or any(f.shape != (32, 32, 3) or f.dtype != np.uint8 for f in frames.values()):
        raise Implausible("decoded frames of another shape or type than asked for")


def _check_metadata(video, plausible_fps: tuple[float, float]) -> None:
    """Frames, frame rate and region of a probed loop are what a scanner could have written."""
    if video.n_frames <= 0:
        raise Implausible(f"{video.n_frames} frames")
    if video.fps is not None and not plausible_fps[0] <= video.fps <= plausible_fps[1]:
        raise Implausible(f"frame rate {video.fps}")
    x0, y0, x1, y1 = video.region.box
    if not (0 <= x0 < x1 <= video.width and 0 <= y0 < y1 <= video.height):
        raise Implausible(f"region {video.region.box} outside a {video.width}x{video.height} frame")


def read_nifti(path: Path) -> None:
    """What `convert --from camus` does with a sequence: read it with SimpleITK, then probe the frames."""
    from cardiacclip.data.external import read_image_frames
    from cardiacclip.data.source import PLAUSIBLE_FPS, probe

    frames = read_image_frames(path)
    if frames.size == 0:
        raise Implausible(f"an empty sequence {frames.shape}")
    _check_metadata(probe(np.repeat(frames[..., None], 3, axis=-1), fps=None), PLAUSIBLE_FPS)


def read_echo_sr(path: Path) -> None:
    """What `convert --labels-from-sr` does: harvest the EF of every report found, per study."""
    from cardiacclip.dicom.echo_sr import harvest_labels

    harvest = harvest_labels([path])
    for label in harvest.labels.values():
        if not 0 <= label.ef <= 100:
            raise Implausible(f"EF {label.ef}")


def read_filelist_file(path: Path) -> None:
    from cardiacclip.data.filelist import read_filelist

    table = read_filelist(path)
    if not table["EF"].between(0, 100).all():
        raise Implausible("an EF outside 0-100")


def read_labels_file(path: Path) -> None:
    from cardiacclip.jobs.convert_labels import read_labels

    read_labels(path)


def read_config(path: Path) -> None:
    from cardiacclip.config import RunConfig

    RunConfig.load(path)


def read_set(path: Path) -> None:
    from cardiacclip.config import RunConfig, apply_overrides

    apply_overrides(RunConfig(), [path.read_text(errors="replace")])


def read_upload(path: Path) -> None:
    """What `serve` does with an upload (under a hostile file name): a result with plausible metadata, or a 422
    (`Refused`); any other answer is a bug; no upload may stay on disk."""
    import tempfile

    from fastapi.testclient import TestClient

    from cardiacclip.data.source import PLAUSIBLE_FPS
    from cardiacclip.jobs.serve import ServeSettings, create_app

    uploads = set(Path(tempfile.gettempdir()).glob("cardiacclip-upload-*"))
    # read in the request's thread: this case's own process has the time limit (the server's reading processes
    # are tested in tests/jobs/test_serve.py)
    settings = ServeSettings(file_timeout=None)
    api = TestClient(create_app(untrained_predictor(), {}, settings), raise_server_exceptions=True)
    answer = api.post("/v1/predict", files={"file": (f"../../{path.name}", path.read_bytes(), "video/avi")})
    if set(Path(tempfile.gettempdir()).glob("cardiacclip-upload-*")) - uploads:
        raise Escaped("an upload stayed on disk")
    if answer.status_code == 422:
        raise Refused(answer.json()["detail"])
    if answer.status_code != 200:
        raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")
    body = answer.json()
    fps, frames, ef = body["fps"], body["n_frames"], body["ef"]
    if frames <= 0 or not 0 <= ef <= 100 or (fps is not None and not PLAUSIBLE_FPS[0] <= fps <= PLAUSIBLE_FPS[1]):
        raise Implausible(f"{frames} frames at {fps} frames/s, EF {ef}")


def untrained_predictor():
    """A `Predictor` of the tiny backbone with random weights: what a job does with an input does not depend on
    the weights."""
    import torch

    from cardiacclip.model.predictor import Predictor

    model, config, _ = _untrained()
    return Predictor(model, config, torch.device("cpu"))


def _untrained():
    """(model, config, backbone) of the tiny backbone with random weights (seeded)."""
    import torch

    from cardiacclip.config import DataConfig, ModelConfig, RunConfig
    from cardiacclip.model.backbone import load_backbone
    from cardiacclip.model.checkpoint import build_model
    from cardiacclip.model.prompts import load_prompts

    config = RunConfig(model=ModelConfig(backbone="tiny"), data=DataConfig(length=4, period=4, test_clips=1))
    torch.manual_seed(0)
    backbone = load_backbone("tiny")
    return build_model(config, backbone, load_prompts(config.model.prompts)), config, backbone


UNTRAINED = "untrained.pt"  # the checkpoint `read_predict` runs, beside the seed files


def _write_untrained(folder: Path) -> Path:
    from cardiacclip.model.checkpoint import save_checkpoint

    _one_thread()
    model, config, backbone = _untrained()
    return save_checkpoint(folder / UNTRAINED, model, config, backbone.describe())


def read_predict(path: Path) -> None:
    """`cardiacclip predict` of the loop with an untrained tiny model, crops and attention plots asked for: a row
    whose metadata is plausible, or exit 1 with the file's error row (`Refused`)."""
    import pandas as pd
    from typer.testing import CliRunner

    from cardiacclip.cli import app
    from cardiacclip.data.source import PLAUSIBLE_FPS

    model, out = path.parents[2] / "seeds" / UNTRAINED, path.parent / "out"
    options = ["--device", "cpu", "--attention-plot", str(out / "attention"), "--save-crops", str(out / "crops")]
    result = CliRunner().invoke(app, ["predict", str(model), str(path), "--out", str(out / "rows.csv"), *options])
    _check_exit(result)
    row = pd.read_csv(out / "rows.csv").iloc[0]
    if result.exit_code != 0:
        raise Refused(str(row.get("error", "exit 1"))[:200])
    fps = None if pd.isna(row["fps"]) else float(row["fps"])
    if row["frames"] <= 0 or not 0 <= row["EF_pred"] <= 100:
        raise Implausible(f"{row['frames']} frames, EF {row['EF_pred']}")
    if fps is not None and not PLAUSIBLE_FPS[0] <= fps <= PLAUSIBLE_FPS[1]:
        raise Implausible(f"frame rate {fps}")


def read_convert(path: Path) -> None:
    """`cardiacclip convert --keep-flagged` of a folder holding the loop (a 12-frame seed is flagged too short):
    every loop it writes decodes with a plausible rate, or it exits 1 naming the file's reason (`Refused`)."""
    from typer.testing import CliRunner

    from cardiacclip.cli import app

    src, out = path.parent / "src", path.parent / "out"
    src.mkdir()
    path.rename(src / path.name)
    result = CliRunner().invoke(app, ["convert", str(src), str(out), "--keep-flagged", "--file-timeout", "60"])
    _check_exit(result)
    if result.exit_code != 0:
        raise Refused(_last_line(result.output))
    for loop in sorted((out / "Videos").glob("*.avi")):
        read_video(loop)


def read_dicomweb(path: Path) -> None:
    """`cardiacclip pacs pull` from a fake PACS giving the answers: the loop written under OUT/<study>/ as the
    instance asked for, or exit 1/2 naming what failed (`Refused`)."""
    import json

    from typer.testing import CliRunner

    from cardiacclip.cli import app

    server = _FakePacs(json.loads(path.read_text()))
    try:
        result = CliRunner().invoke(app, ["pacs", "pull", server.url, str(path.parent / "out")])
    finally:
        server.close()
    _check_exit(result)
    if result.exit_code != 0:
        raise Refused(_last_line(result.output))
    for written in (path.parent / "out").rglob("*"):
        if written.is_file() and written.relative_to(path.parent / "out").parts != (STUDY, f"{SOP}.dcm"):
            raise Implausible(f"wrote {written.relative_to(path.parent)}")


def _last_line(output: str) -> str:
    """What a command that refused its input said last (its summary of the failure)."""
    return output.strip().splitlines()[-1][:200] if output.strip() else "exit 1"


def _check_exit(result) -> None:
    """A command ends with exit status 0, 1 or 2; anything else (an exception out of it) is re-raised."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if result.exit_code not in (0, 1, 2):
        raise RuntimeError(f"exit status {result.exit_code}")


class _FakePacs:
    """A DICOMweb server on localhost answering GETs from {URL path: [content type, body]} (404 otherwise)."""

    def __init__(self, answers: dict[str, list[str]]):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import unquote, urlparse

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                kind, body = answers.get(unquote(urlparse(self.path).path)[len("/dicom-web") :], ["text/plain", ""])
                data = body.encode("latin-1")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dicom-web"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


READERS: dict[str, Callable[[Path], None]] = {
    "dicom": read_video,
    "avi": read_video,
    "mp4": read_video,
    "nifti": read_nifti,
    "echo_sr": read_echo_sr,
    "filelist": read_filelist_file,
    "labels": read_labels_file,
    "config": read_config,
    "set": read_set,
    "upload": read_upload,
    "predict": read_predict,
    "convert": read_convert,
    "dicomweb": read_dicomweb,
}


def refusals() -> tuple[type[Exception], ...]:
    """The toolkit's own error classes: a command turns each into an error row or exit status 2."""
    from cardiacclip.config import ConfigError
    from cardiacclip.data.errors import DatasetError, VideoReadError

    return (VideoReadError, DatasetError, ConfigError, Refused)


def _one_thread() -> None:
    """In a forked child: torch on one thread. A parent that already ran torch leaves its thread pool unusable in
    the child (OpenMP is not fork-safe), as DataLoader workers also find."""
    import torch

    torch.set_num_threads(1)


def _child(kind: str, path: Path, answer) -> None:
    _one_thread()
    try:
        READERS[kind](path)
        answer.send(("ok", ""))
    except Implausible as exc:
        answer.send(("implausible", str(exc)))
    except Escaped as exc:
        answer.send(("escaped", str(exc)))
    except refusals() as exc:
        answer.send(("refused", f"{type(exc).__name__}: {str(exc)[:200]}"))
    except BaseException as exc:  # any other exception is what the campaign looks for
        answer.send(("traceback", "".join(traceback.format_exception_only(type(exc), exc)).strip()[:300]))


def run_case(kind: str, path: Path, timeout: float) -> tuple[str, str]:
    """(outcome, detail) of one file through its reader, in a child process killed after `timeout` seconds."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(kind, path, send), daemon=True)
    before = set(path.parent.parent.iterdir())
    child.start()
    ready = receive.poll(timeout)
    if not ready:
        child.kill()
        child.join()
        return "hang", f"no answer within {timeout:g} s"
    outcome, detail = receive.recv()
    child.join()
    escaped = set(path.parent.parent.iterdir()) - before
    escaped |= {entry for entry in path.parent.iterdir() if entry.name not in (path.name, *OUTPUTS)}
    return ("escaped", f"wrote {sorted(map(str, escaped))}") if escaped else (outcome, detail)


def campaign(
    n: int, folder: Path, seed: int = 0, timeout: float = 20.0, kinds: list[str] | None = None
) -> list[Result]:
    """`n` mutated files (spread evenly over the input kinds), each through its reader (`run_case`)."""
    rng = np.random.default_rng(seed)
    seeds = seed_files(folder / "seeds")
    _import_readers()  # once here, so that every forked child starts with them
    kinds = kinds or list(READERS)
    results = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        source = seeds[kind][int(rng.integers(0, len(seeds[kind])))]
        mutation, data = mutation_of(kind)(source, rng)
        case = folder / "cases" / f"{i:05d}"
        case.mkdir(parents=True)
        path = case / source.name
        path.write_bytes(data)
        outcome, detail = run_case(kind, path, timeout)
        results.append(Result(kind, source.name, mutation, outcome, detail))
        shutil.rmtree(case)
    return results


def _import_readers() -> None:
    import fastapi.testclient  # noqa: F401

    import cardiacclip.cli
    import cardiacclip.config
    import cardiacclip.data.external
    import cardiacclip.data.filelist
    import cardiacclip.data.source
    import cardiacclip.dicom.echo_sr
    import cardiacclip.jobs.convert_labels
    import cardiacclip.jobs.serve
    import cardiacclip.model.predictor  # noqa: F401


def outcome_table(results: list[Result]) -> str:
    """A Markdown table: per input kind, how many cases had each outcome."""
    kinds = sorted({r.kind for r in results})
    lines = ["| kind | cases | " + " | ".join(OUTCOMES) + " |", "|---|---|" + "---|" * len(OUTCOMES)]
    for kind in kinds:
        mine = [r.outcome for r in results if r.kind == kind]
        lines.append(f"| {kind} | {len(mine)} | " + " | ".join(str(mine.count(o)) for o in OUTCOMES) + " |")
    return "\n".join(lines)
