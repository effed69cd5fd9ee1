import pandas as pd

from labs.core import charts


def _reads():
    rows = []
    for i in range(4):
        rows.append({"outcome": "miss", "redis_get_us": 40 + i, "db_real_us": 10, "db_simulated_us": 3000 + i,
                     "redis_set_us": 45, "total_us": 3095 + i})
        rows.append({"outcome": "hit", "redis_get_us": 38 + i, "db_real_us": 0, "db_simulated_us": 0,
                     "redis_set_us": 0, "total_us": 38 + i})
    return pd.DataFrame(rows)


def test_breakdown_stacks_each_part_and_marks_the_simulated_one():
    fig = charts.latency_breakdown(_reads())
    names = [t.name for t in fig.data]
    assert names == ["Redis GET (measured)", "SQLite query (measured)", "DB network + query (SIMULATED)",
                     "Redis SET (measured)"]
    simulated = fig.data[2]
    assert simulated.marker.pattern.shape == "/"
    assert dict(zip(simulated.y, simulated.x)) == {"hit": 0, "miss": 3001.5}  # medians
    assert fig.layout.barmode == "stack"


def test_ecdf_has_one_line_per_group_on_a_log_axis():
    fig = charts.latency_ecdf(_reads(), "total_us", "outcome")
    assert sorted(t.name for t in fig.data) == ["hit", "miss"]
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == "time per read (µs)"
