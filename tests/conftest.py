"""Test-wide settings.

Hypothesis runs derandomized, so that the suite gives the same result on
every run and machine (CI included); the examples still cover each
strategy's range, and a failing case found while developing with
``HYPOTHESIS_PROFILE=explore`` (random examples) is kept in the example database.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
