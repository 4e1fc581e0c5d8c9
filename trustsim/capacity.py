"""Whether a run fits in this machine's memory, asked before anything is allocated.

The schema allows markets of up to 10 million buyers, which the engine can hold where there is the
memory for them (about 16 GB); on a smaller machine such a run used to die part-way with MemoryError.
So ``trustsim run`` estimates what a run needs from the size of its market and run, compares it with
the memory the machine has free for it, and refuses a run that does not fit with one line saying both.

The estimate is measured, not derived: peak resident memory of ``trustsim run`` (model, tables,
figures, written results) at 1 to 200 000 buyers, 1 000 to 50 000 suppliers, 2 and 10 slots per
buyer, fitted per buyer, per relationship, per supplier and per step, with a quarter added for what
the measurements did not cover; ``tests/cli/test_input_and_conventions.py`` checks it against what a real run
allocates.
"""

from __future__ import annotations

import contextlib
import os

from .errors import ParamError
from .params import Params, resolve_key

MAX_REPLICATIONS = 1_000_000  # runs of one design point, or seeds of any command: a sweep lays its runs out in memory
MAX_WORKERS = 4096  # worker processes of one command: beyond any machine's cores (pool queues count them in C ints)

FIXED = 120 * 2**20          # figures and tables of any run, beyond the libraries already loaded
PER_BUYER = 600              # bytes: the buyer agent, its state and long-run sums, its row of buyers.csv
PER_RELATIONSHIP = 480       # bytes: each buyer-supplier slot's state and this step's events
PER_SUPPLIER = 350           # bytes
PER_STEP = 7_000             # bytes: one step's rows of the time series, the DataCollector, the table
MARGIN = 1.25


PER_ENSEMBLE_RELATIONSHIP = 2600  # bytes: a relationship of a market stepped in an ensemble (``ensemble.py``)
PER_ENSEMBLE_MARKET = 4096
PER_ENSEMBLE_STEP = 900  # bytes: a step's row of a market's record (``metrics.Recorder``: 3 groups × the columns)
SIZE_KEYS = ("market.buyers", "market.slots_per_buyer", "market.suppliers", "run.steps")


def workers_fault(n: int, shown: str | None = None) -> str | None:
    """What is wrong with ``n`` worker processes (``shown``: as a message shows it), or None: the fault of
    ``--workers``, ``workers=`` and a calibration's workers alike."""
    return f"{shown or n} is more than the {MAX_WORKERS} worker processes a command starts" if n > MAX_WORKERS else None


def _sizes(params: Params) -> dict[str, int]:
    m = params.market
    return {"market.buyers": m.buyers, "market.slots_per_buyer": m.slots_per_buyer, "market.suppliers": m.suppliers,
            "run.steps": params.run.steps}


def _needed(sizes: dict[str, int]) -> int:
    relationships = sizes["market.buyers"] * sizes["market.slots_per_buyer"]
    need = (FIXED + PER_BUYER * sizes["market.buyers"] + PER_RELATIONSHIP * relationships
            + PER_SUPPLIER * sizes["market.suppliers"] + PER_STEP * sizes["run.steps"])
    return int(need * MARGIN)


def memory_needed(params: Params) -> int:
    """Bytes a run of these parameters needs at its peak (an estimate, on the safe side)."""
    return _needed(_sizes(params))


def market_in_ensemble(params: Params) -> int:
    """Bytes one market of these parameters takes while stepped in an ensemble (``ensemble.batch_size``)."""
    m = params.market
    return PER_ENSEMBLE_RELATIONSHIP * m.buyers * m.slots_per_buyer + PER_ENSEMBLE_MARKET


def record_in_ensemble(params: Params) -> int:
    """Bytes one market's record of every step takes in an ensemble: kept to the run's end, so it grows with the
    run's steps (about 1 MB at the default 1 200, 54 MB at 60 000), whatever the market's size."""
    return PER_ENSEMBLE_STEP * params.run.steps


def markets_that_fit(one: int, workers: int) -> int | None:
    """How many markets of ``one`` bytes each (arrays and record) a worker may hold at once: half the memory
    available, shared by the ``workers`` (the other half for the processes' tables and what else runs); None
    where the memory available is unknown."""
    have = memory_available()
    return None if have is None else max(have // (2 * max(workers, 1)) // max(one, 1), 1)


def _cgroup_room() -> int | None:
    """What a container's memory limit (cgroup v2, else v1) leaves to this process's group."""
    v1 = "/sys/fs/cgroup/memory/memory."
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         (v1 + "limit_in_bytes", v1 + "usage_in_bytes")):
        try:
            with open(limit) as fh:
                text = fh.read().strip()
            if text == "max" or int(text) >= 2**60:
                return None
            with open(usage) as fh:
                return max(int(text) - int(fh.read().strip()), 0)
        except (OSError, ValueError):
            continue
    return None


def memory_available() -> int | None:
    """Bytes this process may still take: the least of the free memory the system reports
    (``MemAvailable``), a container's limit and the address-space limit; None where unknown."""
    room = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    room.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            room.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    cgroup = _cgroup_room()
    if cgroup is not None:
        room.append(cgroup)
    try:
        # not on every platform
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):  # not POSIX
        soft = None
    if soft is not None and soft != resource.RLIM_INFINITY:
        room.append(max(soft - _address_space_used(), 0))
    return min(room) if room else None


def _address_space_used() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def gigabytes(n: int) -> str:
    """A byte count as GB or MB, for messages."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def check_memory(params: Params, source: str | None = None) -> None:
    """ParamError (one line, exit 2) when a run of ``params`` would not fit in the memory available: asked
    wherever a market is built from parameters (``run``, ``rerun``, ``compare``, ``sweep``, ``patterns``,
    ``trustsim.simulate`` and the other API calls), before anything is allocated, and by ``check``."""
    _refuse_if_short(_sizes(params), source)


def _refuse_if_short(sizes: dict[str, int], source: str | None) -> None:
    need, have = _needed(sizes), memory_available()
    if have is None or need <= have:
        return
    raise ParamError(source, "market.buyers",
                     f"a market of {sizes['market.buyers']} buyers ({sizes['market.slots_per_buyer']} slots each) "
                     f"and {sizes['market.suppliers']} suppliers over {sizes['run.steps']} steps needs about "
                     f"{gigabytes(need)} of memory; this machine has {gigabytes(have)} available; choose a smaller "
                     f"market or run it where there is more")


def check_sweep_memory(sweep, batch: int | None, workers: int, source: str | None = None) -> None:
    """ParamError when the largest market of a sweep's design does not fit (:func:`check_memory`), or when
    ``batch`` such markets stepped together on each of ``workers`` workers (``--batch``) exceed the memory
    available: at most the sweep's runs in a batch, on as many workers as there are batches."""
    base = _sizes(sweep.base)
    keys = {k: ".".join(resolve_key(k)) for k in sweep.keys}
    keys = {k: full for k, full in keys.items() if full in SIZE_KEYS}
    largest = max(({**base, **{full: int(point[k]) for k, full in keys.items()}} for point in sweep.points),
                  key=_needed, default=base) if keys else base
    _refuse_if_short(largest, source)
    have = memory_available()
    if batch is None or have is None:
        return
    one = PER_ENSEMBLE_RELATIONSHIP * largest["market.buyers"] * largest["market.slots_per_buyer"] \
        + PER_ENSEMBLE_MARKET + PER_ENSEMBLE_STEP * largest["run.steps"]
    held = min(batch, sweep.n_runs)  # a batch holds no more markets than the sweep has runs,
    busy = min(workers, -(-sweep.n_runs // held))  # and no more workers step batches than there are batches
    need = held * one * busy
    if need > have:
        fits = max(have // (one * busy), 1)
        each, fewer = ("on one worker", "") if busy == 1 else (f"on each of {busy} workers", ", or fewer --workers")
        raise ParamError("--batch", None, f"{held} markets stepped together {each} need about "
                                          f"{gigabytes(need)} of memory; this machine has {gigabytes(have)} available; "
                                          f"choose --batch {fits} or less{fewer}")


def memory_budget(workers: int, budget_bytes: int) -> int:
    """The bytes a worker's batch may take: ``budget_bytes``, or its share of the memory available if less."""
    have = memory_available()
    return budget_bytes if have is None else max(min(budget_bytes, have // max(workers, 1)), 1)
