from __future__ import annotations

import numpy as np
import pytest

from conftest import two_speed_shop
from trendcast.features.elasticity import ELASTICITY_RANGE, price_effect, product_elasticities


def test_price_effect_hand_worked():
    # -2 x log(0.9) = 0.210721: a 10% cut lifts log demand by 0.2107 (x1.2346)
    got = price_effect(np.array([-2.0, -0.5, -1.0, -1.0, -1.0]),
                       np.array([0.9, 0.9, 1.0, np.nan, 0.0]))
    assert got == pytest.approx([0.210721, 0.052680, 0.0, 0.0, 0.0], abs=1e-6)


def test_product_elasticities_recovers_each_product_and_pools_the_flat_one():
    df = two_speed_shop({"A": -0.5, "B": -2.5, "C": -1.5, "F": -1.0}, flat=("F",))
    est, pooled = product_elasticities(df)
    assert est["A"] == pytest.approx(-0.5, abs=0.15)
    assert est["B"] == pytest.approx(-2.5, abs=0.2)
    assert est["C"] == pytest.approx(-1.5, abs=0.2)
    # no price change: the pooled value, inside the range of the others
    assert est["F"] == pytest.approx(pooled)
    assert -2.5 < pooled < -0.5


def test_no_price_variation_anywhere_gives_nothing():
    df = two_speed_shop({"A": -1.0, "B": -2.0}, flat=("A", "B"))
    assert product_elasticities(df) is None
    assert product_elasticities(df.drop(columns="price")) is None


def test_estimates_are_clipped_to_a_sane_range():
    lo, hi = ELASTICITY_RANGE
    df = two_speed_shop({"A": -9.0, "B": -1.0, "C": -1.2})
    est, _ = product_elasticities(df)
    assert est.between(lo, hi).all() and est["A"] == lo
