"""Regenerate the bundled demo series, src/lvquant/data/demo_series.zip.

Usage::

    python scripts/make_demo_series.py

The demo is phantom subject 0 of population seed 4242 (a seed used by no
training or test set), rendered as a full field-of-view DICOM cine of three
slices (one apical, the mid-ventricular one, one basal) x 20 frames, with the
heart off-centre and turned in-plane, plus its truth.json. The files are
zipped (deflate) to keep the package small; ``lvquant demo`` unpacks them into
a temporary folder.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from lvquant.phantom import PhantomConfig, write_dicom_subject

SEED, INDEX = 4242, 0
OUT = Path(__file__).resolve().parents[1] / "src" / "lvquant" / "data" / "demo_series.zip"


def main() -> None:
    config = PhantomConfig(dicom_slices_apical=(1, 1), dicom_slices_basal=(1, 1))
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_dicom_subject(Path(tmp) / "demo", INDEX, SEED, config)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        OUT.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(OUT, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            for f in files:
                # a fixed timestamp keeps the zip byte-identical from run to run
                info = zipfile.ZipInfo(str(f.relative_to(folder)), date_time=(2026, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, f.read_bytes(), compresslevel=9)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB, {len(files)} files)")


if __name__ == "__main__":
    main()
