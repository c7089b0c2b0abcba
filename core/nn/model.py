"""The multilayer perceptron: Linear → ReLU → Dropout blocks, then a Linear to one logit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.nn.layers import Dropout, Layer, Linear, ReLU

PUBLISHED_WIDTHS = (4096, 1024, 256, 64, 1)

#: ``hook(pass_name, layer)``, called after each layer of a pass.
LayerHook = Callable[[str, Layer], None]


class MLP:
    """``widths = (n_in, h1, …, hk, 1)``: ``k`` hidden blocks ``Linear→ReLU→Dropout``
    and an output ``Linear`` to one logit. ``widths=(n_in, 1)`` is logistic regression.

    Parameters are named ``fc1.W``, ``fc1.b``, … ``fcK.W``; :meth:`parameters` and
    :meth:`gradients` return the live arrays (views, not copies), keyed by those names.
    """

    def __init__(
        self,
        widths: Sequence[int] = PUBLISHED_WIDTHS,
        dropout: float = 0.3,
        seed: int | np.random.Generator = 0,
        dtype=np.float32,
    ) -> None:
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or widths[-1] != 1 or min(widths) < 1:
            raise ValueError(f"widths must be (n_in, ..., 1) with positive sizes, got {widths}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.widths = widths
        self.dropout = float(dropout)
        self.dropout_rng = np.random.default_rng(rng.integers(2**63))
        self.layers: list[Layer] = []
        n_linear = len(widths) - 1
        for i in range(n_linear):
            self.layers.append(Linear(f"fc{i + 1}", widths[i], widths[i + 1], rng, dtype))
            if i < n_linear - 1:
                self.layers.append(ReLU(f"relu{i + 1}"))
                if self.dropout > 0:
                    self.layers.append(Dropout(f"drop{i + 1}", self.dropout, self.dropout_rng))

    def set_dropout_rng(self, rng: np.random.Generator) -> None:
        """Use ``rng`` for every dropout mask (the trainer owns this stream)."""
        self.dropout_rng = rng
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng

    # -- passes -----------------------------------------------------------------------
    def forward(self, x: np.ndarray, train: bool = False,
                after_layer: LayerHook | None = None, *,
                training: bool | None = None) -> np.ndarray:
        """``x: (B, n_in)`` → logits ``(B, 1)`` (a reused buffer: copy to keep it).

        ``training=`` is the published code's name for ``train=`` (either may be given).
        ``after_layer("forward", layer)``, if given, is called after each layer (used to
        time the pass layer by layer, :class:`core.training.step.StepTimer`)."""
        if training is not None:
            train = training
        for layer in self.layers:
            x = layer.forward(x, train)
            if after_layer is not None:
                after_layer("forward", layer)
        return x

    def backward(self, grad_logits: np.ndarray, need_input_grad: bool = False,
                 after_layer: LayerHook | None = None) -> np.ndarray | None:
        """``grad_logits: (B, 1)`` = dL/dlogits → fills every layer's ``grads``.

        Returns dL/dx ``(B, n_in)`` when ``need_input_grad`` (skipped by default:
        training never needs it and it costs a ``B × n_in × h1`` GEMM).
        ``after_layer("backward", layer)`` as in :meth:`forward`.
        """
        g = grad_logits
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            g = self.layers[i].backward(g, need_input_grad=need_input_grad or i > 0)
            if after_layer is not None:
                after_layer("backward", self.layers[i])
        return g

    def predict_logits(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Evaluation-mode logits ``(N,)`` for ``x: (N, n_in)``, in batches."""
        out = np.empty(len(x), dtype=np.float64)
        for start in range(0, len(x), batch_size):
            out[start : start + batch_size] = self.forward(x[start : start + batch_size])[:, 0]
        return out

    def predict_proba(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """P(abnormal) = σ(logit), ``(N,)`` float64."""
        return sigmoid(self.predict_logits(x, batch_size))

    def predict_proba_float64(self, x: np.ndarray) -> np.ndarray:
        """P(abnormal) ``(N,)`` with every product in float64, whatever the weights' dtype:
        evaluation mode, ``h ← max(0, h W + b)`` per hidden layer, ``σ(h W + b)`` last.

        A float32 GEMM rounds a row differently in batches of different sizes; in float64
        one image's probability is the same alone or among others to ~1e-15."""
        h = np.asarray(x, dtype=np.float64)
        for layer in self.layers:
            if isinstance(layer, Linear):
                h = h @ layer.params["W"].astype(np.float64) + layer.params["b"]
            elif isinstance(layer, ReLU):
                h = np.maximum(h, 0.0)
        return sigmoid(h[:, 0])

    # -- parameters -------------------------------------------------------------------
    @property
    def dtype(self):
        return self.layers[0].params["W"].dtype

    def parameters(self) -> dict[str, np.ndarray]:
        return {f"{lay.name}.{k}": v for lay in self.layers for k, v in lay.params.items()}

    def gradients(self) -> dict[str, np.ndarray]:
        return {f"{lay.name}.{k}": v for lay in self.layers for k, v in lay.grads.items()}

    def n_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters().values()))

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed by name."""
        return {k: v.copy() for k, v in self.parameters().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters (names and shapes must match exactly)."""
        params = self.parameters()
        missing = sorted(set(params) - set(state))
        extra = sorted(set(state) - set(params))
        if missing or extra:
            raise KeyError(f"state_dict mismatch: missing {missing}, unexpected {extra}")
        for name, p in params.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(f"{name}: shape {value.shape}, expected {p.shape}")
            p[...] = value

    def astype(self, dtype) -> MLP:
        """A copy of the model with parameters cast to ``dtype`` (e.g. float64 for gradcheck)."""
        clone = MLP(self.widths, self.dropout, seed=0, dtype=dtype)
        clone.load_state_dict(self.parameters())
        rng = np.random.default_rng()
        rng.bit_generator.state = self.dropout_rng.bit_generator.state
        clone.set_dropout_rng(rng)
        return clone

    def copy(self) -> MLP:
        return self.astype(self.dtype)

    @classmethod
    def from_state_dict(cls, state: dict[str, np.ndarray], dropout: float = 0.0) -> MLP:
        """Build a model whose widths are read from the ``fcK.W`` shapes in ``state``."""
        n = 0
        while f"fc{n + 1}.W" in state:
            n += 1
        if n == 0:
            raise KeyError("no fc1.W in state_dict")
        widths = [np.shape(state["fc1.W"])[0]]
        widths += [np.shape(state[f"fc{i}.W"])[1] for i in range(1, n + 1)]
        for i in range(2, n + 1):
            if np.shape(state[f"fc{i}.W"])[0] != widths[i - 1]:
                raise ValueError(f"fc{i}.W has shape {np.shape(state[f'fc{i}.W'])}, "
                                 f"expected ({widths[i - 1]}, …)")
        model = cls(widths, dropout=dropout, seed=0, dtype=np.asarray(state["fc1.W"]).dtype)
        model.load_state_dict({k: v for k, v in state.items() if k in model.parameters()})
        return model

    def __repr__(self) -> str:
        arch = "→".join(str(w) for w in self.widths)
        return f"MLP({arch}, dropout={self.dropout}, params={self.n_parameters():,})"


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable σ(z) = 1 / (1 + e^{-z})."""
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out
