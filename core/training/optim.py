"""Optimisers and the learning-rate schedule — the fast kernels.

The textbook definitions they implement are :mod:`core.reference.optim` (Adam in its three
lines, RMSProp in its two, SGD, the regularised gradient);
``tests/core/test_reference_equivalence.py`` proves the two equal over multi-step trajectories.

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

from core.foundation.config import CHOICES
from core.foundation.parallel import n_threads, run_shares

#: Elementwise updates run chunk by chunk: each thread owns one contiguous share of the
#: parameters and walks it in pieces of ``CHUNK`` elements with its own chunk-sized scratch,
#: so the many passes of an Adam step touch cache-resident data instead of streaming 18 MB
#: tensors (and an 18 MB scratch) through memory each time (:mod:`core.foundation.parallel`).
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


class ConstantSchedule:
    """The same learning rate ``base_lr`` every epoch."""

    def __init__(self, base_lr: float) -> None:
        self.base_lr = float(base_lr)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr

    def __repr__(self) -> str:
        return f"ConstantSchedule({self.base_lr:g})"


class CosineSchedule:
    """:func:`cosine_lr` from ``base_lr`` (epoch 0) down to ``lr_min`` (epoch ``epochs − 1``)."""

    def __init__(self, base_lr: float, lr_min: float, epochs: int) -> None:
        self.base_lr, self.lr_min, self.epochs = float(base_lr), float(lr_min), int(epochs)

    def lr_at(self, epoch: int) -> float:
        return cosine_lr(epoch, self.epochs, self.base_lr, self.lr_min)

    def __repr__(self) -> str:
        return f"CosineSchedule({self.base_lr:g}, {self.lr_min:g}, {self.epochs})"


#: The learning rate's one owner: ``schedule.lr_at(epoch)`` is the rate of an epoch (0-based).
#: The optimisers hold no rate of their own — :meth:`Optimizer.step` is given it.
Schedule = ConstantSchedule | CosineSchedule


def make_schedule(kind: str, base_lr: float, lr_min: float = 0.0, epochs: int = 1) -> Schedule:
    """``"cosine"`` or ``"constant"``."""
    if kind == "cosine":
        return CosineSchedule(base_lr, lr_min, epochs)
    if kind == "constant":
        return ConstantSchedule(base_lr)
    raise ValueError(f"unknown learning-rate schedule {kind!r} (choose 'cosine' or 'constant')")


def lr_schedule(config) -> Schedule:
    """The schedule a :class:`core.foundation.config.TrainConfig` asks for (``config.lr`` is
    its base rate, the only place the config's rate is read)."""
    return make_schedule(config.lr_schedule, config.lr, config.lr_min, config.epochs)


def weight_sq_norms(params: dict[str, np.ndarray]) -> dict[str, float]:
    """``‖W‖²`` of every weight (``*.W``), by name."""
    return {name: float(np.dot(p.reshape(-1), p.reshape(-1)))
            for name, p in params.items() if is_weight(name)}


def regularisation(params: dict[str, np.ndarray], weight_decay: float, l1: float = 0.0,
                   sq_norms: dict[str, float] | None = None) -> float:
    """``λ/2 Σ‖W‖² + μ Σ‖W‖₁`` over weights only (the history's ``reg_loss``);
    ``sq_norms``: the ``‖W‖²`` of :func:`weight_sq_norms`, if already computed."""
    total = 0.0
    for name, p in params.items():
        if is_weight(name):
            p64 = p.reshape(-1)
            if weight_decay:
                sq = float(np.dot(p64, p64)) if sq_norms is None else sq_norms[name]
                total += 0.5 * weight_decay * sq
            if l1:
                total += l1 * float(np.abs(p64).sum())
    return total


class Optimizer:
    """Base: holds named params/grads and the regularisation.

    The learning rate is not the optimiser's: :meth:`step` is given the rate to use (the
    trainer reads it from the run's :data:`Schedule`), as the textbook steps of
    :mod:`core.reference.optim` are.
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        grads: dict[str, np.ndarray],
        *,
        weight_decay: float = 0.0,
        l1: float = 0.0,
    ) -> None:
        if set(params) != set(grads):
            raise ValueError("params and grads must have the same names")
        self.params, self.grads = params, grads
        self.weight_decay = float(weight_decay)
        self.l1 = float(l1)
        self.t = 0
        #: Set to True to have the next :meth:`step` record ``‖Δθ‖²`` — the squared norm of
        #: the update it applies — per parameter in :attr:`last_update_sq` (training health
        #: does so on an epoch's last step only; the arithmetic of the step is unchanged).
        self.measure_update = False
        self.last_update_sq: dict[str, float] = {}

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

    def step(self, lr: float) -> None:
        """One update of every parameter at learning rate ``lr``."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"t": np.array(self.t)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.t = int(state["t"])


class SGD(Optimizer):
    """SGD with momentum ``μ``: ``v ← μ v + g``; ``θ ← θ − lr · v``."""

    def __init__(self, params, grads, *, momentum: float = 0.9, **kw) -> None:
        super().__init__(params, grads, **kw)
        self.momentum = float(momentum)
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, lr: float) -> None:
        self.t += 1
        for name, p in self.params.items():
            v = self.velocity[name]
            g = self._regularised_grad(name, self.grads[name], p,
                                       np.empty_like(p), np.empty_like(p))
            v *= self.momentum
            v += g
            p -= lr * v
        if self.measure_update:  # Δθ = −lr · v
            self.last_update_sq = {k: lr**2 * float(np.dot(v.reshape(-1), v.reshape(-1)))
                                   for k, v in self.velocity.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        state = super().state_dict()
        state.update({f"velocity/{k}": v for k, v in self.velocity.items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        super().load_state_dict(state)
        for k, v in self.velocity.items():
            v[...] = state[f"velocity/{k}"]


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba) — the fast kernel of
    :func:`core.reference.optim.adam_step`:

        m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²
        θ ← θ − lr · m̂ / (√v̂ + ε),      m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)

    To save passes over the 4.5 M parameters the moments are kept **scaled**,
    ``m̃ = m / (1 − β₁)`` and ``ṽ = v / (1 − β₂)``, so that ``m̃ ← β₁ m̃ + g`` and
    ``ṽ ← β₂ ṽ + g²``, and the update is the same expression multiplied through:

        θ ← θ − a · m̃ / (√ṽ + ε'),   a = lr (1 − β₁) √(1 − β₂ᵗ) / ((1 − β₁ᵗ) √(1 − β₂)),
                                     ε' = ε √(1 − β₂ᵗ) / √(1 − β₂)

    The update runs chunk by chunk, each thread over its own contiguous share of the
    parameters with its own chunk-sized scratch, so a step allocates nothing, streams each
    tensor through memory once and leaves the gradients as the loss gradients (the decay
    term lives in the scratch).

    **Saved state.** :meth:`state_dict` stores the moments in this scaled form, under names
    that say so — ``m_scaled/<param>`` and ``v_scaled/<param>`` — because converting to the
    textbook form and back in float32 is not exact (``(m̃ · 0.1) / 0.1`` differs from
    ``m̃`` in the last bit for about one value in eight) and a resumed run must continue
    bit for bit. The textbook moments are::

        m = (1 − β₁) · m_scaled          v = (1 − β₂) · v_scaled

    (:meth:`moments` returns them). :meth:`load_state_dict` also reads states written
    before the names said so — ``m/<param>``, ``v/<param>`` — which hold the same scaled
    values.
    """

    def __init__(
        self,
        params,
        grads,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        **kw,
    ) -> None:
        super().__init__(params, grads, **kw)
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

    def _update_share(self, share: list[tuple], scratch: tuple, a: float, eps: float,
                      update_sq: dict[str, float] | None = None) -> None:
        """The Adam update of one share; with ``update_sq`` also Σ u² per parameter."""
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
            if update_sq is not None:
                update_sq[name] = update_sq.get(name, 0.0) + float(np.dot(u, u))
            p -= u

    def moments(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The textbook first and second moments ``(m, v)`` of parameter ``name``."""
        return self.m[name] * (1.0 - self.beta1), self.v[name] * (1.0 - self.beta2)

    def step(self, lr: float) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        bc1 = 1.0 - b1**self.t
        sqrt_bc2 = math.sqrt(1.0 - b2**self.t)
        sqrt_1mb2 = math.sqrt(1.0 - b2)
        a = lr * (1.0 - b1) * sqrt_bc2 / (bc1 * sqrt_1mb2)
        eps = self.eps * sqrt_bc2 / sqrt_1mb2
        if not self.measure_update:
            run_shares(lambda job: self._update_share(*job, a, eps), self._jobs)
            return
        sums: list[dict[str, float]] = [{} for _ in self._jobs]  # one per thread
        run_shares(lambda job: self._update_share(*job[0], a, eps, job[1]),
                   list(zip(self._jobs, sums, strict=True)))
        self.last_update_sq = {k: sum(d.get(k, 0.0) for d in sums) for k in self.params}

    #: ``state_dict`` names of the scaled moments, and the names states used before.
    SLOTS = ("m_scaled", "v_scaled")
    LEGACY_SLOTS = ("m", "v")

    def state_dict(self) -> dict[str, np.ndarray]:
        state = super().state_dict()
        state.update({f"m_scaled/{k}": v for k, v in self.m.items()})
        state.update({f"v_scaled/{k}": v for k, v in self.v.items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Read :meth:`state_dict`'s form, or the older one that named the same scaled
        moments ``m/<param>``, ``v/<param>`` (copied as they are: no conversion)."""
        super().load_state_dict(state)
        slots = self.SLOTS if any(k.startswith("m_scaled/") for k in state) \
            else self.LEGACY_SLOTS
        for k in self.m:
            self.m[k][...] = state[f"{slots[0]}/{k}"]
            self.v[k][...] = state[f"{slots[1]}/{k}"]


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton) — the fast kernel of
    :func:`core.reference.optim.rmsprop_step`::

        s ← ρ s + (1 − ρ) g²            θ ← θ − lr · g / (√s + ε)

    with ``g`` the regularised gradient (weight decay added to the gradient before it is
    squared, as for Adam). No bias correction and no momentum. As Adam's, the update runs
    chunk by chunk over each thread's share of the parameters with chunk-sized scratch; the
    state is ``s`` itself (``sq_avg/<param>``), saved and restored exactly.
    """

    SLOTS = ("sq_avg",)

    def __init__(self, params, grads, *, rho: float = 0.9, eps: float = 1e-8, **kw) -> None:
        super().__init__(params, grads, **kw)
        self.rho, self.eps = float(rho), float(eps)
        self.sq_avg = {k: np.zeros_like(v) for k, v in params.items()}
        self._flat = {k: {"p": params[k].reshape(-1), "g": grads[k].reshape(-1),
                          "s": self.sq_avg[k].reshape(-1)} for k in params}
        dtype = np.result_type(*params.values())
        self._jobs = [(share, tuple(np.empty(CHUNK, dtype) for _ in range(3)))
                      for share in _shares({k: p.size for k, p in params.items()},
                                           n_threads(), CHUNK)]

    def _update_share(self, share: list[tuple], scratch: tuple, lr: float,
                      update_sq: dict[str, float] | None = None) -> None:
        """The RMSProp update of one share; with ``update_sq`` also Σ u² per parameter."""
        gbuf, ubuf, tbuf = scratch
        for name, sl in share:
            f = self._flat[name]
            p, s = f["p"][sl], f["s"][sl]
            n = sl.stop - sl.start
            u = ubuf[:n]
            g = self._regularised_grad(name, f["g"][sl], p, gbuf[:n], tbuf[:n])  # g' = g + λW
            np.multiply(g, g, out=u)         # s ← ρ s + (1 − ρ) g'²
            u *= 1.0 - self.rho
            s *= self.rho
            s += u
            np.sqrt(s, out=u)                # θ ← θ − lr · g' / (√s + ε)
            u += self.eps
            np.divide(g, u, out=u)
            u *= lr
            if update_sq is not None:
                update_sq[name] = update_sq.get(name, 0.0) + float(np.dot(u, u))
            p -= u

    def step(self, lr: float) -> None:
        self.t += 1
        if not self.measure_update:
            run_shares(lambda job: self._update_share(*job, lr), self._jobs)
            return
        sums: list[dict[str, float]] = [{} for _ in self._jobs]  # one per thread
        run_shares(lambda job: self._update_share(*job[0], lr, job[1]),
                   list(zip(self._jobs, sums, strict=True)))
        self.last_update_sq = {k: sum(d.get(k, 0.0) for d in sums) for k in self.params}

    def state_dict(self) -> dict[str, np.ndarray]:
        state = super().state_dict()
        state.update({f"sq_avg/{k}": v for k, v in self.sq_avg.items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        super().load_state_dict(state)
        for k, v in self.sq_avg.items():
            v[...] = state[f"sq_avg/{k}"]


#: The optimisers :func:`make_optimizer` builds, by the name ``TrainConfig.optimizer`` uses.
OPTIMIZERS = CHOICES["optimizer"]


def make_optimizer(
    name: str,
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    *,
    weight_decay: float = 0.0,
    l1: float = 0.0,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    rho: float = 0.9,
    rms_eps: float = 1e-8,
) -> Optimizer:
    """``"adam"``, ``"sgd"`` (with momentum) or ``"rmsprop"`` (decay ``rho``, ``rms_eps``)."""
    kw = {"weight_decay": weight_decay, "l1": l1}
    if name == "adam":
        return Adam(params, grads, betas=betas, eps=eps, **kw)
    if name == "sgd":
        return SGD(params, grads, momentum=momentum, **kw)
    if name == "rmsprop":
        return RMSProp(params, grads, rho=rho, eps=rms_eps, **kw)
    raise ValueError(f"unknown optimizer {name!r} (choose {', '.join(OPTIMIZERS)})")
