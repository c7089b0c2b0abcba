"""Layers with explicit forward and backward passes.

Convention (as in numpy-ml): ``forward(x, train)`` caches what ``backward`` needs;
``backward(grad_out)`` fills ``self.grads`` (same names as ``self.params``) and
returns ``grad_in`` = dL/dx. Shapes: ``x`` is ``(B, n_in)``.

For speed the layers write into preallocated buffers that are reused from one call to
the next (one set per batch shape), so an output is only valid until the same layer
runs again. :meth:`core.nn.MLP.predict_logits` copies what it returns.
"""

from __future__ import annotations

import numpy as np


def _buffer(cache: dict[tuple[int, ...], np.ndarray], shape: tuple[int, ...], dtype) -> np.ndarray:
    """A reusable scratch array of ``shape``/``dtype`` (allocated once per shape)."""
    buf = cache.get(shape)
    if buf is None or buf.dtype != dtype:
        buf = cache[shape] = np.empty(shape, dtype=dtype)
    return buf


class Layer:
    """Base class: a named layer with (possibly no) parameters."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._bufs: dict[tuple[int, ...], np.ndarray] = {}

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def astype(self, dtype) -> None:
        """Cast parameters (and gradients) in place to ``dtype``."""
        for key in self.params:
            self.params[key] = self.params[key].astype(dtype)
            self.grads[key] = np.zeros_like(self.params[key])
        self._bufs.clear()

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.name}{': ' + shapes if shapes else ''})"


class Linear(Layer):
    """Affine map ``y = x W + b`` with ``W: (n_in, n_out)``, ``b: (n_out,)``.

    He initialisation: ``W ~ N(0, 2 / n_in)``, ``b = 0``.
    Backward: ``dW = xᵀ g``, ``db = Σ_batch g``, ``dx = g Wᵀ``.
    """

    def __init__(
        self, name: str, n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float32
    ) -> None:
        super().__init__(name)
        std = np.sqrt(2.0 / n_in)
        self.params["W"] = (rng.standard_normal((n_in, n_out)) * std).astype(dtype)
        self.params["b"] = np.zeros(n_out, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        W, b = self.params["W"], self.params["b"]
        self._x = x
        out = _buffer(self._bufs, (x.shape[0], W.shape[1]), W.dtype)
        np.matmul(x, W, out=out)
        out += b
        return out

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        x, W = self._x, self.params["W"]
        if x is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        np.matmul(x.T, grad_out, out=self.grads["W"])
        np.sum(grad_out, axis=0, out=self.grads["b"])
        if not need_input_grad:
            return None
        grad_in = _buffer(self._bufs, x.shape, W.dtype)
        np.matmul(grad_out, W.T, out=grad_in)
        return grad_in


class ReLU(Layer):
    """``y = max(x, 0)``, computed in place. Backward: ``dx = g · [y > 0]``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        np.maximum(x, 0, out=x)
        self._y = x
        return x

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if self._y is None:
            raise RuntimeError(f"{self.name}: backward called before forward")
        # A multiply by the boolean mask: ~10× faster than masked assignment.
        np.multiply(grad_out, self._y > 0, out=grad_out)
        return grad_out


class Dropout(Layer):
    """Inverted dropout: in training ``y = x · m / (1 - p)``, ``m ~ Bernoulli(1 - p)``;
    identity in evaluation. Backward: ``dx = g · m / (1 - p)``. Computed in place.

    The mask comes from ``self.rng`` (set by the model), so runs are reproducible.
    """

    def __init__(self, name: str, p: float, rng: np.random.Generator | None = None) -> None:
        super().__init__(name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        if not train or self.p == 0.0:
            self._mask = None
            return x
        u = _buffer(self._bufs, x.shape, x.dtype)
        if x.dtype in (np.float32, np.float64):
            self.rng.random(out=u, dtype=x.dtype)
        else:  # pragma: no cover - float16 etc. are not used
            u[...] = self.rng.random(x.shape)
        # u <- [u >= p] / (1 - p), the scaled keep-mask, reusing the uniform buffer.
        np.greater_equal(u, self.p, out=u, casting="unsafe")
        u *= 1.0 / (1.0 - self.p)
        self._mask = u
        x *= u
        return x

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if self._mask is not None:
            grad_out *= self._mask
        return grad_out
