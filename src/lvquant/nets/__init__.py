"""Networks used by lvquant (created by name, see :func:`lvquant.nets.dla.create_dla`).

:mod:`lvquant.nets.config` (variant table) and :mod:`lvquant.nets.numpy_dla`
(inference with NumPy) do not import PyTorch; :mod:`lvquant.nets.dla` does.
"""

from .config import DLA_VARIANTS, INPUT_SIZE, N_OUTPUTS, DLAConfig

__all__ = ["DLA", "DLAConfig", "DLA_VARIANTS", "INPUT_SIZE", "N_OUTPUTS", "create_dla", "fuse_for_inference"]


def __getattr__(name: str):
    # The PyTorch network is imported only when asked for (importing torch takes about a second).
    if name in ("DLA", "create_dla", "fuse_for_inference"):
        from . import dla

        return getattr(dla, name)
    raise AttributeError(name)
