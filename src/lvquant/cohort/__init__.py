"""Cohorts: many studies analysed on Dask, resumable and shardable, with one table and one QC page.

Data flow: :mod:`.studies` (what the input holds) -> :mod:`.run` (the client:
what is left, submission, time limits, dead workers) -> :mod:`.work` (on each
worker: read -> analyse -> report folder) -> :mod:`.tables` / :mod:`.qc`
(``cohort.csv``, ``failed.csv``, ``qc.html`` from the folders on disk).

Output folder layout::

    DIR/studies/<subject_id>/   what 'lvquant analyze --out' writes, complete or absent
    DIR/qc/<subject_id>.jpg     contact-sheet thumbnail
    DIR/failed/<subject_id>.txt the one-line reason a study failed (until it succeeds)
    DIR/cohort.csv DIR/failed.csv DIR/qc.html
"""

from .run import CohortSummary, run_cohort
from .studies import Study, find_studies, parse_shard, select_shard
from .tables import write_tables
from .work import StudyOptions, analyse_study

__all__ = ["CohortSummary", "run_cohort", "Study", "find_studies", "parse_shard", "select_shard", "write_tables",
           "StudyOptions", "analyse_study", "merge_cohorts"]


def merge_cohorts(folders, out) -> tuple[int, int]:
    """One ``cohort.csv`` / ``failed.csv`` / ``qc.html`` in ``out`` from several shard outputs.

    The study folders stay where they are (``qc.html`` links to them).
    Returns (complete studies, open failures).

    Raises:
        InputError: a folder is not a cohort output folder.
        OutputError: ``out`` cannot be written.
    """
    from pathlib import Path

    from ..outputs import check_writable_dir
    from .run import check_output_folder

    dirs = [check_output_folder(f) for f in folders]
    return write_tables(dirs, check_writable_dir(Path(out)))
