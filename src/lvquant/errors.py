"""Exceptions raised by the lvquant library.

Every error the library raises on bad input derives from :class:`LvquantError`,
so the CLI can turn it into one line and exit code 2. Messages are written for
the person running the tool: they say what is wrong and, where possible, what
to do about it. They never contain patient-identifying header values.
"""


class LvquantError(Exception):
    """Base class of every error lvquant raises on purpose."""


class InputError(LvquantError):
    """The input (file, folder, array) cannot be used as given."""


class ReaderError(InputError):
    """A file or folder could not be read into a cine or a dataset."""


class DicomError(ReaderError):
    """DICOM input is missing, malformed or inconsistent."""


class NiftiError(ReaderError):
    """NIfTI input is missing, malformed or inconsistent."""


class MatFileError(ReaderError):
    """An LVQuan MATLAB file has wrong keys, shapes or values."""


class ContourError(ReaderError):
    """A contour file cannot be parsed or does not describe a closed polygon."""


class MaskError(InputError):
    """Masks cannot be measured (empty, not enclosed, NaN, wrong shape...)."""


class OutputError(LvquantError):
    """An output cannot be written (unwritable folder, existing file...)."""


class LocalisationError(InputError):
    """The left ventricle could not be found in a slice (noise, no heart, no contrast...)."""


class ModelError(InputError):
    """A model folder, manifest or weight file is missing, corrupt or inconsistent, or asks for
    input this version cannot build."""
