"""Run ``lvquant cohort`` on a Slurm cluster: Dask workers as Slurm jobs through dask-jobqueue.

Usage (on a login node, with lvquant installed in a virtual environment the
compute nodes also see, and ``pip install 'lvquant[slurm]'``)::

    python scripts/cohort_on_slurm.py /data/cohort --out /scratch/cohort-out \\
        --jobs 20 --processes 4 --memory 16GB --walltime 02:00:00 [--partition P] [--account A]

Each Slurm job runs ``--processes`` single-threaded Dask workers (one per
core it asks for); this script is the Dask client and scheduler, so it must
keep running until the cohort is done (run it inside ``tmux``/``screen`` or
as a small Slurm job itself). Everything else is ``lvquant cohort``:
resumable, ``--timeout`` per study, failures in ``failed.csv``. The jobs end
when the script ends. See docs/cohort.md.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="folder of studies, or CSV subject_id,path[,slice]")
    ap.add_argument("--out", required=True, help="cohort output folder (on the shared filesystem)")
    ap.add_argument("--jobs", type=int, default=4, help="Slurm jobs to start (default 4)")
    ap.add_argument("--processes", type=int, default=4, help="worker processes (= cores) per job (default 4)")
    ap.add_argument("--memory", default="8GB", help="memory per job (default 8GB: about 1 GB per worker is plenty)")
    ap.add_argument("--walltime", default="02:00:00", help="Slurm time limit of each job (default 02:00:00)")
    ap.add_argument("--partition", help="Slurm partition (queue)")
    ap.add_argument("--account", help="Slurm account to charge")
    ap.add_argument("--timeout", type=float, default=300.0, help="per-study time limit, s (default 300)")
    args = ap.parse_args(argv)

    from dask_jobqueue import SLURMCluster

    from lvquant.cohort import run_cohort
    from lvquant.errors import LvquantError

    cluster = SLURMCluster(cores=args.processes, processes=args.processes, memory=args.memory,
                           walltime=args.walltime, queue=args.partition, account=args.account,
                           job_name="lvquant-cohort",
                           job_script_prologue=["export OMP_NUM_THREADS=1"])
    try:
        cluster.scale(jobs=args.jobs)
        summary = run_cohort(args.input, args.out, scheduler=cluster.scheduler_address, timeout_s=args.timeout)
    except LvquantError as exc:
        print(f"lvquant: error: {exc}", file=sys.stderr)
        return 2
    finally:
        cluster.close()
    print(summary.line())
    return 130 if summary.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
