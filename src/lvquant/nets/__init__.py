"""Networks used by lvquant (PyTorch; training only).

:mod:`lvquant.nets.config` (the variant table) does not import PyTorch;
:mod:`lvquant.nets.dla` (the network) and :mod:`lvquant.nets.export` (the ONNX
inference graph) do. The analysis runs the exported graph on ONNX Runtime and
imports neither.
"""

from .config import DLA_VARIANTS, N_OUTPUTS, DLAConfig

__all__ = ["DLA", "DLAConfig", "DLA_VARIANTS", "N_OUTPUTS", "create_dla", "fuse_for_inference"]


def __getattr__(name: str):
    # The PyTorch network is imported only when asked for (importing torch takes about a second).
    if name in ("DLA", "create_dla", "fuse_for_inference"):
        from . import dla

        return getattr(dla, name)
    raise AttributeError(name)
