"""Silencing third-party readers: the library itself never prints or logs noise."""

from __future__ import annotations

import contextlib
import importlib
import logging
import warnings
from typing import Iterator


@contextlib.contextmanager
def quiet_library(name: str) -> Iterator[None]:
    """Silence the warnings and log messages of library ``name`` (e.g. ``"pydicom"``) inside the block.

    pydicom and nibabel report header oddities (malformed UIDs, header
    "fixes") through both :mod:`warnings` and a logger named after the
    package. The package is imported first, because importing it (pydicom's
    config, for one) resets its logger's level.
    """
    importlib.import_module(name)
    logger = logging.getLogger(name)
    old_level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(old_level)
