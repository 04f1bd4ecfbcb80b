"""Steady-state Pennes bioheat model of a tumour's skin-surface signature.

The tissue is a perfused half-space (depth z >= 0) with a convective + radiative skin boundary
-k dT/dz = -h T at z = 0. A spherical tumour of radius a at depth d adds heat q (metabolic
excess over gland) and extra perfusion. Outside the sphere it acts as a point source of power
P (derived below), and the surface temperature rise follows from the Hankel transform of the
half-space Green's function with a Robin boundary:

    theta(rho) = P / (2 pi k) * integral_0^inf exp(-g d) / (g + h/k) J0(kappa rho) kappa dkappa,
    g = sqrt(kappa^2 + m^2),  m^2 = w_b rho_b c_b / k.

With h = 0 this reduces to the image-source solution P/(2 pi k) exp(-m R)/R (a check in the
tests). Parameter values and their sources: docs/synthetic.md (Gautherie 1980, Acero Mendoza
et al. 2024, Pennes 1948).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TissueParams:
    """Thermal properties of breast gland and tumour (SI units)."""

    k: float = 0.5  # W/mK, gland conductivity (also used for the tumour: 0.5-0.75)
    perfusion: float = 2000.0  # W/m3K, w_b rho_b c_b of healthy gland
    q_gland: float = 600.0  # W/m3, healthy metabolic heat (450-700)
    tumour_perfusion: float = 8000.0  # W/m3K
    h: float = 12.0  # W/m2K, convective + radiative skin loss (10-13.5)


def tumour_point_power(
    diameter_mm: float, q_tumour: float = 45000.0, tissue: TissueParams = TissueParams()
) -> float:
    """Equivalent point-source power (W) of a uniformly heated, perfused spherical tumour."""
    a = diameter_mm / 2000.0
    m = np.sqrt(tissue.perfusion / tissue.k)
    ma = m * a
    volume = 4.0 / 3.0 * np.pi * a**3
    # A uniform source in a perfused sphere looks, from outside, like a point source scaled by
    # 3 (ma cosh ma - sinh ma) / (ma)^3 (integral of the screened Coulomb kernel over the ball).
    shape = 3.0 * (ma * np.cosh(ma) - np.sinh(ma)) / ma**3 if ma > 1e-6 else 1.0
    # The tumour's extra perfusion removes part of its own heat: q_net = q / (1 + dw * g), with g
    # the mean self-heating per unit source of a sphere, 2 a^2 / (5 k) (conduction only).
    g = 2.0 * a**2 / (5.0 * tissue.k)
    q_net = (q_tumour - tissue.q_gland) / (1.0 + (tissue.tumour_perfusion - tissue.perfusion) * g)
    return float(q_net * volume * shape)


def surface_profile(
    power_w: float, depth_mm: float, radii_mm: np.ndarray, tissue: TissueParams = TissueParams()
) -> np.ndarray:
    """Skin temperature rise (C) at the given radial distances from a point source at depth."""
    d = depth_mm / 1000.0
    rho = np.asarray(radii_mm, dtype=float) / 1000.0
    m = np.sqrt(tissue.perfusion / tissue.k)
    big_h = tissue.h / tissue.k
    # exp(-g d) decays within a few 1/d; 40/d keeps the truncation error below 1e-4 C.
    kappa = np.linspace(0.0, 40.0 / d, 1500)
    g = np.sqrt(kappa**2 + m**2)
    weight = np.exp(-g * d) / (g + big_h) * kappa
    from scipy.special import j0

    integrand = weight[None, :] * j0(np.outer(rho, kappa))
    return power_w / (2.0 * np.pi * tissue.k) * np.trapezoid(integrand, kappa, axis=1)


def tumour_surface_signal(
    diameter_mm: float,
    depth_mm: float,
    q_tumour: float = 45000.0,
    tissue: TissueParams = TissueParams(),
    radii_mm: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Radial skin warming profile (radii in mm, rise in C) over a tumour of a size and depth."""
    if diameter_mm <= 0 or depth_mm <= diameter_mm / 2:
        raise ValueError("need diameter > 0 and the tumour centre deeper than its radius")
    if radii_mm is None:
        radii_mm = np.linspace(0.0, 60.0, 121)
    power = tumour_point_power(diameter_mm, q_tumour, tissue)
    return np.asarray(radii_mm, dtype=float), surface_profile(power, depth_mm, radii_mm, tissue)


def peak_signal(diameter_mm: float, depth_mm: float, q_tumour: float = 45000.0) -> float:
    """Peak skin temperature rise (C) right above the tumour."""
    return float(tumour_surface_signal(diameter_mm, depth_mm, q_tumour, radii_mm=np.zeros(1))[1][0])
