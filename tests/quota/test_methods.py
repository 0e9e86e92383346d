"""Quota methods on the sample company: interface, parameters, fallbacks, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.quota import (
    METHODS,
    Blended,
    HistoricalGrowth,
    Probabilistic,
    build_history,
    make_method,
    predictive_draws,
    set_quotas,
)


def test_every_method_fits_with_the_same_interface(hist2026):
    assert set(METHODS) == {
        "history",
        "run_rate",
        "potential",
        "capacity",
        "blend",
        "probabilistic",
    }
    for name in METHODS:
        m = make_method(name).fit(hist2026)
        assert m.basis_.shape == (hist2026.n_pairs,)
        assert m.profile_.shape == (hist2026.n_pairs, 12)
        pred = m.predict()
        assert list(pred.columns) == ["rep_id", "measure", "basis", "has_basis"]
        assert (pred.loc[pred["has_basis"], "basis"] >= 0).all()
        again = make_method({"method": name, **m.get_params()})
        assert again.get_params() == m.get_params()


def test_history_method_equals_last_year_times_growth_for_a_full_year_rep(sample, hist2026):
    h = hist2026
    m = HistoricalGrowth(growth=0.10).fit(h)
    # R0013: AE employed since 2019, full FTE: basis = FY2025 credit x 1.10
    i = np.flatnonzero((h.pairs["rep_id"] == "R0013") & (h.pairs["measure"] == "new_business"))[0]
    last = h.amounts[i, (h.hist_months >= h.plan_months[0] - 12)].sum()
    assert m.basis_[i] == pytest.approx(last * 1.10, rel=1e-9)


def test_history_annualises_part_year_and_part_time(hist2026):
    h = hist2026
    # a rep hired in 2025 has a basis scaled up from the months worked, not last year's raw total
    i = np.flatnonzero(h.pairs["rep_id"] == "R0058")[0]  # AM hired 2025-04-11
    m = HistoricalGrowth(growth=0.0).fit(h)
    raw = h.last_year_actual[i]
    assert m.basis_[i] > raw


def test_blend_weights_are_validated():
    with pytest.raises(SpmConfigError, match="sum to 1"):
        Blended({"history": 0.5, "potential": 0.4})
    with pytest.raises(SpmConfigError, match="unknown"):
        Blended({"history": 0.5, "magic": 0.5})
    with pytest.raises(SpmConfigError, match="non-negative"):
        Blended({"history": 1.5, "potential": -0.5})
    with pytest.raises(SpmConfigError, match="unknown quota method"):
        make_method("astrology")
    with pytest.raises(SpmConfigError, match="aim"):
        Probabilistic(aim=1.2)
    with pytest.raises(SpmConfigError, match="growth"):
        HistoricalGrowth(growth=-1.5)


def test_blend_is_the_weighted_average_of_its_components(hist2026):
    h = hist2026
    b = Blended({"history": 0.3, "potential": 0.7}).fit(h)
    hi = make_method("history").fit(h).basis_
    po = make_method("potential").fit(h).basis_
    both = np.isfinite(hi) & np.isfinite(po)
    np.testing.assert_allclose(b.basis_[both], 0.3 * hi[both] + 0.7 * po[both])
    only_h = np.isfinite(hi) & ~np.isfinite(po)
    np.testing.assert_allclose(b.basis_[only_h], hi[only_h])


def test_probabilistic_quota_is_the_quantile_of_given_draws(hist2026):
    h = hist2026
    rng = np.random.default_rng(3)
    draws = rng.lognormal(12, 0.5, size=(h.n_pairs, 4000))
    m = Probabilistic(aim=0.65, draws=draws).fit(h)
    share = (draws >= m.basis_[:, None]).mean(axis=1)
    np.testing.assert_allclose(share, 0.65, atol=0.002)
    df = pd.DataFrame(draws[:, :50]).assign(rep_id=h.pairs["rep_id"], measure=h.pairs["measure"])
    m2 = Probabilistic(aim=0.5, draws=df).fit(h)
    np.testing.assert_allclose(m2.basis_, np.median(draws[:, :50], axis=1))
    with pytest.raises(SpmConfigError, match="pairs x draws"):
        Probabilistic(draws=draws[:3]).fit(h)


def test_default_predictive_distribution_matches_the_probabilistic_quota(hist2026):
    h = hist2026
    d = predictive_draws(h, n_draws=4000, seed=1)
    assert d.shape == (h.n_pairs, 4000)
    assert np.array_equal(d, predictive_draws(h, n_draws=4000, seed=1))  # reproducible
    q = Probabilistic(aim=0.65).fit(h).basis_
    np.testing.assert_allclose((d >= q[:, None]).mean(axis=1), 0.65, atol=0.04)


def test_reps_without_history_fall_back_to_capacity_and_are_reported(sample):
    res = set_quotas(sample, 2026, "history")
    fb = res.annual[res.annual["source"] == "capacity fallback"]
    assert len(fb) > 0  # 2026 hires have no history
    assert "R0030" in set(fb["rep_id"])  # AE hired 2026-03-18
    assert any("R0030" in n and "capacity-based" in n for n in res.notes)
    assert (res.annual["annual"] >= 0).all()


def test_negative_potential_is_a_clear_error(sample):
    acc = sample.accounts.copy()
    acc.loc[[4, 9], "potential"] = -100.0
    bad = sample.replace(accounts=acc)
    with pytest.raises(SpmDataError) as e:
        build_history(bad, 2026)
    msg = str(e.value)
    assert "2 problem(s)" in msg and "row 6" in msg and "row 11" in msg and "potential" in msg
