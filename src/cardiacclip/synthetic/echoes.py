"""Synthetic apical four-chamber echo videos in the EchoNet-Dynamic layout.

Each video is a fan-shaped sector on black with speckle texture, four chambers and a beating
left ventricle (LV) with a bright wall. The LV is a bullet-shaped cavity whose long axis runs
from a fixed apex near the transducer to the mitral annulus; over the cardiac cycle the annulus
moves toward the apex (longitudinal shortening) and the cavity narrows (radial shortening).

`cardiacclip.synthetic.dataset` writes such videos as a dataset. The EF label is exact for what is
drawn: it is computed by the method of disks (20 chords, as in VolumeTracings.csv) on the traced
end-diastolic and end-systolic frames, the same computation a reader of VolumeTracings.csv would do.
A low EF comes with a dilated LV, as in patients, but LV size also varies between subjects and with
imaging depth, so a single frame does not give the EF: the change over the cycle does.

These videos are for demonstrations and tests. They are not a model of real anatomy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from cardiacclip.data.filelist import volume_from_tracing
from cardiacclip.synthetic.rhythm import Rhythm, TrueBeat, irregular_track, regular_track, true_beats
from cardiacclip.synthetic.styles import ECHONET, Style, colour_map

log = logging.getLogger(__name__)

N_CHORDS = 20
SYSTOLE_LONG_SHARE = (0.2, 0.35)  # share of the volume change carried by long-axis shortening


@dataclass(frozen=True)
class HeartParams:
    """Everything that defines one synthetic video; lengths are in pixels."""

    target_ef: float  # EF the geometry is built for, in percent (the label is measured, see module doc)
    heart_rate: float  # beats per minute
    fps: float
    n_frames: int
    size: int
    phase0: float  # cardiac phase at frame 0, in cycles
    systole: float  # fraction of the cycle from end-diastole to end-systole
    zoom: float  # >1: shallower imaging depth, the heart looks larger
    gain: float
    apex_x: float
    apex_y: float
    tilt: float  # LV long-axis angle from vertical, radians (positive toward the image right)
    lv_length: float  # end-diastolic long axis
    lv_radius: float  # end-diastolic half-width at the widest point
    long_share: float
    wall: float  # end-diastolic wall thickness
    rv_scale: float
    rv_ef: float  # right-ventricle fractional area change, for visual variety
    sector_half_angle: float  # radians
    cm_per_px: float
    lv_taper: float = 0.18  # see `lv_profile`


def sample_params(rng: np.random.Generator, size: int = 112, fps: float = 50.0, style: Style = ECHONET) -> HeartParams:
    """Draw one subject. EF follows a mixture close to EchoNet-Dynamic's (mean ~55, sd ~12).

    The style sets the ranges of depth, gain and sector width and may fix the frame rate.
    """
    fps = style.fps or fps
    ef = rng.normal(59.0, 8.5) if rng.random() < 0.8 else rng.normal(38.0, 12.0)
    ef = float(np.clip(ef, 10.0, 88.0))
    dilation = np.clip((55.0 - ef) / 35.0, 0.0, 1.2)
    zoom = float(rng.uniform(*style.zoom))
    heart_rate = float(rng.uniform(50.0, 110.0))
    cycle = fps * 60.0 / heart_rate
    # A few videos are shorter than one 48x2 clip (as some EchoNet videos are), but hold a whole beat.
    shortest = int(cycle * 1.4) + 1
    short = rng.random() < 0.05
    n_frames = int(rng.integers(shortest, max(96, shortest + 1))) if short else int(rng.integers(100, 201))
    return HeartParams(
        target_ef=ef,
        heart_rate=heart_rate,
        fps=float(fps),
        n_frames=n_frames,
        size=size,
        phase0=float(rng.random()),
        systole=float(rng.uniform(0.32, 0.38)),
        zoom=zoom,
        gain=float(rng.uniform(*style.gain)),
        apex_x=float(size * (0.5 + rng.uniform(-0.05, 0.05))),
        apex_y=float(size * rng.uniform(0.01, 0.04)),
        tilt=float(np.deg2rad(rng.uniform(-8.0, 8.0))),
        lv_length=float(size * 0.50 * zoom * (1 + 0.15 * dilation) * rng.normal(1.0, 0.05)),
        lv_radius=float(size * 0.125 * zoom * (1 + 0.40 * dilation) * rng.normal(1.0, 0.08)),
        long_share=float(rng.uniform(*SYSTOLE_LONG_SHARE)),
        wall=float(size * 0.055 * zoom * rng.normal(1.0, 0.1)),
        rv_scale=float(rng.uniform(0.6, 0.85)),
        rv_ef=float(rng.uniform(0.35, 0.55)),
        sector_half_angle=float(np.deg2rad(rng.uniform(*style.sector_half_angle))),
        cm_per_px=float(16.0 / (size * zoom)),
        lv_taper=style.lv_taper,
    )


def contraction(phase: np.ndarray, systole: float | np.ndarray) -> np.ndarray:
    """Systolic contraction c in [0, 1] over the cycle: 0 at end-diastole (phase 0), 1 at end-systole.

    Ejection over `systole` (the share of the cycle; one for all, or one per phase), rapid relaxation over
    0.2 of the cycle to an early-filling level, diastasis, then the atrial kick fills the LV to its
    end-diastolic size at phase 1.
    """
    phase = np.mod(phase, 1.0)
    systole = np.broadcast_to(np.asarray(systole, dtype=np.float64), phase.shape)
    relax = 0.2
    early_fill_level = 0.15
    c = np.full_like(phase, early_fill_level, dtype=np.float64)
    ejecting = phase < systole
    c[ejecting] = np.sin(0.5 * np.pi * phase[ejecting] / systole[ejecting]) ** 2
    relaxing = (phase >= systole) & (phase < systole + relax)
    x = (phase[relaxing] - systole[relaxing]) / relax
    c[relaxing] = early_fill_level + (1 - early_fill_level) * np.cos(0.5 * np.pi * x) ** 2
    kick = phase >= 0.85
    c[kick] = early_fill_level * np.cos(0.5 * np.pi * (phase[kick] - 0.85) / 0.15) ** 2
    return c


def lv_profile(u: np.ndarray, taper: float = 0.18) -> np.ndarray:
    """Half-width of the LV cavity along its long axis (u=0 apex, u=1 mitral annulus), max ~1;
    `taper` narrows it toward the annulus."""
    u = np.minimum(np.maximum(u, 0.0), 1.0)
    u2 = u * u
    return np.sqrt(u * (2.0 - u)) * (1.0 - taper * u2 * u2)


def lv_geometry(p: HeartParams, c: float, ef: float | None = None, scale: float = 1.0) -> tuple[float, float]:
    """(long-axis length, radius) of the LV at contraction c, built so that EF is `ef` (default p.target_ef) at
    c=1; `scale` sizes the end-diastolic LV (a beat after a long interval fills more)."""
    remaining = 1.0 - (p.target_ef if ef is None else ef) / 100.0
    length = scale * p.lv_length * (1.0 - c * (1.0 - remaining**p.long_share))
    radius = scale * p.lv_radius * (1.0 - c * (1.0 - remaining ** ((1.0 - p.long_share) / 2.0)))
    return length, radius


def lv_tracing(p: HeartParams, c: float, ef: float | None = None, scale: float = 1.0) -> np.ndarray:
    """VolumeTracings rows for one frame: the long axis, then N_CHORDS chords (x1, y1, x2, y2)."""
    length, radius = lv_geometry(p, c, ef, scale)
    axis = np.array([np.sin(p.tilt), np.cos(p.tilt)])
    normal = np.array([np.cos(p.tilt), -np.sin(p.tilt)])
    apex = np.array([p.apex_x, p.apex_y]) + _apex_offset(p)
    rows = [np.concatenate([apex, apex + length * axis])]
    for i in range(N_CHORDS):
        u = (i + 0.5) / N_CHORDS
        centre = apex + u * length * axis
        half = radius * float(lv_profile(np.array(u), p.lv_taper))
        rows.append(np.concatenate([centre - half * normal, centre + half * normal]))
    return np.array(rows)


def _apex_offset(p: HeartParams) -> np.ndarray:
    """The LV apex sits below the transducer, slightly to the image right (LV on the right in A4C)."""
    return np.array([0.06 * p.size, 0.10 * p.size * p.zoom])


class _Renderer:
    """Draws the frames of one subject; static per-video fields are computed once."""

    def __init__(self, p: HeartParams, rng: np.random.Generator, style: Style = ECHONET):
        self.p, self.style = p, style
        s = p.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        # Sector geometry: apex at the transducer, depth-dependent attenuation.
        dx, dy = xx - p.apex_x, yy - p.apex_y
        radius = np.hypot(dx, dy)
        angle = np.arctan2(dx, dy)
        depth = 0.97 * (s - p.apex_y)
        sector = (
            _ramp((p.sector_half_angle - np.abs(angle)) * radius, 1.0) * _ramp(depth - radius, 1.0) * (dy > 0)
        ).astype(np.float32)
        attenuation = (1.0 - 0.45 * radius / depth).astype(np.float32) * np.float32(p.gain)
        self.shading = attenuation * sector
        # LV frame: s along the long axis from the apex, v across it (positive toward the lateral wall).
        apex = np.array([p.apex_x, p.apex_y]) + _apex_offset(p)
        ax, ay = np.sin(p.tilt), np.cos(p.tilt)
        rel_x, rel_y = xx - apex[0], yy - apex[1]
        self.apex = (float(apex[0]), float(apex[1]))
        self.axis = (float(ax), float(ay))
        self.s = (rel_x * ax + rel_y * ay).astype(np.float32)
        self.v = (rel_x * ay - rel_y * ax).astype(np.float32)
        # RV: parallel axis, shifted across the septum, apex lower.
        self.rv_offset = p.lv_radius * (1.0 + p.rv_scale) + p.wall * 1.2
        # Speckle: Rayleigh-distributed, slightly blurred; a static field and a small pool for flicker.
        self.speckle = self._speckle(rng)
        self.flicker = [style.flicker * (self._speckle(rng) - 1.0) for _ in range(6)]
        self.rng = rng
        self.tissue = np.float32(rng.uniform(*style.tissue))
        self.blood = np.float32(rng.uniform(*style.blood))
        self.wall_level = np.float32(rng.uniform(0.75, 0.95))

    def _speckle(self, rng: np.random.Generator) -> np.ndarray:
        field = rng.rayleigh(1.0, size=(self.p.size, self.p.size)).astype(np.float32)
        sigma = self.style.speckle_blur
        kernel = 3 if sigma <= 0.8 else 2 * int(np.ceil(2 * sigma)) + 1
        field = cv2.GaussianBlur(field, (kernel, kernel), sigma)
        return field / field.mean()

    def _region(self, s_lo: float, s_hi: float, v_lo: float, v_hi: float) -> tuple[slice, slice]:
        """Image rows/columns covering a box given in the LV frame (s along the axis, v across it)."""
        ax, ay = self.axis
        xs = [self.apex[0] + s_ * ax + v_ * ay for s_ in (s_lo, s_hi) for v_ in (v_lo, v_hi)]
        ys = [self.apex[1] + s_ * ay - v_ * ax for s_ in (s_lo, s_hi) for v_ in (v_lo, v_hi)]
        n = self.p.size
        rows = slice(min(max(int(min(ys)) - 2, 0), n), min(max(int(max(ys)) + 3, 0), n))
        cols = slice(min(max(int(min(xs)) - 2, 0), n), min(max(int(max(xs)) + 3, 0), n))
        return rows, cols

    def _bullet(self, shift: float, start: float, length: float, radius: float, wall: float):
        """Cavity and wall masks (soft, 0..1) of a bullet shape open at its base, centred at v = -shift."""
        region = self._region(start - wall, start + length, -shift - radius - wall, -shift + radius + wall)
        s_axis, abs_v = self.s[region], np.abs(self.v[region] + np.float32(shift))
        u = (s_axis - start) / length
        cavity = (
            _ramp(radius * lv_profile(u, self.p.lv_taper) - abs_v, 0.8)
            * _ramp(s_axis - start, 0.8)
            * _ramp(start + length - s_axis, 0.8)
        )
        u_out = (s_axis - start + wall) / (length + wall)
        outer = _ramp((radius + wall) * lv_profile(u_out, self.p.lv_taper) - abs_v, 0.8) * _ramp(
            s_axis - start + wall, 0.8
        )
        outer = outer * _ramp(start + length - s_axis, 0.8)
        return region, cavity, np.clip(outer - cavity, 0.0, 1.0)

    def _ellipse(self, centre_s: float, centre_v: float, rs: float, rv: float, wall: float):
        region = self._region(centre_s - rs - wall, centre_s + rs + wall, centre_v - rv - wall, centre_v + rv + wall)
        d = np.sqrt(((self.s[region] - centre_s) / rs) ** 2 + ((self.v[region] - centre_v) / rv) ** 2)
        cavity = _ramp(1.0 - d, 0.8 / min(rs, rv))
        outer = _ramp(1.0 + wall / min(rs, rv) - d, 0.8 / min(rs, rv))
        return region, cavity, np.clip(outer - cavity, 0.0, 1.0)

    def frame(self, c: float, index: int, ef: float | None = None, scale: float = 1.0) -> np.ndarray:
        p = self.p
        length, radius = lv_geometry(p, c, ef, scale)
        wall = p.wall * (1.0 + 0.5 * c * p.target_ef / 60.0)
        rv_len = p.lv_length * 0.85 * (1.0 - 0.15 * c)
        rv_rad = p.lv_radius * p.rv_scale * (1.0 - c * (1.0 - np.sqrt(1.0 - p.rv_ef)))
        # Atria fill while the ventricles empty (anti-phase).
        atrial = 1.0 + 0.25 * c
        base = length + p.wall * 0.5
        la_rs, la_rv = 0.22 * p.lv_length * atrial, 0.9 * p.lv_radius * atrial
        ra_rs, ra_rv = 0.20 * p.lv_length * atrial, 0.8 * p.lv_radius * atrial
        shapes = [
            self._bullet(0.0, 0.0, length, radius, wall),
            self._bullet(self.rv_offset, p.lv_length - rv_len, rv_len, rv_rad, p.wall * 0.6),
            self._ellipse(base + la_rs, 0.0, la_rs, la_rv, p.wall * 0.5),
            self._ellipse(p.lv_length * 0.98 + ra_rs, -self.rv_offset, ra_rs, ra_rv, p.wall * 0.5),
        ]
        cavity = np.zeros_like(self.s)
        walls = np.zeros_like(self.s)
        for region, shape_cavity, shape_wall in shapes:
            np.maximum(cavity[region], shape_cavity, out=cavity[region])
            np.maximum(walls[region], shape_wall, out=walls[region])
        walls *= 1.0 - cavity
        # Mitral valve leaflets: a bright line across the annulus while the valve is closed (systole).
        closed = float(np.clip((c - 0.05) * 4.0, 0.0, 1.0))
        if closed > 0:
            region = self._region(length - 2.0, length + 2.0, -radius, radius)
            leaflet = _ramp(1.2 - np.abs(self.s[region] - length), 0.6) * (np.abs(self.v[region]) < radius * 0.9)
            np.maximum(walls[region], 0.7 * closed * leaflet, out=walls[region])
        speckle = self.speckle + self.flicker[index % len(self.flicker)]
        image = speckle * (self.tissue * (1.0 - cavity) + self.blood * cavity)
        image = np.maximum(image, self.wall_level * speckle * walls)
        if self.style.noise > 0:
            image += self.rng.normal(0.0, self.style.noise, image.shape).astype(np.float32)
        image *= self.shading
        return np.clip(image * 255.0, 0, 255).astype(np.uint8)


def _ramp(x: np.ndarray, width: float) -> np.ndarray:
    """A soft step from 0 to 1 over `width` pixels around x=0 (anti-aliased edges)."""
    y = x * np.float32(0.5 / width) + np.float32(0.5)
    np.maximum(y, 0.0, out=y)
    return np.minimum(y, 1.0, out=y)


@dataclass
class SyntheticVideo:
    frames: np.ndarray  # (F, H, W) uint8 grey, or (F, H, W, 3) RGB for a style with a colour map
    ef: float  # the label: the traced beat's EF, or the mean over complete beats for an irregular rhythm
    esv: float  # mL, of the traced beat
    edv: float  # mL
    es_frame: int
    ed_frame: int
    es_tracing: np.ndarray
    ed_tracing: np.ndarray
    params: HeartParams
    style: Style = ECHONET
    beats: list[TrueBeat] = field(default_factory=list)  # every complete beat, in order
    rhythm: Rhythm | None = None  # None: regular


def render_video(
    p: HeartParams, rng: np.random.Generator, style: Style = ECHONET, rhythm: Rhythm | None = None
) -> SyntheticVideo:
    """Draw all frames of one subject in `style` and measure its EF from the traced ED and ES frames; with an
    irregular `rhythm` (`sample_rhythm`) each beat has its own length, size and EF, and the label is their mean."""
    if rhythm is None:
        track = regular_track(p.phase0, p.heart_rate, p.fps, p.n_frames, p.systole, p.target_ef)
    else:
        track = irregular_track(rhythm, p.phase0, p.fps, p.n_frames, p.systole)
    c = contraction(track.phase, track.systole)
    renderer = _Renderer(p, rng, style)
    frames = [renderer.frame(float(ci), i, float(track.ef[i]), float(track.scale[i])) for i, ci in enumerate(c)]
    frames = colour_map(np.stack(frames), style)
    ml_per_px3 = p.cm_per_px**3
    geometry = [(float(c[i]), float(track.ef[i]), float(track.scale[i])) for i in range(p.n_frames)]
    volume = np.array([volume_from_tracing(lv_tracing(p, *g)) for g in geometry])
    beats = true_beats(track, volume, p.fps, ml_per_px3)
    if rhythm is None or not beats:
        ed_frame, es_frame = _traced_frames(track.phase, c, p.systole)
    else:
        ed_frame, es_frame = beats[0].ed_frame, beats[0].es_frame
    ed_tracing, es_tracing = lv_tracing(p, *geometry[ed_frame]), lv_tracing(p, *geometry[es_frame])
    edv_px, esv_px = volume_from_tracing(ed_tracing), volume_from_tracing(es_tracing)
    traced_ef = 100.0 * (edv_px - esv_px) / edv_px
    return SyntheticVideo(
        frames=frames,
        ef=traced_ef if rhythm is None or not beats else float(np.mean([b.ef for b in beats])),
        esv=esv_px * ml_per_px3,
        edv=edv_px * ml_per_px3,
        es_frame=es_frame,
        ed_frame=ed_frame,
        es_tracing=es_tracing,
        ed_tracing=ed_tracing,
        params=p,
        style=style,
        beats=beats,
        rhythm=rhythm,
    )


@dataclass
class KeyFramePair:
    ed: np.ndarray  # (H, W) grey or (H, W, 3) RGB uint8, near end-diastole
    es: np.ndarray  # near end-systole
    ef: float  # percent, exact for the drawn geometry
    edv: float  # mL

    def frames(self) -> np.ndarray:
        """(2, H, W, C) uint8 [ED, ES] with C = 1 (grey) or 3 (RGB), the layout `ClipSampler.to_tensor` takes."""
        frames = np.stack([self.ed, self.es])
        return frames[..., None] if frames.ndim == 3 else frames


def render_key_frames(
    rng: np.random.Generator, style: Style = ECHONET, size: int = 112, jitter: float = 0.04
) -> KeyFramePair:
    """One new subject drawn in `style`, rendered only at end-diastole and end-systole, each moved by up to
    `jitter` of a cycle (about 2 frames at 50 fps and 60 bpm). Costs a few milliseconds, so pretraining can
    draw a fresh subject for every sample instead of reading an archive."""
    p = sample_params(rng, size=size, style=style)
    renderer = _Renderer(p, rng, style)
    phases = np.array([0.0, p.systole]) + rng.uniform(-jitter, jitter, size=2)
    c = contraction(phases, p.systole)
    frames = colour_map(np.stack([renderer.frame(float(c[0]), 0), renderer.frame(float(c[1]), 1)]), style)
    edv = volume_from_tracing(lv_tracing(p, 0.0)) * p.cm_per_px**3
    return KeyFramePair(ed=frames[0], es=frames[1], ef=p.target_ef, edv=edv)


def _traced_frames(phase: np.ndarray, c: np.ndarray, systole: float) -> tuple[int, int]:
    """End-diastolic and end-systolic frames of the first beat whose systole lies inside the video.

    ED is the frame with the largest LV near the start of the beat (phase m), ES the frame with
    the smallest LV between ED and phase m + systole + 0.1. A video too short to hold a whole
    systole gets the largest and smallest LV it shows.
    """
    for m in range(int(np.ceil(phase[0])), int(np.floor(phase[-1])) + 1):
        near_start = np.flatnonzero(np.abs(phase - m) <= 0.15)
        if len(near_start) == 0 or phase[-1] < m + systole + 0.05:
            continue
        ed = int(near_start[np.argmin(c[near_start])])
        window = np.flatnonzero((np.arange(len(phase)) > ed) & (phase <= m + systole + 0.1))
        if len(window):
            return ed, int(window[np.argmax(c[window])])
    return int(np.argmin(c)), int(np.argmax(c))
