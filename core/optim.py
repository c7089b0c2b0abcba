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

from core.parallel import n_threads, run_shares

#: Elementwise updates run chunk by chunk: each thread owns one contiguous share of the
#: parameters and walks it in pieces of ``CHUNK`` elements with its own chunk-sized scratch,
#: so the many passes of an Adam step touch cache-resident data instead of streaming 18 MB
#: tensors (and an 18 MB scratch) through memory each time (:mod:`core.parallel`).
#: 2**17 elements measured best on a 2-core EPYC (1 MB L2, 32 MB L3): smaller pieces pay
#: more Python call overhead (benchmarks/train_step.py).
CHUNK = 1 << 17


def _shares(sizes: dict[str, int], n_shares: int, chunk: int) -> list[list[tuple]]:
    """Split every tensor into ``(name, slice)`` pieces of at most ``chunk`` elements and
    deal them, in order, into ``n_shares`` contiguous shares of about equal size."""
    pieces = [(name, slice(s, min(s + chunk, size)))
              for name, size in sizes.items() for s in range(0, size, chunk)]
    total = sum(sizes.values())
    shares: list[list[tuple]] = [[] for _ in range(n_shares)]
    done = 0
    for piece in pieces:
        k = min(n_shares - 1, done * n_shares // max(total, 1))
        shares[k].append(piece)
        done += piece[1].stop - piece[1].start
    return [s for s in shares if s]


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
                          out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
        """``g + λW + μ sign(W)`` for weights, written to ``out`` (``tmp`` is scratch);
        ``g`` itself for biases or without regularisation. ``g`` is never modified."""
        if not is_weight(name) or not (self.weight_decay or self.l1):
            return g
        if self.weight_decay:
            np.multiply(p, self.weight_decay, out=out)
            out += g
        else:
            np.copyto(out, g)
        if self.l1:
            np.sign(p, out=tmp)
            tmp *= self.l1
            out += tmp
        return out

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
            g = self._regularised_grad(name, self.grads[name], p,
                                       np.empty_like(p), np.empty_like(p))
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

    (:meth:`moments` returns the textbook ``m``, ``v``). The update runs chunk by chunk,
    each thread over its own contiguous share of the parameters with its own chunk-sized
    scratch, so a step allocates nothing, streams each tensor through memory once and
    leaves the gradients as the loss gradients (the decay term lives in the scratch).
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
        self._flat = {k: {"p": params[k].reshape(-1), "g": grads[k].reshape(-1),
                          "m": self.m[k].reshape(-1), "v": self.v[k].reshape(-1)}
                      for k in params}
        dtype = np.result_type(*params.values())
        # One job per thread: its share of the pieces, and chunk-sized scratch for the
        # regularised gradient g', the update, and the L1 term.
        self._jobs = [(share, tuple(np.empty(CHUNK, dtype) for _ in range(3)))
                      for share in _shares({k: p.size for k, p in params.items()},
                                           n_threads(), CHUNK)]

    def _update_share(self, share: list[tuple], scratch: tuple, a: float, eps: float) -> None:
        gbuf, ubuf, tbuf = scratch
        b1, b2 = self.beta1, self.beta2
        for name, sl in share:
            f = self._flat[name]
            p, m, v = f["p"][sl], f["m"][sl], f["v"][sl]
            n = sl.stop - sl.start
            u = ubuf[:n]
            g = self._regularised_grad(name, f["g"][sl], p, gbuf[:n], tbuf[:n])  # g' = g + λW
            m *= b1                          # m̃ ← β₁ m̃ + g'
            m += g
            np.multiply(g, g, out=u)         # ṽ ← β₂ ṽ + g'²
            v *= b2
            v += u
            np.sqrt(v, out=u)                # θ ← θ − a · m̃ / (√ṽ + ε')
            u += eps
            np.divide(m, u, out=u)
            u *= a
            p -= u

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
        run_shares(lambda job: self._update_share(*job, a, eps), self._jobs)

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
