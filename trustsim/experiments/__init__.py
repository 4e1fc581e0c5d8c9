"""Batch experiments: designs, replications, seeds, executors, a journal to resume from, shards.

A sweep file is a scenario with a ``[sweep]`` table; ``trustsim sweep FILE`` runs it. One module per job:

- ``design``: the sweep file validated once, its design points (grid, Latin hypercube, Sobol, Morris),
  run seeds and shards;
- ``execute``: the executors (this process, a process pool, Dask), the progress line, the loop that keeps
  the workers busy, and what consumes its runs: :func:`run_sweep` (a folder with its journal) and
  :func:`sweep_tables` (the tables in memory, for the Python API);
- ``worker``: one run, or a batch of runs as an ensemble, in a worker;
- ``journal``: the folder's state, the journal of finished runs (``--resume``) and the final tables;
- ``analysis``: the runs table, means over replications, SALib sensitivity indices;
- ``figures``: the sweep's figures;
- ``shards``: the folders of ``--shard`` runs combined into one (``merge``).

The names below are loaded from their module on first use: ``trustsim sweep`` reads and checks a sweep file
(``design``) before the executors, the engine and the writers are loaded.
"""

from ..lazy import lazy_names

# each public name and its module, loaded on first use (__getattr__): a mistake in a sweep file is told at once
_LAZY = {
    **dict.fromkeys(("metric_columns", "point_means", "point_table", "runs_frame", "sensitivity"), ".analysis"),
    **dict.fromkeys(("DEFAULT_METRICS", "DESIGNS", "ID_COLUMNS", "METRIC_COLUMNS", "Factor", "Sweep", "build_sweep",
                     "layout", "load_sweep", "parse_shard", "run_seed", "shard_ids", "tasks"), ".design"),
    **dict.fromkeys(("FAIL_ENV", "metric_row", "run_one", "run_sweep", "sweep_tables"), ".execute"),
    **dict.fromkeys(("JOURNAL", "STATE", "Journal", "prepare_folder", "read_journal"), ".journal"),
    "merge": ".shards",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY)

__all__ = ["DEFAULT_METRICS", "DESIGNS", "FAIL_ENV", "ID_COLUMNS", "JOURNAL", "METRIC_COLUMNS", "STATE",
           "Factor", "Journal", "Sweep", "build_sweep", "layout", "load_sweep", "merge", "metric_columns",
           "metric_row", "parse_shard", "point_means", "point_table", "prepare_folder", "read_journal", "run_one",
           "run_seed", "run_sweep", "runs_frame", "sensitivity", "shard_ids", "sweep_tables", "tasks"]
