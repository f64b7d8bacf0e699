"""Network layers shared by the tracking models."""
from ltr_slt.models.layers.prroi_pool import PrRoIPool2D, prroi_pool2d

__all__ = ["PrRoIPool2D", "prroi_pool2d"]
