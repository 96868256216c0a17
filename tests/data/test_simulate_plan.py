"""simulate_shop(plan=...): the simulator's own expected demand under planned prices and
promotions (the truth the scenario benchmark compares forecasts with)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trendcast.data.simulate import simulate_shop
from trendcast.errors import DataValidationError

KW = {"n_products": 6, "start": "2025-01-01", "end": "2025-03-31", "seed": 4}


def test_planned_cells_follow_the_demand_function_and_other_prices_stay():
    days = pd.date_range("2025-03-10", "2025-03-16")
    cells = pd.DataFrame({"unique_id": np.repeat(["P0001", "P0002"], len(days)), "ds": np.tile(days, 2),
                          "price": 20.0})
    base = simulate_shop(**KW, plan=cells.assign(promo=0.0))
    plan = simulate_shop(**KW, plan=cells.assign(price=18.0, promo=1.0))
    el = base.truth.products.set_index("unique_id")["elasticity"]
    ratio = plan.truth.planned["expected"] / base.truth.planned["expected"]
    expected = 0.9 ** base.truth.planned["unique_id"].map(el) * np.exp(0.1)
    assert np.allclose(ratio, expected)
    plain = simulate_shop(**KW)
    assert plain.truth.planned.empty
    outside = ~plain.sales.set_index(["unique_id", "ds"]).index.isin(cells.set_index(["unique_id", "ds"]).index)
    # prices and promotions elsewhere are the generator's (the unit draws may differ: the
    # Poisson stream runs through every cell)
    cols = ["unique_id", "ds", "price", "promo"]
    pd.testing.assert_frame_equal(plain.sales.loc[outside, cols].reset_index(drop=True),
                                  base.sales.loc[outside, cols].reset_index(drop=True))
    assert plan.sales.loc[~outside, "price"].eq(18.0).all() and plan.sales.loc[~outside, "promo"].eq(1).all()


def test_a_plan_outside_the_shop_is_refused():
    with pytest.raises(DataValidationError, match="1 unknown products"):
        simulate_shop(**KW, plan=pd.DataFrame({"unique_id": ["P0999"], "ds": [pd.Timestamp("2025-02-01")],
                                               "price": [1.0], "promo": [0.0]}))
