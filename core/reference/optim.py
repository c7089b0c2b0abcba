"""Optimisers, textbook form, and the regularisation as the project defines it.
Fast version: :mod:`core.training.optim` (chunked, threaded, moments kept scaled).

Weight decay ``λ`` (L2) and ``μ`` (L1) apply to weights only — names ending in ``.W`` —
and are added to the gradient ("coupled", as ``torch.optim.Adam(weight_decay=λ)``):
``g ← g + λ W + μ sign(W)``, the gradient of ``L + λ/2 ‖W‖² + μ ‖W‖₁``.
"""

from __future__ import annotations

import numpy as np


def regularised_grad(name: str, g: np.ndarray, w: np.ndarray,
                     weight_decay: float, l1: float = 0.0) -> np.ndarray:
    """``g + λ W + μ sign(W)`` for weights (``*.W``), ``g`` for biases."""
    if not name.endswith(".W"):
        return g
    return g + weight_decay * w + l1 * np.sign(w)


def init_adam(params: dict[str, np.ndarray]) -> dict:
    """Adam's state: step count ``t`` and zero moments ``m``, ``v`` per parameter."""
    return {"t": 0, "m": {k: np.zeros_like(p) for k, p in params.items()},
            "v": {k: np.zeros_like(p) for k, p in params.items()}}


def adam_step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], state: dict,
              lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
              weight_decay: float = 0.0, l1: float = 0.0) -> None:
    """One Adam step (Kingma & Ba, bias-corrected); replaces the arrays in ``params``
    and ``state``::

        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        θ ← θ − lr · m̂ / (√v̂ + ε),   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
    """
    b1, b2 = betas
    state["t"] += 1
    t = state["t"]
    for k, w in params.items():
        g = regularised_grad(k, grads[k], w, weight_decay, l1)
        state["m"][k] = m = b1 * state["m"][k] + (1 - b1) * g
        state["v"][k] = v = b2 * state["v"][k] + (1 - b2) * g * g
        params[k] = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)


def sgd_step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray],
             velocity: dict[str, np.ndarray], lr: float, momentum: float = 0.9,
             weight_decay: float = 0.0, l1: float = 0.0) -> None:
    """SGD with momentum: ``u ← μ u + g``; ``θ ← θ − lr · u``."""
    for k, w in params.items():
        velocity[k] = momentum * velocity[k] + regularised_grad(k, grads[k], w, weight_decay, l1)
        params[k] = w - lr * velocity[k]


def rmsprop_step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray],
                 sq_avg: dict[str, np.ndarray], lr: float, rho: float = 0.9,
                 eps: float = 1e-8, weight_decay: float = 0.0, l1: float = 0.0) -> None:
    """One RMSProp step; replaces the arrays in ``params`` and ``sq_avg``::

        s ← ρ s + (1 − ρ) g²
        θ ← θ − lr · g / (√s + ε)
    """
    for k, w in params.items():
        g = regularised_grad(k, grads[k], w, weight_decay, l1)
        sq_avg[k] = s = rho * sq_avg[k] + (1 - rho) * g * g
        params[k] = w - lr * g / (np.sqrt(s) + eps)
