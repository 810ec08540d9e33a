r"""DimeNet's distance and angle bases (Gasteiger et al., "Directional Message Passing for Molecular Graphs"):
the smooth cutoff :class:`Envelope`, the radial :class:`BesselBasisLayer` and the 2-D
:class:`SphericalBasisLayer`.

The spherical basis is evaluated in closed form in torch (spherical Bessel functions by their three-term
recurrence, Legendre polynomials by Bonnet's), so no symbolic algebra is needed. Its constants, the roots
:math:`z_{ln}` of :math:`j_l` and the normalisers, are not parameters (no state_dict carries them), so they are
computed exactly as DimeNet's reference and PyG round them: the roots to float32, the normalisers in float32
arithmetic. A model then matches PyG's to float64 precision.
"""
from __future__ import annotations

import math
from functools import lru_cache
import numpy as np
import torch
from torch import Tensor

__all__ = ["Envelope", "BesselBasisLayer", "SphericalBasisLayer", "spherical_bessel_roots"]


class Envelope(torch.nn.Module):
    r"""The polynomial cutoff :math:`u(x) = \frac{1}{x} + a x^{p-1} + b x^{p} + c x^{p+1}` for :math:`x < 1`, 0
    beyond, with :math:`p` = ``exponent`` + 1 and :math:`a, b, c` chosen so that :math:`x u(x)` and its first two
    derivatives vanish at :math:`x = 1`.

    Shapes:
        ``(*)`` -> ``(*)``.

    >>> Envelope(5)(torch.tensor([0.5, 1.0])).tolist()
    [1.7109375, 0.0]
    """

    def __init__(self, exponent: int) -> None:
        super().__init__()
        self.p = exponent + 1
        self.a = -(self.p + 1) * (self.p + 2) / 2
        self.b = self.p * (self.p + 2)
        self.c = -self.p * (self.p + 1) / 2

    def forward(self, x: Tensor) -> Tensor:
        low = x.pow(self.p - 1)
        poly = 1.0 / x + self.a * low + self.b * low * x + self.c * low * x * x
        return poly * (x < 1.0).to(x.dtype)


class BesselBasisLayer(torch.nn.Module):
    r"""Radial basis :math:`e_n(d) = u(d / c) \sin(f_n d / c)`, frequencies :math:`f_n` learned (parameter
    ``freq``, initialised to :math:`n\pi`), :math:`u` the :class:`Envelope`, :math:`c` the cutoff.

    Shapes:
        dist ``(E,)`` -> ``(E, num_radial)``.

    >>> BesselBasisLayer(3, cutoff=2.0)(torch.tensor([1.0])).shape
    torch.Size([1, 3])
    """

    def __init__(self, num_radial: int, cutoff: float = 5.0, envelope_exponent: int = 5) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.envelope = Envelope(envelope_exponent)
        self.freq = torch.nn.Parameter(torch.empty(num_radial))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.freq.copy_(torch.arange(1, self.freq.numel() + 1, dtype=self.freq.dtype) * math.pi)

    def forward(self, dist: Tensor) -> Tensor:
        x = dist.unsqueeze(-1) / self.cutoff
        return self.envelope(x) * (self.freq * x).sin()


def _spherical_jn(x: float, order: int) -> float:
    from scipy import special  # scipy is imported when a DimeNet is built, not with graphkit.nn

    return float(special.spherical_jn(order, x))


@lru_cache(maxsize=None)
def spherical_bessel_roots(num_orders: int, num_roots: int) -> np.ndarray:
    """The first ``num_roots`` positive roots of :math:`j_0 \\dots j_{L-1}` (``[L, K]``, float32 as DimeNet
    stores them). The roots of :math:`j_l` interlace those of :math:`j_{l-1}`, so each is bracketed by two
    consecutive roots of the order below and found by Brent's method.

    >>> [[round(float(r), 4) for r in row] for row in spherical_bessel_roots(2, 2)]
    [[3.1416, 6.2832], [4.4934, 7.7253]]
    """
    from scipy.optimize import brentq

    roots = np.zeros((num_orders, num_roots), dtype=np.float32)
    brackets = np.arange(1, num_roots + num_orders) * np.pi  # the roots of j_0, enough to bracket every order
    roots[0] = brackets[:num_roots]
    for order in range(1, num_orders):
        found = np.array([brentq(_spherical_jn, lo, hi, args=(order,))
                          for lo, hi in zip(brackets[:-1], brackets[1:])], dtype=np.float32)
        roots[order] = found[:num_roots]
        brackets = found
    return roots


@lru_cache(maxsize=None)
def _normalisers(num_orders: int, num_roots: int) -> np.ndarray:
    r""":math:`1 / \sqrt{\tfrac12 j_{l+1}(z_{ln})^2}`, in float32 arithmetic (``j`` through
    :math:`\sqrt{\pi / 2x}\, J_{l+3/2}(x)`), as DimeNet's reference computes them."""
    from scipy import special

    roots = spherical_bessel_roots(num_orders, num_roots)
    out = np.zeros_like(roots)
    for order in range(num_orders):
        r = roots[order]
        j_next = np.sqrt(np.float32(np.pi) / (np.float32(2) * r)) * special.jv(np.float32(order + 1.5), r)
        out[order] = np.float32(1) / (np.float32(0.5) * j_next ** 2) ** np.float32(0.5)
    return out


def spherical_bessel(x: Tensor, num_orders: int) -> Tensor:
    r""":math:`j_0(x) \dots j_{L-1}(x)` stacked on a new last dim, by :math:`j_{l+1} = \frac{2l+1}{x} j_l - j_{l-1}`
    from :math:`j_0 = \sin x / x` and :math:`j_1 = \sin x / x^2 - \cos x / x` (DimeNet evaluates them at
    :math:`x \ge z_{l1} d / c`, where the recurrence loses no more than the closed forms do)."""
    sin, cos = torch.sin(x), torch.cos(x)
    out = [sin / x, sin / (x * x) - cos / x]
    for order in range(1, num_orders - 1):
        out.append((2 * order + 1) / x * out[order] - out[order - 1])
    return torch.stack(out[:num_orders], dim=-1)


def legendre(t: Tensor, num_orders: int) -> Tensor:
    r""":math:`P_0(t) \dots P_{L-1}(t)` on a new last dim, by Bonnet's recurrence
    :math:`(l+1) P_{l+1} = (2l+1) t P_l - l P_{l-1}`."""
    out = [torch.ones_like(t), t]
    for order in range(1, num_orders - 1):
        out.append(((2 * order + 1) * t * out[order] - order * out[order - 1]) / (order + 1))
    return torch.stack(out[:num_orders], dim=-1)


class SphericalBasisLayer(torch.nn.Module):
    r"""The 2-D basis of a triplet :math:`k \to j \to i`, from the distance :math:`d_{kj}` and the angle
    :math:`\alpha` between the two edges:

    .. math::
        a_{ln}(d, \alpha) = u(d / c)\, \frac{j_l(z_{ln} d / c)}{\sqrt{\tfrac12 j_{l+1}(z_{ln})^2}}\,
            \sqrt{\frac{2l+1}{4\pi}}\, P_l(\cos\alpha)

    for :math:`l <` ``num_spherical`` and :math:`n <` ``num_radial`` (:math:`z_{ln}` the :math:`n`-th root of
    :math:`j_l`, flattened :math:`l`-major). No parameters.

    Shapes:
        dist ``(E,)``, angle ``(T,)``, idx_kj ``(T,)`` -> ``(T, num_spherical * num_radial)``.

    >>> sbf = SphericalBasisLayer(3, 2, cutoff=2.0)
    >>> sbf(torch.tensor([1.0, 1.5]), torch.tensor([0.3]), torch.tensor([1])).shape
    torch.Size([1, 6])
    """

    def __init__(self, num_spherical: int, num_radial: int, cutoff: float = 5.0, envelope_exponent: int = 5
                 ) -> None:
        super().__init__()
        if num_spherical < 1 or num_radial < 1:
            raise ValueError(f"num_spherical and num_radial must be positive, got {num_spherical}, {num_radial}")
        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        self.envelope = Envelope(envelope_exponent)
        # Plain attributes, not buffers: they are not in PyG's state_dict, and they follow the input's dtype.
        self.roots = torch.from_numpy(spherical_bessel_roots(num_spherical, num_radial).astype(np.float64))
        self.norms = torch.from_numpy(_normalisers(num_spherical, num_radial).astype(np.float64))
        self.sph_norms = torch.tensor([math.sqrt((2 * l + 1) / (4 * math.pi)) for l in range(num_spherical)],
                                      dtype=torch.float64)

    def radial(self, dist: Tensor) -> Tensor:
        """:math:`u(d / c)\\, j_l(z_{ln} d / c) / \\sqrt{\\tfrac12 j_{l+1}(z_{ln})^2}`, ``[E, L, K]``."""
        x = dist / self.cutoff
        roots, norms = self.roots.to(dist), self.norms.to(dist)
        t = x.view(-1, 1, 1) * roots  # [E, L, K]
        j = spherical_bessel(t, self.num_spherical)  # [E, L, K, L]: every order at every argument
        order = torch.arange(self.num_spherical, device=dist.device).view(1, -1, 1, 1)
        j = j.gather(-1, order.expand(*t.shape, 1)).squeeze(-1)
        return self.envelope(x).view(-1, 1, 1) * norms * j

    def forward(self, dist: Tensor, angle: Tensor, idx_kj: Tensor) -> Tensor:
        rbf = self.radial(dist)
        cbf = legendre(torch.cos(angle), self.num_spherical) * self.sph_norms.to(angle)  # [T, L]
        return (rbf[idx_kj] * cbf.unsqueeze(-1)).reshape(-1, self.num_spherical * self.num_radial)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_spherical}, {self.num_radial}, cutoff={self.cutoff})"

