"""Hand-written layers and the MLP."""

from core.nn.layers import Dropout, Layer, Linear, ReLU
from core.nn.model import MLP

__all__ = ["MLP", "Dropout", "Layer", "Linear", "ReLU"]
