"""How a subject's scanner renders tissue: balanced-SSFP contrast and acquisition.

Per subject (:func:`sample_appearance`): an intensity per tissue relative to LV
blood (bSSFP: blood bright, myocardium 0.18-0.5 of blood, fat bright, lung and
air dark, liver mid grey), smooth texture fields (blood-flow inhomogeneity
that changes over the cycle, fat and liver texture), a coil bias field, an
optional off-resonance dark band, an SNR, a k-space coverage (partial
resolution and Gibbs ringing) and an integer storage scale.

Per frame (:meth:`Textures.image`, :func:`acquire`, :func:`store`): tissue
fractions -> ideal image -> bias -> k-space truncation of signal and
(correlated) complex noise -> magnitude (Rician) -> integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anatomy import N_TISSUES, T, rotate

# Waves of a smooth random field: rows (ky, kx, phase, amplitude).
Waves = np.ndarray


def random_waves(rng: np.random.Generator, n: int, wavelength: tuple[float, float]) -> Waves:
    """Plane waves for a smooth random field with unit standard deviation.

    Parameters
    ----------
    n : int
        Number of waves.
    wavelength : (float, float)
        Range of wavelengths, mm (log-uniform).
    """
    lam = np.exp(rng.uniform(np.log(wavelength[0]), np.log(wavelength[1]), n))
    ang = rng.uniform(0, 2 * np.pi, n)
    k = 2 * np.pi / lam
    return np.stack([k * np.sin(ang), k * np.cos(ang), rng.uniform(0, 2 * np.pi, n), np.full(n, np.sqrt(2.0 / n))], axis=1)


def field(waves: Waves, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate a plane-wave field at body points (float32, shape of ``y``)."""
    out = np.zeros(np.shape(y), dtype=np.float32)
    for ky, kx, ph, a in waves:
        out += (a * np.cos(ky * y + kx * x + ph)).astype(np.float32)
    return out


@dataclass(frozen=True)
class AffineGrid:
    """Pixel centres whose coordinates are affine in the pixel indices.

    Pixel ``(i, j)`` lies at ``origin + i * di + j * dj`` (each a ``(y, x)`` pair, mm).
    Plane-wave fields on such a grid factor into a small matrix product
    (:meth:`field`), far cheaper than evaluating every wave at every pixel.
    """

    origin: np.ndarray
    di: np.ndarray
    dj: np.ndarray
    shape: tuple[int, int]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates ``y, x`` of every pixel, shape ``shape``."""
        i = np.arange(self.shape[0])[:, None]
        j = np.arange(self.shape[1])[None, :]
        return (self.origin[0] + i * self.di[0] + j * self.dj[0], self.origin[1] + i * self.di[1] + j * self.dj[1])

    def moved(self, offset: np.ndarray, rotation: float) -> "AffineGrid":
        """The same pixels in a frame translated by ``offset`` and turned clockwise by ``rotation``."""
        def rot(v: np.ndarray) -> np.ndarray:
            return np.array(rotate(np.array(v[0]), np.array(v[1]), -rotation), dtype=np.float64)
        return AffineGrid(rot(np.asarray(self.origin) - offset), rot(self.di), rot(self.dj), self.shape)

    def field(self, waves: Waves) -> np.ndarray:
        """A plane-wave field (rows ky, kx, phase, amplitude) at the pixels, float32."""
        ky, kx, ph, a = waves.T
        c0 = ky * self.origin[0] + kx * self.origin[1] + ph
        ai = ky * self.di[0] + kx * self.di[1]
        aj = ky * self.dj[0] + kx * self.dj[1]
        ei = np.exp(1j * np.outer(np.arange(self.shape[0]), ai))
        ej = np.exp(1j * np.outer(np.arange(self.shape[1]), aj))
        # einsum's own loop, not BLAS: BLAS threads would oversubscribe the worker processes.
        return np.real(np.einsum("in,jn->ij", ei * (a * np.exp(1j * c0)), ej)).astype(np.float32)


@dataclass(frozen=True)
class Appearance:
    """A subject's contrast, artefacts and storage.

    Attributes
    ----------
    intensity : ndarray (N_TISSUES,)
        Signal of each tissue relative to LV blood (1).
    flow_amp : float
        Amplitude of the blood-flow inhomogeneity (relative).
    flow_waves : (Waves, Waves)
        Two heart-frame fields mixed over the cycle.
    myo_amp, fat_amp, liver_amp, lung_amp : float
        Relative texture amplitudes.
    myo_waves, fat_waves, liver_waves, lung_waves : Waves
    coils : ndarray (n, 4)
        Bias field: coil centre (y, x) relative to the LV rest centre (mm), width (mm), gain.
    bias_waves : Waves
    bias_amp : float
    band : tuple or None
        Off-resonance dark band: (waves, level, width, depth) or None.
    snr : float
        LV blood signal / noise standard deviation per channel.
    phase_axis : int
        0: phase encoding along rows (columns of k-space lines), 1: along columns.
    frac_phase, frac_read : float
        Fraction of k-space acquired along the phase and readout directions.
    apodisation : float
        Width of the k-space window's taper as a fraction of the acquired
        half-width (0: hard truncation, strong Gibbs ringing).
    blood_level : float
        Stored integer value of unbiased LV blood.
    dtype : str
        ``"int16"`` or ``"uint16"``.
    slice_thickness : float
        Slice thickness, mm (through-plane partial volume).
    """

    intensity: np.ndarray
    flow_amp: float
    flow_waves: tuple[Waves, Waves]
    myo_amp: float
    myo_waves: Waves
    fat_amp: float
    fat_waves: Waves
    liver_amp: float
    liver_waves: Waves
    lung_amp: float
    lung_waves: Waves
    coils: np.ndarray
    bias_waves: Waves
    bias_amp: float
    band: tuple[Waves, float, float, float] | None
    snr: float
    phase_axis: int
    frac_phase: float
    frac_read: float
    apodisation: float
    blood_level: float
    dtype: str
    slice_thickness: float = 8.0


def sample_appearance(rng: np.random.Generator, snr_range: tuple[float, float]) -> Appearance:
    """Draw one scanner's contrast and acquisition settings."""
    u = rng.uniform
    i = np.zeros(N_TISSUES)
    i[T["lv_blood"]] = 1.0
    fat = u(0.65, 1.2)
    myo = u(0.18, 0.5)
    i[T["lung"]] = u(0.04, 0.18)
    i[T["lung_vessel"]] = u(0.2, 0.7)
    i[T["skin"]] = u(0.25, 0.6)
    i[T["subcutaneous_fat"]] = fat
    i[T["epicardial_fat"]] = fat * u(0.75, 1.05)
    i[T["muscle"]] = myo * u(0.8, 1.2)
    i[T["liver"]] = u(0.22, 0.5)
    i[T["liver_vessel"]] = u(0.55, 1.0)
    i[T["lv_myocardium"]] = myo
    i[T["rv_myocardium"]] = myo * u(0.9, 1.15)
    i[T["trabeculae"]] = myo + u(0.0, 0.5) * (1.0 - myo)
    i[T["rv_blood"]] = u(0.55, 1.05)
    i[T["pericardium"]] = u(0.03, 0.2)
    i[T["aorta"]] = u(0.6, 1.05)
    i[T["vessel_wall"]] = u(0.1, 0.3)
    i[T["bone"]] = u(0.25, 0.55)
    i[T["csf"]] = u(0.7, 1.1)
    i[T["stomach"]] = u(0.05, 0.9)
    coils = []
    for centre_deg in (0.0, 180.0) + ((u(60.0, 300.0),) if u() < 0.5 else ()):
        a = np.deg2rad(centre_deg + u(-50.0, 50.0))
        dist = u(70.0, 180.0)
        coils.append((-np.cos(a) * dist, np.sin(a) * dist, u(70.0, 200.0), u(0.2, 2.0)))
    band = None
    if u() < 0.25:
        band = (random_waves(rng, 4, (120.0, 400.0)), float(u(-1.2, 1.2)), float(u(0.03, 0.12)), float(u(0.4, 0.95)))
    return Appearance(
        intensity=i,
        flow_amp=float(u(0.03, 0.15)),
        flow_waves=(random_waves(rng, 16, (20.0, 80.0)), random_waves(rng, 16, (20.0, 80.0))),
        myo_amp=float(u(0.0, 0.05)),
        myo_waves=random_waves(rng, 16, (4.0, 20.0)),
        fat_amp=float(u(0.03, 0.15)),
        fat_waves=random_waves(rng, 24, (3.0, 15.0)),
        liver_amp=float(u(0.03, 0.12)),
        liver_waves=random_waves(rng, 16, (5.0, 30.0)),
        lung_amp=float(u(0.3, 0.8)),
        lung_waves=random_waves(rng, 24, (6.0, 30.0)),
        coils=np.array(coils),
        bias_waves=random_waves(rng, 4, (150.0, 500.0)),
        bias_amp=float(u(0.0, 0.15)),
        band=band,
        snr=float(np.exp(u(np.log(snr_range[0]), np.log(snr_range[1])))),
        phase_axis=int(rng.integers(2)),
        frac_phase=float(u(0.4, 0.9)),
        frac_read=float(u(0.55, 1.0)),
        apodisation=float(0.0 if u() < 0.3 else u(0.1, 1.0)),
        blood_level=float(np.exp(u(np.log(150.0), np.log(3000.0)))),
        dtype="int16" if u() < 0.6 else "uint16",
        slice_thickness=float(u(6.0, 10.0)),
    )


def bias_field(app: Appearance, grid: AffineGrid) -> np.ndarray:
    """Smooth multiplicative coil sensitivity at the pixels, 1 at the LV rest centre (float32)."""
    y, x = grid.arrays()
    def coils(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        s = np.ones(np.shape(yy), dtype=np.float64)
        for cy, cx, w, g in app.coils:
            s = s + g * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * w * w))
        return s
    b = coils(y, x) * np.exp(app.bias_amp * grid.field(app.bias_waves))
    b0 = coils(np.zeros(1), np.zeros(1))[0] * np.exp(app.bias_amp * field(app.bias_waves, np.zeros(1), np.zeros(1))[0])
    return (b / b0).astype(np.float32)


class Textures:
    """Renders ideal images of one subject on one grid (static texture fields computed once).

    Parameters
    ----------
    app : Appearance
    grid : AffineGrid
        Body-frame pixel centres of the image.
    """

    def __init__(self, app: Appearance, grid: AffineGrid):
        self.app, self.grid = app, grid
        i = app.intensity
        self.fat = app.fat_amp * grid.field(app.fat_waves)
        self.liver = i[T["liver"]] * app.liver_amp * grid.field(app.liver_waves)
        self.lung = i[T["lung"]] * app.lung_amp * grid.field(app.lung_waves)
        self.band = None
        if app.band is not None:
            waves, level, width, depth = app.band
            f = grid.field(waves)
            self.band = (1.0 - depth * np.exp(-0.5 * ((f - level) / width) ** 2)).astype(np.float32)

    def image(self, cov: np.ndarray, offset: np.ndarray, rotation: float, tau: float) -> np.ndarray:
        """Ideal (noise-free, unbiased) image from tissue fractions.

        Parameters
        ----------
        cov : ndarray (H, W, N_TISSUES)
            Tissue fractions per pixel (:func:`~lvquant.phantom.render.coverage`).
        offset, rotation
            Position and rotation of the heart frame (textures that move with the heart).
        tau : float
            Cycle time (the blood-flow pattern changes over the cycle).

        Returns
        -------
        ndarray of float32, shape (H, W)
        """
        app = self.app
        i = app.intensity.astype(np.float32)
        img = np.einsum("hwk,k->hw", cov, i)
        heart = self.grid.moved(offset, rotation)
        w = 2 * np.pi * tau
        flow = app.flow_amp * (np.cos(w) * heart.field(app.flow_waves[0]) + np.sin(w) * heart.field(app.flow_waves[1]))
        img += (cov[..., T["lv_blood"]] * i[T["lv_blood"]] + cov[..., T["rv_blood"]] * i[T["rv_blood"]]) * flow
        if app.myo_amp:
            myo = cov[..., T["lv_myocardium"]] + cov[..., T["rv_myocardium"]] + cov[..., T["trabeculae"]]
            img += myo * (i[T["lv_myocardium"]] * app.myo_amp) * heart.field(app.myo_waves)
        fat = cov[..., T["subcutaneous_fat"]] * i[T["subcutaneous_fat"]] + cov[..., T["epicardial_fat"]] * i[T["epicardial_fat"]]
        img += fat * self.fat
        img += cov[..., T["liver"]] * self.liver + cov[..., T["lung"]] * self.lung
        if self.band is not None:
            img *= self.band
        return np.clip(img, 0.0, None)


def _window(n: int, frac: float, taper: float) -> np.ndarray:
    """k-space window of an axis of n samples (FFT order): 1 inside ``frac`` of k-space, cosine taper at the edge."""
    k = np.abs(np.fft.fftfreq(n)) * 2.0  # 0 at DC, 1 at Nyquist
    w = (k <= frac).astype(np.float64)
    if taper > 0:
        t0 = frac * (1.0 - taper)
        edge = (k > t0) & (k <= frac)
        w[edge] = 0.5 + 0.5 * np.cos(np.pi * (k[edge] - t0) / (frac - t0))
    return w


def acquire(img: np.ndarray, app: Appearance, rng: np.random.Generator) -> np.ndarray:
    """Simulate acquisition of an ideal (biased) image: partial k-space, complex noise, magnitude.

    The same k-space window filters signal and noise (noise is then
    spatially correlated, as in a zero-filled reconstruction); truncation
    causes Gibbs ringing at sharp edges.

    Parameters
    ----------
    img : ndarray (H, W), float
        Ideal image, LV blood = 1 before bias.
    app : Appearance
    rng : numpy Generator
        Noise source.

    Returns
    -------
    ndarray of float32, shape (H, W): magnitude image.
    """
    h, w = img.shape
    fr = (app.frac_phase, app.frac_read) if app.phase_axis == 0 else (app.frac_read, app.frac_phase)
    win = _window(h, fr[0], app.apodisation)[:, None] * _window(w, fr[1], app.apodisation)[None, :]
    sigma = 1.0 / app.snr
    noise = rng.standard_normal((2, h, w)).astype(np.float32)
    kspace = np.fft.fft2(img) + np.fft.fft2(noise[0] + 1j * noise[1]) * (sigma / np.sqrt(np.mean(win**2)))
    out = np.fft.ifft2(kspace * win)
    return np.abs(out).astype(np.float32)


def store(mag: np.ndarray, app: Appearance) -> np.ndarray:
    """Integer storage: scale so that LV blood is ``blood_level``, round, clip to the type's range."""
    hi = 32767 if app.dtype == "int16" else 65535
    return np.clip(np.rint(mag * app.blood_level), 0, hi).astype(app.dtype)
