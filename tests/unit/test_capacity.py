"""The memory checks (trustsim/capacity.py) by their arithmetic: a batch of markets needs each market's
footprint on each worker, a sweep is judged by its largest point, the suggested --batch fits, and the memory
available is the least of what every limit leaves."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from trustsim import capacity
from trustsim.ensemble import batch_size
from trustsim.errors import ParamError
from trustsim.params import Params


def test_a_market_in_an_ensemble_costs_its_bytes_per_relationship():
    """docs (ensemble.batch_size): about 2.6 KB per relationship, so a market's footprint grows with its buyers and
    their slots alike, by PER_ENSEMBLE_RELATIONSHIP per relationship added."""
    base = Params().replace(**{"market.buyers": 50, "market.slots_per_buyer": 2})
    one = capacity.market_in_ensemble(base)
    more_slots = capacity.market_in_ensemble(base.replace(**{"market.slots_per_buyer": 5}))
    more_buyers = capacity.market_in_ensemble(base.replace(**{"market.buyers": 125}))
    assert more_slots - one == more_buyers - one == 150 * capacity.PER_ENSEMBLE_RELATIONSHIP


def _sweep(points, runs=10_000, **base):
    keys = sorted({k for p in points for k in p})
    return SimpleNamespace(base=Params().replace(**base), keys=keys, points=points, n_runs=runs)


def test_a_batch_is_refused_when_its_markets_on_every_worker_exceed_the_memory_available(monkeypatch):
    """``--batch B`` on ``W`` workers holds B · W markets of the sweep's largest shape at once: refused just above
    the memory available, accepted at it; the --batch the message suggests is accepted and one more is not."""
    sweep = _sweep([{"market.slots_per_buyer": 2}, {"market.slots_per_buyer": 6}], **{"market.buyers": 1000})
    biggest = sweep.base.replace(**{"market.slots_per_buyer": 6})
    largest = capacity.market_in_ensemble(biggest) + capacity.record_in_ensemble(biggest)
    for workers in (1, 3):
        have = 40 * workers * largest
        monkeypatch.setattr(capacity, "memory_available", lambda have=have: have)
        capacity.check_sweep_memory(sweep, 40, workers)
        each = "on one worker" if workers == 1 else "on each of 3 workers"  # not "on each of 1 workers"
        with pytest.raises(ParamError, match=f"41 markets stepped together {each} need about") as err:
            capacity.check_sweep_memory(sweep, 41, workers)
        assert "choose --batch 40 or less" in str(err.value)
        monkeypatch.setattr(capacity, "memory_available", lambda have=have: have + largest // 2)
        with pytest.raises(ParamError, match="choose --batch 40 or less"):
            capacity.check_sweep_memory(sweep, 200, workers)


def test_a_batch_larger_than_the_sweep_is_judged_by_the_runs_it_can_hold(monkeypatch):
    """An 18-run sweep with --batch 1000000 was refused for a million markets on each of two workers ("462 GB;
    choose --batch 48213 or less"): a batch holds at most the sweep's runs, and one batch keeps one worker busy."""
    sweep = _sweep([{"market.slots_per_buyer": 2}], runs=400, **{"market.buyers": 1000})
    one = capacity.market_in_ensemble(sweep.base) + capacity.record_in_ensemble(sweep.base)
    assert capacity.memory_needed(sweep.base) < 399 * one  # the run check passes: the batch is what is judged
    monkeypatch.setattr(capacity, "memory_available", lambda: 400 * one)
    capacity.check_sweep_memory(sweep, 1_000_000, 2)
    monkeypatch.setattr(capacity, "memory_available", lambda: 399 * one)
    with pytest.raises(ParamError, match="400 markets stepped together on one worker need") as err:
        capacity.check_sweep_memory(sweep, 1_000_000, 2)
    print(err.value)
    assert str(err.value).endswith("choose --batch 399 or less")  # fewer workers would not help: one is busy
    with pytest.raises(ParamError, match="200 markets stepped together on each of 2 workers") as err:
        capacity.check_sweep_memory(sweep, 200, 2)  # two batches: both workers busy
    assert str(err.value).endswith("choose --batch 199 or less, or fewer --workers")


def test_a_sweep_is_refused_for_its_largest_point_whichever_size_makes_it_largest(monkeypatch):
    """The run check takes the design point that needs the most memory, by the estimate: here the point with the
    most slots, though another has more buyers."""
    points = [{"market.buyers": 3000, "market.slots_per_buyer": 2},
              {"market.buyers": 2000, "market.slots_per_buyer": 40}]
    sweep = _sweep(points)
    needs = [capacity.memory_needed(sweep.base.replace(**p)) for p in points]
    assert needs[1] > needs[0]
    monkeypatch.setattr(capacity, "memory_available", lambda: (needs[0] + needs[1]) // 2)
    with pytest.raises(ParamError, match="2000 buyers"):
        capacity.check_sweep_memory(sweep, None, 1)
    monkeypatch.setattr(capacity, "memory_available", lambda: needs[1])
    capacity.check_sweep_memory(sweep, None, 1)


def test_the_memory_available_is_the_least_any_limit_leaves(monkeypatch, tmp_path):
    """A container's limit less what its group uses counts when it is less than the system's free memory; the
    room it leaves is its limit minus its usage."""
    limit, usage = tmp_path / "memory.max", tmp_path / "memory.current"
    limit.write_text("3000000000\n")
    usage.write_text("1000000000\n")
    real_open = open
    paths = {"/sys/fs/cgroup/memory.max": limit, "/sys/fs/cgroup/memory.current": usage}
    monkeypatch.setattr(capacity, "open", lambda path, *a, **k: real_open(paths.get(path, path), *a, **k),
                        raising=False)
    assert capacity._cgroup_room() == 2_000_000_000
    monkeypatch.setattr(capacity, "_cgroup_room", lambda: 12345)
    assert capacity.memory_available() == 12345


def test_a_batch_holds_at_most_a_thousand_markets():
    """docs/experiments.md: as many markets as fit the budget, at most 1 000, however small."""
    tiny = Params().replace(**{"market.buyers": 1, "market.suppliers": 1, "market.slots_per_buyer": 1})
    assert batch_size(tiny, budget_bytes=1 << 40) == 1000
    assert batch_size(tiny, runs=10_000, budget_bytes=1 << 40) == 1000


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7])
def test_every_worker_gets_at_least_two_batches(workers):
    """docs/experiments.md: every worker gets at least two batches, so that none runs out of work while another
    still has a long batch to step; with fewer runs than that, every run is a batch of its own."""
    for runs in range(1, 200):
        size = batch_size(Params(), runs=runs, workers=workers)
        batches = -(-runs // size)
        assert batches >= min(runs, 2 * workers), (runs, workers, size, batches)


def test_a_market_s_record_costs_its_bytes_per_step():
    """``PER_ENSEMBLE_STEP`` is the Recorder's row of one market a step (3 groups × the columns × 8 bytes), on the
    safe side by less than a tenth: a column added to the results without it grows the records unseen."""
    from trustsim.metrics import Recorder

    row = Recorder(1000, 3).data.nbytes / (1000 * 3)
    assert row <= capacity.PER_ENSEMBLE_STEP < 1.1 * row
    assert capacity.record_in_ensemble(Params().replace(**{"run.steps": 60_000})) == 60_000 * capacity.PER_ENSEMBLE_STEP


@pytest.mark.parametrize("workers", [1, 2])
def test_a_long_run_s_batch_holds_as_many_records_as_half_the_memory_available_allows(monkeypatch, workers):
    """A batch's markets each keep a record of every step: at the default 1 200 steps the batch is the arrays'
    budget's (about 300 default markets), at 60 000 steps (54 MB a record) as many as half the memory available
    holds, shared by the workers, and no more."""
    have = 4 << 30
    monkeypatch.setattr(capacity, "memory_available", lambda: have)
    short, long = (Params().replace(**{"run.steps": n}) for n in (1200, 60_000))
    assert batch_size(short, workers=workers) == (64 << 20) // capacity.market_in_ensemble(short)
    one = capacity.market_in_ensemble(long) + capacity.record_in_ensemble(long)
    size = batch_size(long, workers=workers)
    assert size * one <= have // (2 * workers) < (size + 1) * one, (size, one)


def test_a_batch_is_refused_when_its_markets_records_exceed_the_memory_available(monkeypatch):
    """``--batch`` counts each market's record of every step: 100 default markets of 60 000 steps on one worker
    need about 5.4 GB, refused with 4 GB available though their arrays take 21 MB."""
    sweep = _sweep([{"market.uncertainty": 0.1}], **{"run.steps": 60_000})
    monkeypatch.setattr(capacity, "memory_available", lambda: 4 << 30)
    with pytest.raises(ParamError, match="100 markets stepped together"):
        capacity.check_sweep_memory(sweep, 100, 1)
    capacity.check_sweep_memory(sweep, 60, 1)


def test_a_sweep_sizes_each_shape_s_batches_for_its_own_markets(monkeypatch):
    """Runs of another size, slots or length never share a batch, and each shape's batches are sized for its own
    markets (``ensemble.batch_size`` of that shape's parameters): a sweep over the number of buyers does not step
    as many of its largest markets together as its base market's size allows, nor a sweep over ``run.steps`` as
    many of its longest runs, whose markets each keep a record of every step; a real-valued factor is one shape,
    sized once, for its base."""
    import trustsim
    from trustsim.experiments import execute

    asked, stepped = [], []
    sizes = {4: 3, 8: 1}  # batch sizes by buyers: 3 of the small markets, 1 of the large

    def batch_size(params, runs, workers):
        asked.append((params.market.buyers, params.run.steps))
        return sizes[params.market.buyers]

    def run_batch(batch):
        stepped.append(sorted({t["factors"].get("market.buyers", 4) for t in batch}) + [len(batch)])
        return [execute.run_one(t) for t in batch]

    monkeypatch.setattr(execute, "batch_size", batch_size)
    monkeypatch.setattr(execute, "run_batch", run_batch)
    small = {"market.suppliers": 2}
    trustsim.sweep(factors={"market.buyers": [4, 8]}, replications=3, steps=5, workers=1, **small)
    assert sorted(asked) == [(4, 5), (8, 5)]
    assert sorted(stepped) == [[4, 3], [8, 1], [8, 1], [8, 1]]  # never mixed; each shape in its own batches
    asked.clear()
    trustsim.sweep(factors={"run.steps": [6, 9]}, workers=1, **small, **{"market.buyers": 4})
    assert sorted(asked) == [(4, 6), (4, 9)]
    asked.clear()
    trustsim.sweep(factors={"market.uncertainty": [0.1, 0.2]}, steps=7, workers=1, **small, **{"market.buyers": 4})
    assert asked == [(4, 7)]


def test_batched_keeps_shapes_apart_and_sizes_each_shape_s_batches_for_its_own_markets(monkeypatch):
    """``ensemble.batched``, which the pattern suite, the structures and a calibration cut their runs with: jobs
    of one shape together in their order, never two shapes in one batch, each shape's batches of its own
    ``batch_size`` (asked for all the jobs' runs on the workers given)."""
    from trustsim import ensemble

    asked = []

    def batch_size(params, runs, workers):
        asked.append((params.market.buyers, runs, workers))
        return {40: 4, 400: 2}[params.market.buyers]

    monkeypatch.setattr(ensemble, "batch_size", batch_size)
    small, large = Params(), Params().replace(**{"market.buyers": 400, "market.suppliers": 40})
    jobs = [(i, small if i % 2 else large) for i in range(12)]
    parts = ensemble.batched(jobs, lambda job: job[1], 3)
    assert [[i for i, _ in part] for part in parts] == [[0, 2], [4, 6], [8, 10], [1, 3, 5, 7], [9, 11]]
    assert asked == [(400, 12, 3), (40, 12, 3)]
