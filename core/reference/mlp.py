"""The MLP, textbook form: ``Linear → ReLU → Dropout`` blocks, then a ``Linear`` to one
logit. Fast version: :class:`core.nn.MLP` (same layer order, same parameter names, same
dropout draws: one uniform per hidden unit, layer by layer, from one stream).
"""

from __future__ import annotations

import numpy as np

from core.reference.layers import Dropout, Linear, ReLU


class MLP:
    """Built on a dict of parameters ``fc1.W``, ``fc1.b``, … (used, not copied)."""

    def __init__(self, params: dict[str, np.ndarray], dropout: float,
                 rng: np.random.Generator) -> None:
        n = sum(1 for k in params if k.endswith(".W"))
        self.layers: list = []
        for i in range(1, n + 1):
            self.layers.append((f"fc{i}", Linear(params[f"fc{i}.W"], params[f"fc{i}.b"])))
            if i < n:
                self.layers.append((f"relu{i}", ReLU()))
                if dropout > 0:
                    self.layers.append((f"drop{i}", Dropout(dropout, rng)))

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        """``x: (B, n_in)`` → logits ``(B, 1)``."""
        for _, layer in self.layers:
            x = layer.forward(x, train) if isinstance(layer, Dropout) else layer.forward(x)
        return x

    def backward(self, g: np.ndarray) -> dict[str, np.ndarray]:
        """``g = dL/dlogits (B, 1)`` → ``{"fc1.W": dL/dW, …}``."""
        for _, layer in reversed(self.layers):
            g = layer.backward(g)
        return {f"{name}.{k}": v for name, layer in self.layers
                if isinstance(layer, Linear) for k, v in layer.grads.items()}
