"""distill streams its source; a batch with one bad item fails only that item."""

import asyncio
import json

import pytest

from aurelia_local.app.distill import _remaining, run_streamed


class Source:
    """An endless source that counts how many items were taken from it."""

    def __init__(self, stop: int):
        self.pulled = 0
        self.stop = stop

    def __iter__(self):
        while self.pulled < self.stop:
            self.pulled += 1
            yield self.pulled


def test_a_long_source_is_pulled_only_as_slots_free_up():
    source, width = Source(1000), 4
    state = {"running": 0, "peak": 0, "done": 0, "ahead": 0}

    async def work(item):
        state["running"] += 1
        state["peak"] = max(state["peak"], state["running"])
        # how far the source ran ahead of the finished work when this item started
        state["ahead"] = max(state["ahead"], source.pulled - state["done"])
        await asyncio.sleep(0.001 * (item % 3))
        state["running"] -= 1
        state["done"] += 1

    asyncio.run(run_streamed(iter(source), work, width))
    assert state["done"] == source.pulled == 1000
    assert state["peak"] == width and state["ahead"] <= width


def test_a_failure_stops_new_work_and_lets_work_in_flight_finish():
    source, finished = Source(1000), []

    async def work(item):
        if item == 3:
            raise ConnectionError("server went away")
        await asyncio.sleep(0.01)
        finished.append(item)

    with pytest.raises(ConnectionError, match="went away"):
        asyncio.run(run_streamed(iter(source), work, 4))
    assert source.pulled == 4  # nothing taken from the source after the failure
    assert sorted(finished) == [i for i in (1, 2, 4) if i <= source.pulled]


def test_progress_total_counts_manifest_lines_without_parsing_them(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\n".join([json.dumps({"id": str(i)}).encode() for i in range(7)] + [b"", b"\xff{"]))
    assert _remaining(path, None, 0) == 8  # the broken line becomes an error record: it counts
    assert _remaining(path, 5, 2) == 3 and _remaining(path, None, 9) == 0
    assert _remaining(tmp_path, None, 0) is None  # a Daily-Omni folder: total unknown up front


def test_a_failing_batch_is_retried_item_by_item_and_only_the_bad_item_fails():
    from aurelia_local.engines.isolate import each_or_error

    calls = []

    def square(items):
        calls.append(list(items))
        if "bad" in items:
            raise ValueError("cannot square 'bad'")
        return [x * x for x in items]

    assert each_or_error(square, [1, 2]) == [1, 4] and calls == [[1, 2]]
    results = each_or_error(square, [3, "bad", 4])
    assert results[0] == 9 and results[2] == 16 and isinstance(results[1], ValueError)
    assert calls[1:] == [[3, "bad", 4], [3], ["bad"], [4]]
    with pytest.raises(ValueError):  # a fatal type is raised, not recorded
        each_or_error(square, ["bad"], fatal=(ValueError,))
