"""Optimisers and the learning-rate schedule.

Parameters and gradients are dicts of live arrays keyed by name (``fc1.W``, ``fc1.b``, …);
updates are done in place. L2 weight decay ``λ`` (and optional L1 ``μ``) apply to
weights only — names ending in ``.W`` — never to biases, and are added to the
gradient ("coupled" decay, as ``torch.optim.Adam(weight_decay=λ)`` does):

    g ← g + λ W + μ sign(W)

which is the gradient of the regularised loss ``L + λ/2 ‖W‖² + μ ‖W‖₁``.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Elementwise updates run over chunks of every parameter tensor, spread over a few threads
#: (NumPy releases the GIL inside ufunc loops), so the many passes of an Adam step touch
#: cache-resident data instead of streaming 18 MB tensors through memory each time.
#: 2**18 elements (1 MB per array) measured best on a 2-core EPYC: smaller chunks pay more
#: Python call overhead, larger ones fall out of cache (benchmarks/train_step.py).
CHUNK = 1 << 18
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                   thread_name_prefix="chexmini-optim")
    return _POOL


def _chunks(arrays: dict[str, np.ndarray], names: list[str]) -> list[tuple]:
    """``(name, slice)`` pieces of at most ``CHUNK`` elements covering every tensor."""
    out = []
    for name in names:
        size = arrays[name].size
        out += [(name, slice(s, min(s + CHUNK, size))) for s in range(0, size, CHUNK)]
    return out


def is_weight(name: str) -> bool:
    """Weight decay applies to ``*.W`` only (not biases)."""
    return name.endswith(".W")


def cosine_lr(epoch: int, epochs: int, lr: float, lr_min: float) -> float:
    """Cosine decay per epoch: ``lr_min + ½ (lr − lr_min)(1 + cos(π e / (E − 1)))``.

    ``epoch`` counts from 0, so epoch 0 uses ``lr`` and the last epoch uses ``lr_min``.
    """
    if epochs <= 1:
        return float(lr)
    return float(lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * epoch / (epochs - 1))))


def regularisation(params: dict[str, np.ndarray], weight_decay: float, l1: float = 0.0) -> float:
    """``λ/2 Σ‖W‖² + μ Σ‖W‖₁`` over weights only (the history's ``reg_loss``)."""
    total = 0.0
    for name, p in params.items():
        if is_weight(name):
            p64 = p.reshape(-1)
            if weight_decay:
                total += 0.5 * weight_decay * float(np.dot(p64, p64))
            if l1:
                total += l1 * float(np.abs(p64).sum())
    return total


class Optimizer:
    """Base: holds named params/grads, the learning rate and the regularisation."""

    def __init__(
        self,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        lr: float,
        weight_decay: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        if set(params) != set(grads):
            raise ValueError("params and grads must have the same names")
        self.params, self.grads = params, grads
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.l1 = float(l1)
        self.t = 0

    def _regularised_grad(self, name: str, g: np.ndarray, p: np.ndarray,
                          tmp: np.ndarray) -> np.ndarray:
        """``g ← g + λW + μ sign(W)`` for weights (in place; ``tmp`` is scratch)."""
        if is_weight(name):
            if self.weight_decay:
                np.multiply(p, self.weight_decay, out=tmp)
                g += tmp
            if self.l1:
                np.sign(p, out=tmp)
                tmp *= self.l1
                g += tmp
        return g

    def step(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"t": np.array(self.t)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"])


class SGD(Optimizer):
    """SGD with momentum ``μ``: ``v ← μ v + g``; ``θ ← θ − lr · v``."""

    def __init__(self, params, grads, lr: float, momentum: float = 0.9, **kw) -> None:
        super().__init__(params, grads, lr, **kw)
        self.momentum = float(momentum)
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self) -> None:
        self.t += 1
        for name, p in self.params.items():
            v = self.velocity[name]
            g = self._regularised_grad(name, self.grads[name], p, np.empty_like(p))
            v *= self.momentum
            v += g
            p -= self.lr * v

    def state_dict(self) -> dict[str, np.ndarray]:
        state = super().state_dict()
        state.update({f"velocity/{k}": v for k, v in self.velocity.items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        super().load_state_dict(state)
        for k, v in self.velocity.items():
            v[...] = state[f"velocity/{k}"]


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba), in the form torch uses:

        m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²
        θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

    To save passes over the 4.5 M parameters the moments are kept scaled,
    ``m̃ = m / (1 − β₁)`` and ``ṽ = v / (1 − β₂)``, so that ``m̃ ← β₁ m̃ + g`` and
    ``ṽ ← β₂ ṽ + g²``, and the update is the same expression multiplied through:

        θ ← θ − a · m̃ / (√ṽ + ε'),   a = lr (1 − β₁) √(1 − β₂ᵗ) / ((1 − β₁ᵗ) √(1 − β₂)),
                                     ε' = ε √(1 − β₂ᵗ) / √(1 − β₂)

    (:meth:`moments` returns the textbook ``m``, ``v``). The update runs chunk by chunk
    (cache-sized, over a few threads) with preallocated scratch, so a step allocates
    nothing and streams each tensor through memory once.
    """

    def __init__(
        self,
        params,
        grads,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        **kw,
    ) -> None:
        super().__init__(params, grads, lr, **kw)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self._tmp = {k: np.empty_like(v) for k, v in params.items()}
        names = list(params)
        self._flat = {k: {"p": params[k].reshape(-1), "g": grads[k].reshape(-1),
                          "m": self.m[k].reshape(-1), "v": self.v[k].reshape(-1),
                          "tmp": self._tmp[k].reshape(-1)} for k in names}
        self._pieces = _chunks(params, names)

    def _update(self, piece: tuple, a: float, eps: float) -> None:
        name, sl = piece
        f = self._flat[name]
        p, g, m, v, tmp = f["p"][sl], f["g"][sl], f["m"][sl], f["v"][sl], f["tmp"][sl]
        self._regularised_grad(name, g, p, tmp)  # g ← g + λW (weights only)
        m *= self.beta1                          # m̃ ← β₁ m̃ + g
        m += g
        np.multiply(g, g, out=tmp)               # ṽ ← β₂ ṽ + g²
        v *= self.beta2
        v += tmp
        np.sqrt(v, out=tmp)                      # θ ← θ − a · m̃ / (√ṽ + ε')
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= a
        p -= tmp

    def moments(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The textbook first and second moments ``(m, v)`` of parameter ``name``."""
        return self.m[name] * (1.0 - self.beta1), self.v[name] * (1.0 - self.beta2)

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        bc1 = 1.0 - b1**self.t
        sqrt_bc2 = math.sqrt(1.0 - b2**self.t)
        sqrt_1mb2 = math.sqrt(1.0 - b2)
        a = self.lr * (1.0 - b1) * sqrt_bc2 / (bc1 * sqrt_1mb2)
        eps = self.eps * sqrt_bc2 / sqrt_1mb2
        list(_pool().map(lambda piece: self._update(piece, a, eps), self._pieces))

    def state_dict(self) -> dict[str, np.ndarray]:
        state = super().state_dict()
        state.update({f"m/{k}": v for k, v in self.m.items()})
        state.update({f"v/{k}": v for k, v in self.v.items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        super().load_state_dict(state)
        for k in self.m:
            self.m[k][...] = state[f"m/{k}"]
            self.v[k][...] = state[f"v/{k}"]


def make_optimizer(
    name: str,
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    lr: float,
    weight_decay: float = 0.0,
    l1: float = 0.0,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> Optimizer:
    """``"adam"`` or ``"sgd"`` (with momentum)."""
    if name == "adam":
        return Adam(params, grads, lr, betas=betas, eps=eps, weight_decay=weight_decay, l1=l1)
    if name == "sgd":
        return SGD(params, grads, lr, momentum=momentum, weight_decay=weight_decay, l1=l1)
    raise ValueError(f"unknown optimizer {name!r} (choose 'adam' or 'sgd')")
