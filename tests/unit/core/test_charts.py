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


def test_the_write_ecdf_counts_writes_not_reads():
    """Issue 15: the write-latency ECDF's y axis said "fraction of reads ≤ x"."""
    fig = charts.latency_ecdf(_reads(), "total_us", "outcome", x_title="time per write (µs)")
    assert fig.layout.yaxis.title.text == "share of writes ≤ x"
    assert charts.latency_ecdf(_reads(), "total_us", "outcome").layout.yaxis.title.text == "share of reads ≤ x"


def test_a_marker_on_a_log_axis_sits_at_its_value():
    """Issue 15: the miss-ratio curve's slider marker was drawn at log10(size) (≈ 3.8 keys) while its label
    sat at 6,336. On a log axis plotly.js reads a shape's x as data and an annotation's x as log10
    (plotly/plotly.js#6194, test/image/mocks/shapes.json): both must be given so."""
    frame = pd.DataFrame({"capacity": [200, 1000, 10_000], "miss_ratio": [0.6, 0.4, 0.1], "policy": "lru"})
    fig = charts.line_chart(frame, "capacity", "miss_ratio", "policy", x_title="keys", y_title="miss ratio",
                            log_x=True, vline=6336, vline_text="slider")
    (shape,), (note,) = fig.layout.shapes, fig.layout.annotations
    assert shape.x0 == shape.x1 == 6336
    assert abs(note.x - 3.8018) < 1e-3 and note.text == "slider"
    assert fig.layout.xaxis.dtick == 1  # whole decades


def test_log_axes_tick_at_whole_decades():
    """Issue 15: memory-by-encoding's log axes read "100, 2, 5, 1000"."""
    growth = pd.DataFrame({"elements": [1, 10, 100, 1000], "bytes": [72, 150, 1200, 24000], "structure": "hash",
                           "encoding": ["listpack"] * 3 + ["hashtable"], "bytes_per_element": [72, 15, 12, 24]})
    fig = charts.memory_growth(growth)
    assert fig.layout.xaxis.dtick == 1 and fig.layout.yaxis.dtick == 1 and fig.layout.xaxis.tickformat == ","


def test_bar_labels_are_rounded_and_fractions_read_as_percent():
    """Issue 15: bar labels read "0.64538" instead of "64.5 %"."""
    frame = pd.DataFrame({"policy": ["lru", "lfu"], "hit_ratio": [0.64538, 0.6848]})
    fig = charts.compare_bars(frame, "policy", "hit_ratio", y_title="hit ratio", fraction=True)
    assert fig.data[0].texttemplate == "%{y:.1%}" and fig.layout.yaxis.tickformat == ".0%"
    counts = pd.DataFrame({"strategy": ["a", "b"], "queries": [2000, 401]})
    assert charts.compare_bars(counts, "strategy", "queries", y_title="q").data[0].texttemplate == "%{y:,d}"
    rates = pd.DataFrame({"key": ["hot", "hot", "cold", "cold"], "mode": ["default", "BCAST"] * 2,
                          "per_s": [1782.3, 5216.1, 17.9, 0.00123]})
    labels = [list(trace.text) for trace in charts.compare_bars(rates, "key", "per_s", "mode", y_title="m").data]
    assert labels == [["1,782", "17.9"], ["5,216", "0.00123"]]   # never d3's "1.78e+3"
