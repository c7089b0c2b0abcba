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

import numpy as np


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

    def _regularised_grad(self, name: str) -> np.ndarray:
        """``g + λW + μ sign(W)`` for weights, written into the gradient buffer."""
        g, p = self.grads[name], self.params[name]
        if is_weight(name):
            if self.weight_decay:
                g += self.weight_decay * p
            if self.l1:
                g += self.l1 * np.sign(p)
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
            g = self._regularised_grad(name)
            v = self.velocity[name]
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

    Scratch buffers are preallocated so a step allocates nothing.
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

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        bc1 = 1.0 - b1**self.t
        bc2 = 1.0 - b2**self.t
        step_size = self.lr / bc1
        inv_sqrt_bc2 = 1.0 / math.sqrt(bc2)
        for name, p in self.params.items():
            g = self._regularised_grad(name)
            m, v, tmp = self.m[name], self.v[name], self._tmp[name]
            m *= b1                                  # m ← β₁ m + (1 − β₁) g
            np.multiply(g, 1.0 - b1, out=tmp)
            m += tmp
            v *= b2                                  # v ← β₂ v + (1 − β₂) g²
            np.multiply(g, g, out=tmp)
            tmp *= 1.0 - b2
            v += tmp
            np.sqrt(v, out=tmp)                      # tmp ← √v / √bc2 + ε
            tmp *= inv_sqrt_bc2
            tmp += self.eps
            np.divide(m, tmp, out=tmp)               # θ ← θ − step · m / tmp
            tmp *= step_size
            p -= tmp

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
