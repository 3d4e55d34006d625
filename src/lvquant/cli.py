"""The ``lvquant`` command line: parses arguments, calls the library, prints.

Every command turns a library error (:class:`lvquant.errors.LvquantError`) into
one line on stderr and exit code 2; nothing is half-written (outputs are
written atomically, see :mod:`lvquant.outputs`). ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Callable, Sequence

from . import __version__
from .errors import InputError, LvquantError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised through main()
        self.exit(EXIT_BAD_INPUT, f"lvquant: error: {message} (see 'lvquant {self.prog.split()[-1]} --help')\n"
                  if " " in self.prog else f"lvquant: error: {message} (see 'lvquant --help')\n")


def _emit(text: str, out: str | None) -> None:
    """Print ``text`` or write it atomically to ``out``."""
    if out:
        from .outputs import write_text_atomic

        write_text_atomic(out, text)
    else:
        sys.stdout.write(text)


def _format_rows(rows, fmt: str, payload: dict | None = None) -> str:
    from .tables import to_csv, to_json, to_text_table

    if fmt == "csv":
        return to_csv(rows)
    if fmt == "json":
        return to_json(payload if payload is not None else rows)
    return to_text_table(rows)


# --------------------------------------------------------------------------- info
def _cmd_info(args: argparse.Namespace) -> int:
    from .info import describe

    _emit(describe(args.input, series_uid=args.series, spacing_mm=_parse_spacing(args.spacing), as_json=args.json), None)
    return EXIT_OK


# ------------------------------------------------------------------------ measure
def _cmd_measure(args: argparse.Namespace) -> int:
    from . import measure_cmd

    spacing = _parse_spacing(args.spacing)
    if args.example:
        rows, payload = measure_cmd.measure_example()
    elif args.sunnybrook:
        if not args.dicom:
            raise InputError("--sunnybrook needs --dicom DIR: the DICOM folder the contours were drawn on (for pixel spacing and frame order)")
        rows, payload = measure_cmd.measure_sunnybrook(args.sunnybrook, args.dicom, spacing_mm=spacing)
    elif args.endo:
        rows, payload = measure_cmd.measure_files(args.endo, args.epi, spacing_mm=spacing, dicom=args.dicom)
    else:
        raise InputError("nothing to measure: give --endo FILE [--epi FILE], --sunnybrook DIR --dicom DIR, or --example")
    _emit(_format_rows(rows, args.format, payload), args.out)
    _warn(payload.get("warnings", []))
    return EXIT_OK


def _warn(warnings: Sequence[str]) -> None:
    """Warnings go to stderr (never into the table/CSV on stdout)."""
    for w in warnings:
        print(f"lvquant: warning: {w}", file=sys.stderr)


# -------------------------------------------------------------------------- train
def _cmd_train(args: argparse.Namespace) -> int:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise InputError("training needs PyTorch, which is not installed: pip install 'lvquant[train]'")
    from .io import read_lvquan
    from .train import TrainConfig, prepare, train_ensemble
    from .weights_io import sha256_file

    from .datasets.files import is_crop_file, read_crops

    sha = sha256_file(args.data) if Path(args.data).is_file() else None
    if is_crop_file(args.data):
        from .train import prepare_crops

        crops = read_crops(args.data)
        data = prepare_crops(crops, description=f"{Path(args.data).name}: {len(crops)} real slices of "
                             f"{len(set(zip(crops.sources, crops.subjects)))} patients x {crops.images.shape[1]} frames",
                             sha256=sha)
    else:
        dataset = read_lvquan(args.data)
        data = prepare(dataset, description=f"{Path(args.data).name}: {dataset.n_subjects} subjects x "
                       f"{dataset.n_frames} frames", sha256=sha)
    network = args.network
    if network is None and args.init is not None:  # fine-tuning keeps the --init folder's network
        from .weights_io import read_manifest

        network = read_manifest(args.init)["network"]
    overrides = {k: v for k, v in {"epochs": args.epochs, "seed": args.seed, "network": network,
                                   "intensity": args.intensity, "threads": args.threads,
                                   "patience": args.patience, "batch_size": args.batch_size, "lr": args.lr,
                                   "warmup_epochs": args.warmup}.items()
                 if v is not None}
    if args.flip:
        overrides["flip"] = True
    if args.rotate is not None:
        overrides["rotate_deg"] = args.rotate
    if args.no_augment:
        overrides["augment"] = False
    config = TrainConfig.quick(**overrides) if args.quick else TrainConfig(**overrides)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=args.folds * config.epochs, desc="training", unit="epoch", file=sys.stderr)

    def progress(rec: dict) -> None:
        if bar is not None:
            bar.set_postfix(fold=rec["fold"], val=f"{rec['val_loss']:.3f}", best=rec["best_epoch"])
            bar.update(1)

    try:
        manifest = train_ensemble(data, args.out, n_folds=args.folds, split=args.split, config=config,
                                  name=args.name, init=args.init, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    cv = manifest["training"]["cross_validation"]
    print(f"trained {len(manifest['models'])} models in {manifest['training']['seconds']:.0f} s -> {args.out}")
    print(f"cross-validated: areas {cv['areas_mae_mm2']:.1f} mm2, dims {cv['dims_mae_mm']:.2f} mm, "
          f"RWT {cv['rwt_mae_mm']:.2f} mm, phase error {100 * (cv['phase_error'] or 0):.1f} %")
    return EXIT_OK


# ------------------------------------------------------------------------ dataset
def _cmd_dataset(args: argparse.Namespace) -> int:
    from .analysis.predict import Ensemble
    from .datasets.collect import collect_crops, read_split
    from .datasets.files import save_crops
    from .outputs import check_writable_dir

    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise InputError(f"--out must name an .npz file; got {args.out}")
    patients = read_split(args.split, args.part)
    if args.acdc is None:
        patients["acdc"] = []
    if args.sunnybrook is None:
        patients["sunnybrook"] = []
    if not patients["acdc"] and not patients["sunnybrook"]:
        raise InputError("give --acdc DIR and/or --sunnybrook DIR: the pack folders to read")
    phantom = None
    if args.phantom is not None:
        from .io import read_lvquan

        phantom = read_lvquan(args.phantom)
    check_writable_dir(out.parent if str(out.parent) else Path("."), create=False)
    ensemble = Ensemble.load(args.models)
    spec = ensemble.spec
    bar = _progress_bar(len(patients["acdc"]) + len(patients["sunnybrook"]), "patients", args.quiet)
    try:
        crops = collect_crops(patients, spec, acdc_dir=args.acdc, sunnybrook_dir=args.sunnybrook, slices=args.slices,
                              sunnybrook_spacing_mm=args.sunnybrook_spacing,
                              ensemble=ensemble if args.size_without_epicardium == "models" else None,
                              progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if phantom is not None:
        from .datasets import CropSet
        from .datasets.collect import phantom_pairs

        crops = CropSet.concatenate([crops, phantom_pairs(phantom, spec, name=Path(args.phantom).stem)])
    save_crops(crops, out)
    n_patients = len(set(zip(crops.sources, crops.subjects)))
    print(f"wrote {len(crops)} slices of {n_patients} patients ({args.part}, {args.slices}) to {out}; "
          "it holds image crops: keep it out of any repository")
    return EXIT_OK


# ----------------------------------------------------------------------- evaluate
def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .analysis.predict import Ensemble
    from .evaluate import evaluate_cross_validated, evaluate_dataset
    from .io import read_lvquan
    from .tables import to_json
    from .weights_io import sha256_file

    # Options are checked before the data file is read (it may be large).
    if args.cv and args.models is None:
        raise InputError("--cv needs --models DIR: the folder written by 'lvquant train' on this data")
    members = None if args.members is None else _parse_members(args.members)
    from .datasets.files import is_crop_file

    if is_crop_file(args.data):
        return _evaluate_crops(args, members)
    dataset = read_lvquan(args.data)
    bar = _progress_bar(dataset.n_subjects, "evaluating", args.json or args.quiet)
    try:
        if args.cv:
            sha = sha256_file(args.data) if Path(args.data).is_file() else ""
            result = evaluate_cross_validated(dataset, args.models, sha, phase_method=args.phase_method,
                                              progress=bar.update if bar is not None else None)
        else:
            ens = Ensemble.load(args.models, members=members)
            result = evaluate_dataset(dataset, ens, phase_method=args.phase_method, progress=bar.update if bar is not None else None)
            result["models"] = ens.identity
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        sys.stdout.write(to_json(result))
    else:
        print(f"{result['n_subjects']} subjects, {result['n_frames']} frames{' (cross-validated)' if args.cv else ''}")
        print(_metrics_text(result))
    return EXIT_OK


def _fmt(v, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


def _metrics_text(m: dict) -> str:
    pe = m["phase_error"]
    lines = [f"areas MAE {_fmt(m['areas_mae_mm2'], '.1f')} mm2 | dims MAE {_fmt(m['dims_mae_mm'], '.2f')} mm | "
             f"RWT MAE {_fmt(m['rwt_mae_mm'], '.2f')} mm | phase error {'n/a' if pe is None else f'{100 * pe:.1f} %'}",
             "index      MAE      r     bias  rel.bias  rel.MAE"]
    for name, mae in m["mae"].items():
        rb, rm = m["relative_bias"][name], m["relative_mae"][name]
        lines.append(f"{name:<6} {_fmt(mae, '>8.2f')} {_fmt(m['pearson'][name], '>6.3f')} {_fmt(m['bias'][name], '>8.2f')}"
                     f" {'n/a' if rb is None else f'{100 * rb:>7.1f}%'} {'n/a' if rm is None else f'{100 * rm:>7.1f}%'}")
    return "\n".join(lines)


def _evaluate_crops(args: argparse.Namespace, members: list[int] | None) -> int:
    """lvquant evaluate on a crop file of real patients (lvquant dataset)."""
    from .analysis.predict import Ensemble
    from .datasets.files import read_crops
    from .evaluate import crop_metrics, predict_crops, trained_folds
    from .tables import to_json
    from .weights_io import sha256_file

    crops = read_crops(args.data)
    ens = Ensemble.load(args.models, members=members)
    folds = trained_folds(ens, sha256_file(args.data), len(crops)) if args.cv else None
    bar = _progress_bar(len(crops), "evaluating", args.json or args.quiet)
    try:
        pred = predict_crops(crops, ens, folds=folds, progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    result = crop_metrics(crops, pred, phase_method=args.phase_method)
    result["models"] = ens.identity
    result["cross_validated"] = bool(args.cv)
    if args.json:
        sys.stdout.write(to_json(result))
        return EXIT_OK
    for title, part in [("mid slices, all sources", result["mid"]), ("every ring slice, all sources", result["all_rows"])] + \
            [(f"mid slices, {s}", v["mid"]) for s, v in result["by_source"].items()]:
        if part is None:
            continue
        print(f"== {title}: {part['n_patients']} patients, {part['n_frames']} frames{' (cross-validated)' if args.cv else ''}")
        print(_metrics_text(part))
    print("== mid slices by group: A1 MAE mm2 / bias % | A2 MAE mm2 / bias %")
    for g, part in result["by_group"].items():
        if part is not None:
            rb1, rb2 = part["relative_bias"]["A1"], part["relative_bias"]["A2"]
            print(f"{g:<18} {part['n_patients']:>3} patients  A1 {_fmt(part['mae']['A1'], '.0f')} / "
                  f"{'n/a' if rb1 is None else f'{100 * rb1:+.1f}'} | A2 {_fmt(part['mae']['A2'], '.0f')} / "
                  f"{'n/a' if rb2 is None else f'{100 * rb2:+.1f}'}")
    return EXIT_OK


def _parse_members(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise InputError(f"--members must be model numbers like '0' or '0,2'; got {text!r}") from None


# ------------------------------------------------------------------------ analyze
def _cmd_analyze(args: argparse.Namespace) -> int:
    from .analyze_cmd import analyze_path

    p = Path(args.input)
    several = p.is_file() and p.suffix.lower() in (".mat", ".npz")  # LVQuan files: one analysis per subject
    bar = _progress_bar(None, "subjects", args.quiet or not several)
    try:
        text = analyze_path(
            args.input, out=args.out, slice_index=args.slice, series_uid=args.series,
            spacing_mm=_parse_spacing(args.spacing), rv_angle_deg=args.rv_angle, models=args.models,
            phase_method=args.phase_method, figures=not args.no_figures, as_json=args.json,
            localiser=args.localiser, progress=bar.update if bar is not None else None,
            whole_heart=args.whole_heart, height_cm=args.height, weight_kg=args.weight, borders=not args.no_borders,
        )
    finally:
        if bar is not None:
            bar.close()
    sys.stdout.write(text)
    return EXIT_OK


# ------------------------------------------------------------------------- cohort
def _cmd_cohort(args: argparse.Namespace) -> int:
    from .cohort import StudyOptions, merge_cohorts, parse_shard, run_cohort

    if args.merge:
        if args.input is not None or args.shard is not None:
            raise InputError("--merge takes shard output folders, not an INPUT or --shard")
        n_done, n_failed = merge_cohorts(args.merge, args.out)
        print(f"merged {len(args.merge)} folder(s): {n_done} studies in {Path(args.out) / 'cohort.csv'}, "
              f"{n_failed} in failed.csv")
        return EXIT_OK
    if args.input is None:
        raise InputError("give a cohort INPUT (a folder of studies or a CSV) or --merge DIR...")
    options = StudyOptions(models=args.models, localiser=args.localiser, phase_method=args.phase_method,
                           overwrite=args.overwrite, whole_heart=args.whole_heart, borders=not args.no_borders)
    state: dict = {"bar": None}

    def plan(todo: int, skipped: int) -> None:
        state["bar"] = _progress_bar(todo, "studies", args.quiet, unit="study")

    def step(outcome: dict) -> None:
        if state["bar"] is not None:
            state["bar"].update(1)

    try:
        summary = run_cohort(args.input, args.out, options=options, retry_failed=args.retry_failed,
                             shard=parse_shard(args.shard) if args.shard is not None else None,
                             scheduler=args.scheduler, n_workers=args.workers, timeout_s=args.timeout,
                             on_plan=plan, on_outcome=step)
    finally:
        if state["bar"] is not None:
            state["bar"].close()
    print(summary.line())
    if summary.failed:
        print(f"failures and their reasons: {Path(args.out) / 'failed.csv'}")
    print(f"table: {Path(args.out) / 'cohort.csv'}; review: {Path(args.out) / 'qc.html'}")
    if summary.interrupted:
        print("lvquant: interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .analyze_cmd import run_demo

    sys.stdout.write(run_demo(args.out, figures=not args.no_figures))
    return EXIT_OK


# ------------------------------------------------------------------------ phantom
def _cmd_phantom(args: argparse.Namespace) -> int:
    from .phantom import PhantomConfig, write_phantoms
    from .phantom.config import parse_pathology_mix

    stack = {}
    for name, value in (("apical", args.apical_slices), ("basal", args.basal_slices)):
        if value is None:
            continue
        if args.format != "dicom":
            raise InputError(f"--{name}-slices needs --format dicom (the LVQuan layout holds the mid slice only)")
        if not 0 <= value <= 6:
            raise InputError(f"--{name}-slices must be 0 to 6; got {value}")
        stack[f"dicom_slices_{name}"] = (value, value)
    if args.mix is not None:
        stack["pathology_mix"] = parse_pathology_mix(args.mix)
    config = PhantomConfig(**stack)
    bar = _progress_bar(args.subjects, "phantom subjects", args.quiet)
    try:
        written = write_phantoms(
            args.out, n_subjects=args.subjects, seed=args.seed, fmt=args.format, workers=args.workers,
            n_frames=args.frames, progress=bar.update if bar is not None else None, config=config,
        )
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        print(f"wrote {args.subjects} phantom subject(s) to {written}")
    return EXIT_OK


def _progress_bar(total: int | None, desc: str, quiet: bool, unit: str = "subject"):
    if quiet:
        return None
    from tqdm import tqdm

    # delay: a request refused before any work starts prints its one error line and no bar.
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, delay=0.5)


# -------------------------------------------------------------------------- utils
def _parse_spacing(text: str | None) -> tuple[float, float] | None:
    """'1.5' -> (1.5, 1.5); '1.4,1.6' -> (1.4, 1.6) (row, column spacing in mm)."""
    if text is None:
        return None
    from .spacing import check_pixel_spacing

    try:
        parts = [float(p) for p in text.replace("x", ",").split(",") if p.strip()]
    except ValueError:
        raise InputError(f"--spacing must be a number or two numbers 'ROW,COL' in mm; got {text!r}") from None
    return check_pixel_spacing(parts[0] if len(parts) == 1 else parts, what="--spacing")


def build_parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="lvquant", description="Left-ventricle full quantification from cardiac cine MRI.")
    p.add_argument("--version", action="version", version=f"lvquant {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)

    info = sub.add_parser("info", help="describe a cine (DICOM folder/files, NIfTI, LVQuan .mat)",
                          description="Slices (in the order lvquant uses them) with positions, frames, image size, "
                                      "pixel spacing and frame timing. Nothing patient-identifying is shown.")
    info.add_argument("input", help="DICOM folder or file, .nii/.nii.gz, or LVQuan .mat/.npz")
    info.add_argument("--series", metavar="UID", help="DICOM SeriesInstanceUID to describe (default: the short-axis cine)")
    info.add_argument("--spacing", metavar="MM", help="pixel spacing to use when the header has none: 'MM' or 'ROW,COL'")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(func=_cmd_info)

    m = sub.add_parser("measure", help="indices from contours or masks (e.g. Sunnybrook manual contours)",
                       description="Measure the 11 LV indices (A1, A2, D1-D3, RWT1-6) from borders drawn by hand "
                                   "or masks, following the LVQuan definitions.")
    src = m.add_argument_group("what to measure (one of)")
    src.add_argument("--example", action="store_true", help="measure a built-in synthetic example (no files needed)")
    src.add_argument("--sunnybrook", metavar="DIR", help="Sunnybrook contour folder (with i-contours/ and o-contours/)")
    src.add_argument("--endo", metavar="FILE", help="endocardial border: contour .txt ('x y' per line) or mask .npy/.nii[.gz]")
    m.add_argument("--epi", metavar="FILE", help="epicardial border (same kinds as --endo); without it A2 and RWT are not measured")
    m.add_argument("--dicom", metavar="DIR", help="DICOM folder the borders belong to (pixel spacing, frame order)")
    m.add_argument("--spacing", metavar="MM", help="pixel spacing in mm: 'MM' or 'ROW,COL' (overrides headers)")
    m.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: table)")
    m.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    m.set_defaults(func=_cmd_measure)

    tr = sub.add_parser("train", help="train the DLA ensemble by cross-validation on LVQuan-layout data",
                        description="Train N networks (one per fold) on a labelled LVQuan .mat/.npz file; writes "
                                    "safetensors weights, manifest.json and cross-validated predictions to --out. "
                                    "Resumable: rerun the same command to continue.")
    tr.add_argument("--data", required=True, metavar="FILE",
                    help="labelled LVQuan .mat/.npz (e.g. from 'lvquant phantom') or a crop file of 'lvquant dataset'")
    tr.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    tr.add_argument("--folds", type=int, default=5, metavar="N", help="number of folds = networks (default 5)")
    tr.add_argument("--split", choices=("kmeans", "contiguous"), default="kmeans", help="fold construction (default kmeans)")
    tr.add_argument("--epochs", type=int, metavar="E", help="maximum epochs per fold")
    tr.add_argument("--patience", type=int, metavar="P", help="early-stopping patience in epochs")
    tr.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    tr.add_argument("--batch-size", type=int, metavar="B", help="frames per step, mixed over subjects (default 32)")
    tr.add_argument("--lr", type=float, metavar="RATE", help="peak learning rate (default 0.002)")
    tr.add_argument("--warmup", type=float, metavar="E", help="learning-rate warm-up in epochs (default 1; 0 when fine-tuning)")
    tr.add_argument("--init", metavar="DIR", help="fine-tune: start fold k from model k of this model folder")
    tr.add_argument("--network", metavar="NAME", help="DLA variant: dla-tiny, dla-small (default; with --init, that folder's), dla-small-wide, "
                    "dla-base; with --init, a variant wider than its networks grows from them (lvquant.nets.widen)")
    tr.add_argument("--intensity", choices=("equalize", "percentile"), help="input normalisation (default equalize)")
    tr.add_argument("--flip", action="store_true", help="also augment with vertical flips (labels permuted)")
    tr.add_argument("--rotate", type=float, metavar="DEG",
                    help="also rotate about a third of the subjects by up to DEG degrees, learning only their areas "
                         "from them (default 0: no rotation)")
    tr.add_argument("--no-augment", action="store_true", help="train without augmentation")
    tr.add_argument("--threads", type=int, metavar="N", help="CPU threads for torch")
    tr.add_argument("--quick", action="store_true", help="tiny network, 2 epochs: a smoke run in seconds")
    tr.add_argument("--name", default="custom", help="name recorded in the manifest")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    tr.set_defaults(func=_cmd_train)

    ds = sub.add_parser("dataset", help="cut training/evaluation crops from labelled real cine MRI",
                        description="Read the labelled patients of one part of a split (ACDC and Sunnybrook packs), "
                                    "cut each mid slice (or every slice whose myocardium is a closed ring) as the "
                                    "models' input spec says, measure the 11 indices on the labels and write one "
                                    ".npz for 'lvquant train' and 'lvquant evaluate'. Missing labels are stored "
                                    "as missing, never as zero.")
    ds.add_argument("--split", required=True, metavar="FILE", help="split file, e.g. splits/real_v1.json")
    ds.add_argument("--part", required=True, choices=("train", "test"), help="which patients of the split")
    ds.add_argument("--acdc", metavar="DIR", help="ACDC pack folder (patientNNN.npz + patients.csv)")
    ds.add_argument("--sunnybrook", metavar="DIR", help="Sunnybrook pack folder (SC-*.npz + patients.csv)")
    ds.add_argument("--slices", choices=("mid", "rings"), default="mid", help="mid slice only (default) or every ring slice")
    ds.add_argument("--sunnybrook-spacing", type=float, default=1.4, metavar="MM",
                    help="pixel spacing assumed for Sunnybrook packs, which keep none (default 1.4)")
    ds.add_argument("--phantom", metavar="FILE", help="also the ED and ES frames of every subject of this labelled "
                    "phantom file ('lvquant phantom --format npz'), to train on real and phantom together")
    ds.add_argument("--models", metavar="DIR", help="model folder whose input spec to cut by (default: the shipped one)")
    ds.add_argument("--size-without-epicardium", choices=("models", "walls"), default="walls",
                    help="crop side of a slice without an epicardial label (Sunnybrook): 'walls' (default) takes the "
                         "cavity's diameter plus two 9 mm walls; 'models' cuts as the analysis does, at the spec's "
                         "scale x the --models ensemble's predicted ED epicardial diameter")
    ds.add_argument("--out", required=True, metavar="FILE.npz", help="file to write (outside any repository)")
    ds.add_argument("--quiet", action="store_true", help="no progress bar")
    ds.set_defaults(func=_cmd_dataset)

    ev = sub.add_parser("evaluate", help="LVQuan metrics of an ensemble on labelled data",
                        description="MAE per index and per group (areas, dims, RWT), Pearson r, phase error rate.")
    ev.add_argument("--data", required=True, metavar="FILE", help="labelled LVQuan .mat/.npz, or a crop file of 'lvquant dataset'")
    ev.add_argument("--models", metavar="DIR", help="model folder (default: the shipped ensemble)")
    ev.add_argument("--members", metavar="K[,K]", help="use only these models of the folder (e.g. 0 for a single model)")
    ev.add_argument("--cv", action="store_true", help="cross-validated: each subject by the model that did not train on it")
    ev.add_argument("--phase-method", choices=("poly", "argmax"), default="poly", help="phase rule (default poly)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=_cmd_evaluate)

    an = sub.add_parser("analyze", help="measure the LV on every frame of a cine and write a report",
                        description="Find the mid-ventricular slice and the LV, predict the 11 indices of every "
                                    "frame with the DLA ensemble, find ED/ES and systole/diastole, and write "
                                    "result.json, result.csv, curve.png, overlay.png and report.html to --out.")
    an.add_argument("input", help="DICOM folder or files, .nii/.nii.gz, or LVQuan .mat/.npz (one report per subject)")
    an.add_argument("--out", metavar="DIR", help="report folder (default: print the summary only)")
    an.add_argument("--slice", type=int, metavar="K", help="slice to analyse, as numbered by 'lvquant info' (default: automatic)")
    an.add_argument("--series", metavar="UID", help="DICOM SeriesInstanceUID (default: the short-axis cine)")
    an.add_argument("--rv-angle", type=float, metavar="DEG",
                    help="direction of the RV from the LV, degrees clockwise from 12 o'clock (default: estimated)")
    an.add_argument("--spacing", metavar="MM", help="pixel spacing when the header has none: 'MM' or 'ROW,COL'")
    an.add_argument("--models", metavar="DIR", help="model folder (default: the shipped ensemble)")
    an.add_argument("--phase-method", choices=("poly", "argmax"), default="poly", help="phase rule (default poly)")
    an.add_argument("--localiser", choices=("learned", "classic"), default="learned",
                    help="what finds the LV: the shipped network (default) or the hand-made localiser")
    an.add_argument("--whole-heart", action="store_true",
                    help="also measure every slice holding the LV: EDV, ESV, SV, EF, LV mass, AHA 16 segments")
    an.add_argument("--height", type=float, metavar="CM", help="body height, to index volumes and mass (with --weight)")
    an.add_argument("--weight", type=float, metavar="KG", help="body weight, to index volumes and mass (with --height)")
    an.add_argument("--no-borders", action="store_true", help="do not run the border network (no borders, no QC flag)")
    an.add_argument("--no-figures", action="store_true", help="write only result.json and result.csv (and, with "
                    "--whole-heart, volumes.csv and segments.csv)")
    an.add_argument("--json", action="store_true", help="print result.json instead of the summary")
    an.add_argument("--quiet", action="store_true", help="no progress bar")
    an.set_defaults(func=_cmd_analyze)

    co = sub.add_parser("cohort", help="analyse many studies on Dask: one report folder each, cohort.csv, qc.html",
                        description="Analyse every study of INPUT (a folder with one sub-folder or NIfTI file per "
                                    "study, or a CSV subject_id,path[,slice]) on a Dask cluster (default: a local "
                                    "one, one process per core). Writes DIR/studies/<subject>/ (what 'analyze' "
                                    "writes), DIR/cohort.csv, DIR/failed.csv and DIR/qc.html. Studies already "
                                    "complete in DIR are skipped, so an interrupted run resumes. See docs/cohort.md.")
    co.add_argument("input", nargs="?", help="folder of studies, or CSV with subject_id,path[,slice]")
    co.add_argument("--out", required=True, metavar="DIR", help="cohort output folder")
    co.add_argument("--overwrite", action="store_true", help="redo every study, also those complete in DIR")
    co.add_argument("--retry-failed", action="store_true", help="try again the studies an earlier run failed "
                    "(default: they keep their line in failed.csv)")
    co.add_argument("--shard", metavar="I/N", help="only every N-th study from the I-th (0-based), e.g. for a Slurm "
                    "array job: --shard $SLURM_ARRAY_TASK_ID/$N")
    co.add_argument("--merge", nargs="+", metavar="DIR", help="instead of analysing: build one cohort.csv, "
                    "failed.csv and qc.html in --out from these shard output folders")
    co.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    co.add_argument("--scheduler", metavar="ADDR", help="run on this Dask scheduler (tcp://HOST:PORT) instead of "
                    "a local cluster")
    co.add_argument("--timeout", type=float, default=300.0, metavar="S",
                    help="per-study time limit in seconds; a study over it is stopped and failed (default 300, 0: none)")
    co.add_argument("--models", metavar="DIR", help="model folder (default: the shipped ensemble)")
    co.add_argument("--phase-method", choices=("poly", "argmax"), default="poly", help="phase rule (default poly)")
    co.add_argument("--localiser", choices=("learned", "classic"), default="learned", help="what finds the LV")
    co.add_argument("--whole-heart", action="store_true",
                    help="also measure every LV slice of each study: EDV, ESV, SV, EF, LV mass, AHA segments in "
                         "cohort.csv")
    co.add_argument("--no-borders", action="store_true", help="do not run the border network")
    co.add_argument("--quiet", action="store_true", help="no progress bar")
    co.set_defaults(func=_cmd_cohort)

    de = sub.add_parser("demo", help="analyse the bundled synthetic DICOM series and write its report",
                        description="Runs 'lvquant analyze' on a synthetic cine series shipped with lvquant "
                                    "and compares the result with the phantom's exact truth.")
    de.add_argument("--out", default="lvquant-demo", metavar="DIR", help="report folder (default ./lvquant-demo)")
    de.add_argument("--no-figures", action="store_true", help="write only result.json and result.csv")
    de.set_defaults(func=_cmd_demo)

    ph = sub.add_parser("phantom", help="generate synthetic cine MRI with exact ground truth",
                        description="Synthetic mid-ventricular cine MRI subjects with exact indices: LVQuan-layout "
                                    "80x80 crops (.mat/.npz) or full field-of-view DICOM series with truth.json.")
    ph.add_argument("--subjects", type=int, default=1, metavar="N", help="number of subjects (default 1)")
    ph.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    ph.add_argument("--format", choices=("mat", "npz", "dicom"), default="npz", help="output format (default npz)")
    ph.add_argument("--frames", type=int, default=20, metavar="M", help="frames per cycle (default 20)")
    ph.add_argument("--workers", type=int, default=None, metavar="W", help="worker processes (default: up to 2)")
    ph.add_argument("--out", required=True, metavar="PATH", help="output file (.mat/.npz) or folder (dicom)")
    ph.add_argument("--apical-slices", type=int, default=None, metavar="N",
                    help="DICOM: N slices below the mid slice, toward and past the apex (default 1 or 2; 0-6)")
    ph.add_argument("--basal-slices", type=int, default=None, metavar="N",
                    help="DICOM: N slices above the mid slice, toward the base (default 1 or 2; 0-6); "
                         "e.g. --apical-slices 5 --basal-slices 4 for a 10-slice stack for analyze --whole-heart")
    ph.add_argument("--mix", default=None, metavar="MIX",
                    help="shares of the heart types, e.g. hypertrophic=1 (only hypertrophic hearts) or "
                         "hypertrophic=3,healthy=1 (default healthy=0.40,hypertrophic=0.15,dilated=0.20,infarct=0.25)")
    ph.add_argument("--quiet", action="store_true", help="no progress bar")
    ph.set_defaults(func=_cmd_phantom)
    return p


def _terminate_as_interrupt():
    """Handle SIGTERM (what timeout, batch schedulers, systemd and docker send) like Ctrl-C.

    Returns the previous handler (None when not in the main thread, where
    handlers cannot be set).
    """
    import signal
    import threading

    def interrupt(signum, frame):  # noqa: ARG001 - the signal handler's signature
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    func: Callable[[argparse.Namespace], int] = args.func
    previous = _terminate_as_interrupt()
    try:
        with warnings.catch_warnings():
            if not args.debug:  # one line on stderr: NumPy's RuntimeWarnings on odd input are not it
                warnings.simplefilter("ignore", RuntimeWarning)
            return func(args)
    except LvquantError as exc:
        if args.debug:
            raise
        print(f"lvquant: error: {' '.join(str(exc).split())}", file=sys.stderr)  # one line, always
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("lvquant: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: one line, not a traceback (unless --debug)
        if _caused_by_interrupt(exc):  # e.g. Ctrl-C inside an import, which NumPy turns into an ImportError
            print("lvquant: interrupted", file=sys.stderr)
            return 130
        if args.debug:
            raise
        print(f"lvquant: internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:500]} "
              "(rerun with --debug and report it)", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if previous is not None:
            import signal

            if argv is None:  # the program: its outputs are complete; finishing the exit is not interruptible
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            else:  # called from Python (tests, scripts): give the caller its handler back
                signal.signal(signal.SIGTERM, previous)


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether an exception was raised while handling a KeyboardInterrupt (the interrupt is the real cause)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
