"""The few image operations an analysis needs, in numpy, giving scipy.ndimage's very numbers.

An analysis (``lvquant analyze``) used to import :mod:`scipy.ndimage` for five functions; that
import alone takes 0.25-0.45 s on the 2-core VM (SciPy 1.17 rewrites the docstrings of every
ndimage function at import and clones numpy's namespace), a fifth of the whole-heart budget. These
are those five, written so that their outputs are **bit for bit** scipy's (same kernel, same
order of float64 operations, same label numbering; tested against scipy in
``tests/test_image_ops.py``, property tests included). Training, the phantom and the hand-made
localiser keep using scipy itself.

- :func:`gaussian_filter1d`, :func:`gaussian_filter`: scipy's ``mode="nearest"``, ``truncate=4``.
- :func:`map_linear`: ``map_coordinates(order=1, prefilter=False)`` with ``mode="nearest"`` or
  ``"constant"``.
- :func:`label`: ``label`` with 4- or 8-connectivity (labels numbered in raster order of each
  piece's first pixel).
- :func:`fill_holes`: ``binary_fill_holes`` (its default 4-connected background).

and :func:`largest_piece`, the mask clean-up both the border network's masks and
:mod:`lvquant.geometry` use.
"""

from __future__ import annotations

import numpy as np

#: scipy's Gaussian kernel reaches ``truncate`` sigmas.
TRUNCATE = 4.0


def _gaussian_kernel(sigma: float) -> tuple[np.ndarray, int]:
    """(2r + 1,) normalised Gaussian weights and the radius r, as scipy computes them."""
    radius = int(TRUNCATE * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (float(sigma) * float(sigma)) * x ** 2)
    return phi / phi.sum(), radius


def gaussian_filter1d(a: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """Gaussian blur of ``a`` along ``axis`` (edges replicated), in ``a``'s float dtype.

    Sums in float64 the centre, then the pairs of pixels at equal distance from the outermost
    inwards (scipy's symmetric-kernel loop), and rounds once to the input's dtype. A stack is
    blurred one image at a time along the other axes: small arrays stay in the cache, where one
    large float64 copy of the stack is several times slower.
    """
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number of pixels, not {sigma!r}")
    a = np.asarray(a)
    axis = axis % a.ndim
    out = np.empty(a.shape, dtype=a.dtype if a.dtype.kind == "f" else np.float64)
    weights, r = _gaussian_kernel(sigma)
    if a.ndim > 2 and axis != 0:
        for k in range(a.shape[0]):
            out[k] = _blur_along(a[k], weights, r, axis - 1)
    else:
        out[...] = _blur_along(a, weights, r, axis)
    return out


def _blur_along(a: np.ndarray, weights: np.ndarray, r: int, axis: int) -> np.ndarray:
    """float64 correlation of ``a`` with the symmetric ``weights`` (2r + 1) along ``axis``, edges replicated."""
    n = a.shape[axis]
    pad = [(0, 0)] * a.ndim
    pad[axis] = (r, r)
    padded = np.pad(a.astype(np.float64), pad, mode="edge")

    def window(shift: int) -> np.ndarray:  # the padded pixels ``shift`` places from each output pixel
        index = [slice(None)] * a.ndim
        index[axis] = slice(r + shift, r + shift + n)
        return padded[tuple(index)]

    acc = window(0) * weights[r]
    pair = np.empty_like(acc)
    for j in range(r, 0, -1):  # scipy's order: the outermost pair first
        np.add(window(-j), window(j), out=pair)
        pair *= weights[r - j]
        acc += pair
    return acc


def gaussian_filter(a: np.ndarray, sigmas: float | tuple[float, ...]) -> np.ndarray:
    """:func:`gaussian_filter1d` along every axis in turn (an axis of sigma 0 is left alone)."""
    a = np.asarray(a)
    sig = np.broadcast_to(np.asarray(sigmas, dtype=np.float64), (a.ndim,))
    out = a
    for axis, s in enumerate(sig):
        if s > 1e-15:
            out = gaussian_filter1d(out, float(s), axis)
    return out if out is not a else a.copy()


def map_linear(image: np.ndarray, coords: np.ndarray, mode: str = "nearest", cval: float = 0.0) -> np.ndarray:
    """Bilinear samples of a 2-D ``image``, or of every image of a (T, H, W) stack, at ``coords``
    (2, ...) (row, col; fractional pixels).

    ``mode="nearest"``: a point beyond the image takes the nearest edge's values; ``"constant"``:
    a point outside ``[0, H-1] × [0, W-1]`` is ``cval``. Returns ``image``'s float dtype (float64
    for an integer image), of shape ``coords.shape[1:]`` (``(T,) + coords.shape[1:]`` for a stack).
    """
    if mode not in ("nearest", "constant"):
        raise ValueError(f"mode must be 'nearest' or 'constant', not {mode!r}")
    img = np.asarray(image)
    if img.ndim not in (2, 3):
        raise ValueError(f"map_linear takes an (H, W) image or a (T, H, W) stack; got shape {img.shape}")
    h, w = img.shape[-2:]
    r = np.asarray(coords[0], dtype=np.float64)
    c = np.asarray(coords[1], dtype=np.float64)
    r0, c0 = np.floor(r), np.floor(c)
    tr, tc = r - r0, c - c0
    r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
    wr, wc = (1.0 - tr, 1.0 - (1.0 - tr)), (1.0 - tc, 1.0 - (1.0 - tc))  # scipy's weights, rounding included
    flat = img.reshape(img.shape[:-2] + (h * w,))
    acc = np.zeros(img.shape[:-2] + r.shape)  # the four corners added in scipy's order, from 0
    for i in (0, 1):
        rows = np.clip(r0 + i, 0, h - 1) * w
        for j in (0, 1):
            term = flat[..., rows + np.clip(c0 + j, 0, w - 1)].astype(np.float64)
            term *= wr[i]
            term *= wc[j]
            acc += term
    if mode == "constant":
        acc = np.where((r < 0) | (r > h - 1) | (c < 0) | (c > w - 1), float(cval), acc)
    return acc.astype(img.dtype if img.dtype.kind == "f" else np.float64)


def label(mask: np.ndarray, eight: bool = True) -> tuple[np.ndarray, int]:
    """Connected pieces of a 2-D boolean ``mask``: (int32 labels 1..n, 0 outside; n).

    ``eight``: diagonal neighbours connect (scipy's ``structure=np.ones((3, 3))``); otherwise
    only the four edge neighbours (scipy's default). Pieces are numbered in raster order of their
    first pixel, as scipy numbers them. Works on the mask's runs: the touching runs of neighbouring
    rows found with numpy, then joined by union-find.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"label takes a 2-D mask; got shape {m.shape}")
    h, w = m.shape
    edges = np.diff(np.pad(m, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    run_row, run_start = np.nonzero(edges == 1)
    run_stop = np.nonzero(edges == -1)[1]
    n_runs = len(run_row)
    labels = np.zeros((h, w), dtype=np.int32)
    if n_runs == 0:
        return labels, 0
    # Run a (row y - 1) touches run b (row y) when start_a < stop_b + reach and start_b < stop_a + reach.
    # Keys that sort the runs in raster order put those a in one interval of indices for each b.
    reach = 1 if eight else 0
    stride = w + 4
    key_start, key_stop = run_row * stride + run_start, run_row * stride + run_stop
    above = (run_row - 1) * stride
    lo = np.searchsorted(key_stop, above + run_start - reach, side="right")
    hi = np.searchsorted(key_start, above + run_stop + reach, side="left")
    count = np.where(run_row > 0, np.maximum(hi - lo, 0), 0)
    b = np.repeat(np.arange(n_runs), count)
    a = np.repeat(lo, count) + (np.arange(b.size) - np.repeat(np.cumsum(count) - count, count))
    parent = list(range(n_runs))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for ia, ib in zip(a.tolist(), b.tolist()):
        ra, rb = root(ia), root(ib)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the root stays the piece's first run
    roots = np.array([root(k) for k in range(n_runs)])
    firsts, number = np.unique(roots, return_inverse=True)
    length = run_stop - run_start
    first_pixel = np.repeat(run_row * w + run_start - (np.cumsum(length) - length), length)
    labels.ravel()[first_pixel + np.arange(first_pixel.size)] = np.repeat(number + 1, length)
    return labels, int(len(firsts))


def largest_piece(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """The largest 8-connected piece of a 2-D boolean ``mask`` (the first in raster order among equals)
    and the number of pieces; the mask itself when it has at most one."""
    lab, n = label(mask, eight=True)
    if n <= 1:
        return mask, n
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab == int(np.argmax(sizes)), n


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background region that does not reach the image's edge (4-connected)
    filled, as :func:`scipy.ndimage.binary_fill_holes` does."""
    m = np.asarray(mask, dtype=bool)
    lab, n = label(~m, eight=False)
    if n == 0:
        return m.copy()
    outside = np.zeros(n + 1, dtype=bool)
    outside[np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))] = True
    outside[0] = False
    return m | ~outside[lab] & (lab > 0)
