"""`cardiacclip serve`: one trained model behind a REST API and a web page (FastAPI, run by uvicorn).

    GET  /            the web page (plain HTML and JavaScript, no build step)
    GET  /healthz     liveness
    GET  /v1/model    backbone, config, training data size, validation metrics, calibration
    POST /v1/predict  multipart upload of an AVI, MP4 or DICOM (fields: file, clips, crop) -> JSON

Uploads go to a private temporary folder under a fixed name (the client's file name is never
used, logged or returned) and are deleted after the response, whatever happens. An upload is read
and prepared in a child process killed after `file_timeout` seconds (`cardiacclip.data.deadline`).
Bad input is a 4xx with the reader's reason (413 too large, 422 unreadable or too slow to read,
401 wrong token), never a 500.
One model is in memory and runs one request at a time; at most `queue_size` requests wait, more
get 503. With a token, every /v1 call needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse

from cardiacclip.about import RESEARCH_NOTICE, __version__
from cardiacclip.choices import CropMethod, values
from cardiacclip.config import ConfigError, Validated
from cardiacclip.data.clips import ClipCount, ClipSampler, parse_clip_count
from cardiacclip.data.deadline import FILE_TIME_LIMIT, in_child, start_fork_server
from cardiacclip.data.errors import VideoReadError
from cardiacclip.data.prepare import PreparedVideo, prepare_video
from cardiacclip.data.region import preview
from cardiacclip.data.source import Reading, probe
from cardiacclip.model.layout import RunFolder
from cardiacclip.model.predictor import Prediction, Predictor

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CHUNK = 1 << 20
CROP_METHODS = values(CropMethod)


@dataclass
class ServeSettings(Validated):
    """The server's limits and token; checked when built (`config.Validated`)."""

    token: str | None = None
    max_upload_bytes: int = 200 * 1024 * 1024
    queue_size: int = 8
    thumbnails: int = 16  # frames of the first clip returned for the page
    thumbnail_size: int = 96
    file_timeout: float | None = FILE_TIME_LIMIT  # seconds an upload may take to read (None: read in-thread)

    def validate(self) -> None:
        for name in ("max_upload_bytes", "queue_size", "thumbnails", "thumbnail_size"):
            least = 0 if name == "queue_size" else 1  # a queue of 0: a request waits for none, busy means 503
            if getattr(self, name) < least:
                raise ConfigError(f"ServeSettings.{name} must be at least {least}, got {getattr(self, name)!r}")
        if self.file_timeout is not None and self.file_timeout <= 0:
            raise ConfigError(f"ServeSettings.file_timeout must be positive or None, got {self.file_timeout!r}")


class ModelQueue:
    """One model, one request at a time, on one worker thread (so memory stays flat: no per-thread
    allocator arenas); at most `size` requests wait (then 503)."""

    def __init__(self, size: int):
        self.size, self.waiting = size, 0
        self.counter_lock = threading.Lock()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cardiacclip-model")

    def enter(self) -> None:
        with self.counter_lock:
            if self.waiting >= self.size:
                raise HTTPException(
                    503, "the model is busy: too many requests waiting; retry shortly", headers={"Retry-After": "2"}
                )
            self.waiting += 1

    def leave(self) -> None:
        with self.counter_lock:
            self.waiting -= 1


def model_info(model_path: str | Path, predictor: Predictor) -> dict[str, Any]:
    """What GET /v1/model answers: plain data about the model, none of it about patients."""
    import pandas as pd

    run = RunFolder.of(model_path)
    info: dict[str, Any] = {
        "backbone": predictor.config.model.backbone,
        "config": predictor.config.to_dict(),
        "categories": list(predictor.categories),
        "calibration": None if predictor.calibration is None else predictor.calibration.__dict__,
        "version": __version__,
        "notice": RESEARCH_NOTICE,
    }
    info["config"]["data"]["root"] = None  # a server does not tell where the training data lives
    if run.split.is_file():
        info["training_videos"] = pd.read_csv(run.split)["Split"].value_counts().to_dict()
    if run.metrics.is_file():
        history = pd.read_csv(run.metrics)
        best = history.loc[history["val_mae"].idxmin()]
        info["validation"] = {k: float(best[k]) for k in ("epoch", "val_mae", "val_rmse", "val_r2")}
    return info


def create_app(predictor: Predictor, info: dict[str, Any], settings: ServeSettings | None = None) -> FastAPI:
    """The FastAPI application around one loaded model."""
    settings = settings or ServeSettings()
    queue = ModelQueue(settings.queue_size)
    app = FastAPI(title="CardiacCLIP", version=__version__, description=f"LVEF from echo videos. {RESEARCH_NOTICE}")
    page = (resources.files("cardiacclip.jobs") / "static" / "index.html").read_text()

    def authorize(request: Request) -> None:
        if settings.token is None:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {settings.token}".encode()):
            raise HTTPException(401, "missing or wrong token (send Authorization: Bearer <token>)")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/v1/model", dependencies=[Depends(authorize)])
    def get_model() -> dict[str, Any]:
        return info

    @app.post("/v1/predict", dependencies=[Depends(authorize)])
    async def predict(
        request: Request,
        file: UploadFile = File(..., description="AVI, MP4 or DICOM cine loop"),  # noqa: B008 (FastAPI's idiom)
        clips: str | None = Form(None, description="all, or N evenly spaced clips (default: the model's)"),
        crop: str | None = Form(
            None, description="ultrasound region: auto, regions, sector or none (default: the model's)"
        ),
    ) -> dict[str, Any]:
        clip_count = _check_request(request, clips, crop, settings)
        folder = Path(tempfile.mkdtemp(prefix="cardiacclip-upload-"))  # mode 0700: private to this process
        try:
            path = folder / "upload"
            await _save_upload(file, path, settings.max_upload_bytes)
            queue.enter()
            try:
                return await asyncio.wrap_future(
                    queue.worker.submit(_predict_file, predictor, path, clip_count, crop, settings)
                )
            finally:
                queue.leave()
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return app


def _check_request(request: Request, clips: str | None, crop: str | None, settings: ServeSettings):
    """The clip count a request asks for, after refusing an announced oversize upload (413) or a bad clips or crop
    field (422), before any byte is stored."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + 64 * 1024:
        raise HTTPException(413, f"upload larger than the limit of {settings.max_upload_bytes // (1 << 20)} MB")
    try:
        clip_count = parse_clip_count(clips or None)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if crop is not None and crop not in CROP_METHODS:
        raise HTTPException(422, f"crop must be one of {CROP_METHODS}, got {crop!r}")
    return clip_count


async def _save_upload(file: UploadFile, path: Path, limit: int) -> None:
    size = 0
    with open(path, "wb") as out:
        while chunk := await file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"upload larger than the limit of {limit // (1 << 20)} MB")
            out.write(chunk)
    if size == 0:
        raise HTTPException(422, "the upload is empty (0 bytes)")


def _predict_file(predictor: Predictor, path: Path, clips, crop: str | None, settings: ServeSettings) -> dict[str, Any]:
    prepared = _read_upload(predictor, path, clips, crop, settings.file_timeout)
    try:
        prediction = predictor.run(prepared)
    except ValueError as exc:
        raise HTTPException(422, str(exc).replace(str(path), "the upload")) from None
    video = prepared.frame_source
    frames = prediction.first_clip
    shown = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), settings.thumbnails)).round().astype(int))
    body = prediction.to_dict()
    body.pop("source")
    sources = _strip_sources(prediction, shown)
    body.update(
        {
            "frames": [_jpeg(frames[i], settings.thumbnail_size) for i in shown],
            "frame_positions": [int(i) for i in shown],
            "frame_sources": sources,
            "frame_marks": _frame_marks(prediction, sources),
            "preview": _jpeg(preview(video.frame(0), prediction.region), 256),
        }
    )
    return body


def _read_upload(
    predictor: Predictor, path: Path, clips: ClipCount | None, crop: str | None, timeout: float | None
) -> PreparedVideo:
    """The upload probed and prepared, in a child process killed after `timeout` seconds (None: in this thread);
    a 422 with the reader's reason when it cannot be read."""
    reading = (path, predictor.reading(crop), predictor.sampler, predictor.prepare_count(clips))
    try:
        if timeout:
            return in_child(_prepare, (*reading, predictor.fallback_clips), path, timeout, preload=[__name__])
        return _prepare(*reading, predictor.fallback_clips)
    except VideoReadError as exc:
        reason = exc.reason + (f" ({exc.detail})" if exc.detail else "")
        raise HTTPException(422, f"not a readable video: {reason.replace(str(path), 'the upload')}") from None
    except Exception as exc:  # a reader failing in an unexpected way is still a bad input, not a server error
        raise HTTPException(422, f"not a readable video: {type(exc).__name__}") from None


def _prepare(path: Path, reading: Reading, sampler: ClipSampler, clips: ClipCount, fallback: int) -> PreparedVideo:
    """An upload probed and prepared (`cardiacclip.data.prepare.prepare_video`): the model-free half."""
    return prepare_video(probe(path, reading), sampler, clips, "upload", fallback_clips=fallback)


def _strip_sources(prediction: Prediction, shown: np.ndarray) -> list[int]:
    """The source frame of each frame shown from the first clip (a beat's clip has its own period)."""
    beats = prediction.beats
    period = beats.beat_periods[0] if beats is not None and beats.beat_periods else prediction.period
    return [int(prediction.clip_starts[0] + i * period) for i in shown]


def _frame_marks(prediction: Prediction, sources: list[int]) -> list[str]:
    """"ED", "ES" or "" for each frame shown: the shown frame nearest to each end-diastole and end-systole found
    within the strip's span (predictions with clips="beats"; all empty otherwise)."""
    marks = [""] * len(sources)
    if prediction.beats is None or not sources:
        return marks
    found = [("ED", f) for f in prediction.beats.ed_frames] + [("ES", f) for f in prediction.beats.es_frames]
    for label, frame in found:
        if sources[0] <= frame <= sources[-1]:
            marks[int(np.argmin([abs(s - frame) for s in sources]))] = label
    return marks


def _jpeg(frame: np.ndarray, size: int) -> str:
    """A frame as a data URL (JPEG), its longer side scaled to `size` pixels."""
    h, w = frame.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode()


def check_bind(host: str, token: str | None) -> None:
    """A server reachable from other machines must have a token."""
    if host not in LOOPBACK and not token:
        raise ConfigError(f"--host {host} is reachable from other machines: pass --token (or set CARDIACCLIP_TOKEN)")


def serve(
    model_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ServeSettings | None = None,
    device: str = "auto",
) -> None:
    """Load the model once and serve it until interrupted."""
    import uvicorn

    from cardiacclip.model.predictor import load

    settings = settings or ServeSettings()
    check_bind(host, settings.token)
    predictor = load(model_path, device)
    if settings.file_timeout:
        start_fork_server([__name__])  # the first upload need not wait for the reading processes' imports
    app = create_app(predictor, model_info(model_path, predictor), settings)
    log.info(
        "serving %s on http://%s:%d (%s). %s",
        predictor.config.model.backbone,
        host,
        port,
        "token required" if settings.token else "no token",
        RESEARCH_NOTICE,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
