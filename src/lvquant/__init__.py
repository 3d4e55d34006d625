"""lvquant: fully automatic left-ventricle full quantification from cardiac cine MRI.

The product flows one way::

    read (lvquant.io) -> extract -> convert -> predict -> phase -> report

Beside the flow, :mod:`lvquant.geometry` defines the 11 indices from masks or
contours (the single source of truth for what "RWT3" means).
"""

__version__ = "0.1.0"
