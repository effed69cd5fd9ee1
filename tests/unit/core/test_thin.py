"""charts.thin: a few hundred points per group that read the same as thousands (quantiles, ends, groups)."""
import numpy as np
import pandas as pd

from labs.core.charts import thin


def test_thin_keeps_every_quantile_within_one_step_and_the_extremes():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"us": np.concatenate([rng.lognormal(3, 1, 5000), rng.lognormal(5, 0.5, 3000)]),
                          "strategy": ["a"] * 5000 + ["b"] * 3000})
    small = thin(frame, "us", "strategy", points=200)
    assert small.groupby("strategy").size().to_dict() == {"a": 200, "b": 200}
    for name, part in frame.groupby("strategy"):
        kept = small[small.strategy == name].us.to_numpy()
        assert kept.min() == part.us.min() and kept.max() == part.us.max()
        for q in (0.5, 0.95, 0.99):  # the ECDF of the kept points, read at the full sample's quantile
            exact = np.quantile(part.us, q)
            assert abs((kept <= exact).mean() - q) <= 1 / 200 + 1e-9


def test_thin_leaves_small_frames_alone_and_sorts_lines_by_x():
    frame = pd.DataFrame({"t": [3, 1, 2], "v": [30, 10, 20]})
    assert thin(frame, "t", points=300).t.tolist() == [1, 2, 3]
    assert len(thin(pd.DataFrame({"t": range(1000)}), "t", points=400)) == 400
