"""Solomon parsing, the independent checker, and a short benchmark run through solve()."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from routing import bench, solomon

pytestmark = pytest.mark.slow

TXT = """TOY

VEHICLE
NUMBER     CAPACITY
  2         10

CUSTOMER
CUST NO.   XCOORD.   YCOORD.    DEMAND   READY TIME   DUE DATE   SERVICE TIME

    0          0       0           0       0         100           0
    1          3       4           6       0          20           5
    2          6       8           4      10          30           5
    3          0      10           5       0          50           5
"""

SOL = """Route #1: 1
Route #2: 2 3
Cost 36.3
"""


@pytest.fixture
def toy(tmp_path: Path) -> solomon.Instance:
    (tmp_path / "TOY.txt").write_text(TXT)
    (tmp_path / "TOY.sol").write_text(SOL)
    return solomon.parse_instance(tmp_path / "TOY.txt")


def test_parse(toy: solomon.Instance, tmp_path: Path):
    assert (toy.name, toy.vehicles, toy.capacity, len(toy.nodes)) == ("TOY", 2, 10, 4)
    assert toy.nodes[2] == solomon.Customer(2, 6.0, 8.0, 4, 10, 30, 5)
    assert solomon.parse_solution(tmp_path / "TOY.sol") == [[1], [2, 3]]


def test_route_length_is_exact_euclidean(toy: solomon.Instance):
    # 0 -> 1 -> 2 -> 0: 5 + 5 + 10; 0 -> 3 -> 0: 10 + 10; 0 -> 2 -> 3 -> 0: 10 + sqrt(40) + 10.
    assert solomon.total_length(toy, [[1, 2], [3]]) == pytest.approx(40.0)
    assert solomon.total_length(toy, [[2, 3]]) == pytest.approx(20 + 40**0.5)


def test_checker_accepts_a_valid_solution(toy: solomon.Instance):
    # Route 1: at 1 at t=5 (window 0-20), leave 10, at 2 at 15 (window 10-30), back at 30.
    assert solomon.check(toy, [[1, 2], [3]]) == []
    assert solomon.check(toy, [[1], [2, 3]]) == []


def test_checker_catches_missing_and_duplicate_customers(toy: solomon.Instance):
    assert solomon.check(toy, [[1, 2]]) == ["customer 3 not visited"]
    assert "customer 2 visited more than once" in solomon.check(toy, [[1, 2], [3, 2]])


def test_checker_catches_a_late_arrival(toy: solomon.Instance):
    # Customer 1 due at 4 but 5 away from the depot: served at 5 at the earliest.
    early = solomon.Instance("EARLY", 2, 10, (toy.nodes[0], solomon.Customer(1, 3, 4, 6, 0, 4, 5), *toy.nodes[2:]))
    assert solomon.check(early, [[1], [2, 3]]) == ["route 1: customer 1 served at 5.000 after its due time 4"]
    # Customer 2 opens at 10: reached at 10 first, it is on time; after 3 (at 10, leaving 15,
    # sqrt(40) = 6.32 away) it is served at 21.32, still before its due time 30.
    assert solomon.check(toy, [[1], [3, 2]]) == []


def test_checker_catches_over_capacity_and_too_many_routes(toy: solomon.Instance):
    assert solomon.check(toy, [[1, 3], [2]]) == ["route 1: load 11 exceeds capacity 10"]
    assert solomon.check(toy, [[1], [2], [3]])[0] == "3 routes for 2 vehicles"


def test_checker_catches_a_late_return(toy: solomon.Instance):
    late = solomon.Instance("LATE", 2, 10, (solomon.Customer(0, 0, 0, 0, 0, 25, 0), *toy.nodes[1:]))
    assert solomon.check(late, [[1, 2], [3]]) == ["route 1: back at the depot at 30.000 after 25"]


def test_to_problem_scales_and_rounds_travel_up(toy: solomon.Instance):
    problem = solomon.to_problem(toy)
    assert problem.durations[1][2] == 5000  # exact 5.0
    assert problem.stops[0].windows[0].end == 20 * solomon.SCALE
    assert [s.demand for s in problem.stops] == [6, 4, 5]
    assert len(problem.shifts) == 2 and problem.shifts[0].capacity == 10


def test_bench_solves_the_toy_optimally(toy: solomon.Instance, tmp_path: Path):
    # Optimum: [1] and [2, 3] (or [3, 2]); [1, 2] + [3] costs 40, [1, 3] is over capacity.
    row = bench.run_instance(tmp_path / "TOY.txt", time_limit=1)
    assert row["feasible"] and row["distance"] == pytest.approx(10 + (20 + 40**0.5), abs=1e-3)
    assert row["gap"] == pytest.approx(0.0, abs=1e-6)


def _solomon_dir() -> Path:
    data = bench.data_dir(None)
    if not (data / "R101.txt").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Solomon data missing at {data} (set JEMPUT_SOLOMON_DIR)")
        pytest.skip(f"Solomon data not present at {data}")
    return data


def test_bench_command_on_real_instances(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = _solomon_dir()
    out = tmp_path / "out.json"
    code = bench.main(["R101", "RC201", "--time-limit", "2", "--data", str(data), "--out", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    assert [r["instance"] for r in result["results"]] == ["R101", "RC201"]
    for row in result["results"]:
        inst = solomon.parse_instance(data / f"{row['instance']}.txt")
        assert solomon.check(inst, row["routes"]) == []
        assert row["distance"] == pytest.approx(solomon.total_length(inst, row["routes"]), abs=1e-3)
        assert row["gap"] < 0.05
    assert "mean gap" in capsys.readouterr().out
