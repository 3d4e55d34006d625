"""Networks used by lvquant (created by name, see :func:`lvquant.nets.dla.create_dla`)."""

from .dla import DLA, DLA_VARIANTS, create_dla, fuse_for_inference

__all__ = ["DLA", "DLA_VARIANTS", "create_dla", "fuse_for_inference"]
