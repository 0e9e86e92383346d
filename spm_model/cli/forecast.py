"""``spm forecast``, ``spm forecast-backtest`` and ``spm warmup``."""

from __future__ import annotations

from pathlib import Path

import typer

from spm_model.cli.progress import Display, quiet_option
from spm_model.forecast.config import (
    AUTO_COMMON_INDEX_MIN_SERIES,
    AUTO_COMMON_INDEX_MIN_SHARE,
    AUTO_REFITS,
    ForecastConfig,
)

_DEFAULT = {name: f.default for name, f in ForecastConfig.model_fields.items()}


def _refits_option() -> typer.models.OptionInfo:
    """Return the ``--refits`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["refits"],
        min=0,
        max=5,
        help="Fit again, more carefully, up to this many times when the convergence checks "
        f"fail (default: {AUTO_REFITS} with the default draws, 0 when --draws is given).",
    )


def _model_option() -> typer.models.OptionInfo:
    """Return the ``--model`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["model"],
        help="Bayesian model: auto (state_space for >= 36 months of history, 48 beyond 200 "
        "series, with < 10% zero months, else regression), regression or state_space.",
    )


def _seasonality_option() -> typer.models.OptionInfo:
    """Return the ``--seasonality`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["seasonality"],
        help="State-space model: fixed (default), evolving (exponential smoothing's "
        "seasonal gain) or evolving_common (evolving, every series from the shared pattern).",
    )


def _season_deviations_option() -> typer.models.OptionInfo:
    """Return the ``--season-deviations`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["season_deviations"],
        help="State-space model: each series' seasonal deviations normal (default) or "
        "student_t (heavy tails: one series with a far stronger season keeps it).",
    )


def _drift_option() -> typer.models.OptionInfo:
    """Return the ``--drift`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["drift"],
        help="State-space model: the long-run slope of the series' trends: shared, per_series "
        "(each its own, pooled) or auto (per_series for 2-12 series, else shared).",
    )


def _level_regime_option() -> typer.models.OptionInfo:
    """Return the ``--level-regime`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["level_regime"],
        "--level-regime",
        help="State-space model: the level noise's half-year regimes: shared (with the "
        "observation noise), own (a walk of its own) or auto (own for 20 series or more).",
    )


def _common_index_option() -> typer.models.OptionInfo:
    """Return the ``--common-index`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["common_index"],
        "--common-index",
        help="State-space model: split off the movement all series share and forecast it as a "
        "series of its own (honest intervals of totals; wider per-series intervals, slower "
        f"fits): off (default), on or auto (on for {AUTO_COMMON_INDEX_MIN_SERIES} series or more "
        f"where it explains {AUTO_COMMON_INDEX_MIN_SHARE:.0%} or more of their year-on-year "
        "changes beyond chance).",
    )


def _common_movement_option() -> typer.models.OptionInfo:
    """Return the ``--common-movement`` option of the commands that fit the Bayesian model."""
    return typer.Option(
        _DEFAULT["common_movement"],
        "--common-movement",
        help="State-space model: a path of its own inside the model for the movement all "
        "series share (a shock every series felt moves one path; slower fits): off (default) "
        "or on.",
    )


def _load(
    data: Path,
    columns: str | None = None,
    layout: str = "auto",
    sum_duplicates: bool = False,
) -> tuple:
    """Load a dataset, or a monthly panel file (returned as the fit source, no dataset)."""
    from spm_model.data import load_dataset
    from spm_model.errors import SpmConfigError
    from spm_model.forecast.panel_file import is_panel_file, parse_columns, read_panel

    if is_panel_file(data):
        return None, read_panel(
            data,
            columns=parse_columns(columns),
            layout=layout,  # type: ignore[arg-type]
            duplicates="sum" if sum_duplicates else "error",
        )
    if columns or layout != "auto" or sum_duplicates:
        raise SpmConfigError(
            "--columns, --layout and --sum-duplicates read a panel file (.csv, .parquet or a "
            "workbook without dataset sheets), "
            f"not the dataset {data}"
        )
    ds = load_dataset(data)
    return ds, ds


def _panel_notes(source: object) -> list[str]:
    """Return what reading a panel file did that the user should know (wide, summed rows)."""
    import pandas as pd

    if not isinstance(source, pd.DataFrame):
        return []
    notes = []
    if source.attrs.get("layout") == "wide":
        notes.append(f"read as a wide panel: {source['rep_id'].nunique()} series (one a column)")
    if source.attrs.get("summed_rows"):
        notes.append(f"summed {source.attrs['summed_rows']:,} rows into the month of their series")
    return notes


#: How to read a panel file (both forecasting commands): option -> (flag, default, help).
_PANEL_OPTIONS = {
    "columns": (
        "--columns",
        None,
        "Panel file: the file's column for each panel column, e.g. "
        "rep_id=store,month=date,bookings=sales (also team, region, hire_date, end_date).",
    ),
    "layout": (
        "--layout",
        "auto",
        "Panel file: long (a row per series and month), wide (a column per series, a row per "
        "month) or auto (wide when there are no rep_id and bookings columns and the first "
        "column holds months).",
    ),
    "sum_duplicates": (
        "--sum-duplicates",
        False,
        "Panel file: add up the rows of one series and month (daily or transaction data) "
        "instead of stopping.",
    ),
}


def _panel_option(name: str) -> typer.models.OptionInfo:
    """Return a fresh option of :data:`_PANEL_OPTIONS` (each command gets its own)."""
    flag, default, help_text = _PANEL_OPTIONS[name]
    return typer.Option(default, flag, help=help_text)


def register(app: typer.Typer) -> None:
    """Add the forecasting commands to ``app``."""

    @app.command("forecast")
    def forecast_cmd(
        data: Path = typer.Option(
            ...,
            "--data",
            help="Dataset (folder of CSV/Parquet, .xlsx, .duckdb) or a monthly panel file "
            "(.csv/.parquet/.xlsx: rep_id, month, bookings[, team, region, hire_date, end_date]; "
            "see --columns and --layout).",
        ),
        horizon: int = typer.Option(
            6, "--horizon", min=1, max=36, help="Months to forecast after the cut-off."
        ),
        out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
        measure: str | None = typer.Option(
            None, help="Plan measure to forecast (default: all bookings)."
        ),
        cutoff: str | None = typer.Option(
            None, help="Last month used for fitting, YYYY-MM (default: last complete month)."
        ),
        draws: int | None = typer.Option(
            _DEFAULT["draws"],
            min=10,
            help="Posterior draws per chain (default: 2000 regression model, 1500 state space).",
        ),
        tune: int = typer.Option(_DEFAULT["tune"], min=0, help="Warm-up iterations per chain."),
        refits: int | None = _refits_option(),
        chains: int = typer.Option(2, min=1, help="Markov chains."),
        sampler: str = typer.Option("auto", help="auto, nutpie, pymc or advi."),
        target_accept: float = typer.Option(
            _DEFAULT["target_accept"], help="NUTS target acceptance rate."
        ),
        likelihood: str = typer.Option(
            _DEFAULT["likelihood"], help="Amounts: generalized_gamma, gamma, student_t or normal."
        ),
        seed: int = typer.Option(20240101, help="Seed of the sampler and of the predictive draws."),
        model: str = _model_option(),
        seasonality: str = _seasonality_option(),
        season_deviations: str = _season_deviations_option(),
        drift: str = _drift_option(),
        level_regime: str = _level_regime_option(),
        common_index: str = _common_index_option(),
        common_movement: str = _common_movement_option(),
        plan: Path | None = typer.Option(
            None, help="Plan YAML: also write expected and P90 commission accruals."
        ),
        columns: str | None = _panel_option("columns"),
        layout: str = _panel_option("layout"),
        sum_duplicates: bool = _panel_option("sum_duplicates"),
        quiet: bool = quiet_option(),
    ) -> None:
        """Fit the Bayesian model and write draws (NetCDF), summary CSVs and plots to OUT."""
        import matplotlib

        matplotlib.use("Agg")
        import warnings

        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd

        from spm_model.data.io import atomic_path
        from spm_model.forecast import BookingsForecaster, ConvergenceWarning
        from spm_model.forecast.metrics import format_amount
        from spm_model.forecast.outputs import interval_table, quota_attainment_probability
        from spm_model.forecast.plots import fan_chart, ppc_plot

        show = Display(quiet)
        with show, show.step(f"loading {data}"):
            ds, source = _load(data, columns, layout, sum_duplicates)
        notes = _panel_notes(source)
        if ds is None:
            from spm_model.forecast.panel import coverage_notes

            notes += coverage_notes(source, cutoff)
        for note in notes:
            typer.echo(f"note: {note}")
        plan_obj = None
        if plan is not None:
            from spm_model.errors import SpmConfigError
            from spm_model.forecast.accrual import plan_measure
            from spm_model.plans import load_plan

            if ds is None:
                raise SpmConfigError("--plan needs a dataset (quotas and OTEs), not a panel file")
            plan_obj = load_plan(plan)
            plan_measure(plan_obj, measure)  # fail before the (long) fit if it cannot be paid
        fc = BookingsForecaster(
            draws=draws,
            tune=tune,
            chains=chains,
            sampler=sampler,
            target_accept=target_accept,
            likelihood=likelihood,
            seed=seed,
            model=model,
            seasonality=seasonality,
            season_deviations=season_deviations,
            drift=drift,
            level_regime=level_regime,
            common_index=common_index,
            common_movement=common_movement,
            refits=refits,
        )
        with show, warnings.catch_warnings():
            # the convergence checks are printed below with the diagnostics, once
            warnings.simplefilter("ignore", ConvergenceWarning)
            with show.step(f"fitting {fc!r}"):
                fc.fit(source, measure=measure, cutoff=cutoff)
            with show.step(f"predicting {horizon} months"):
                pred = fc.predict(horizon)
        currency = fc.panel_.attrs.get("currency", "currency")
        if fc.log_index_ is not None:
            typer.echo(
                f"common index: split off (it explains {fc.common_share_:.0%} of the series' "
                "year-on-year changes beyond chance) and forecast as a series of its own"
            )
        typer.echo(fc.diagnostics_.summary())
        with show, show.step(f"writing {out}"), atomic_path(out, is_dir=True) as tmp:
            pred.to_dataset(name="bookings").to_netcdf(tmp / "draws.nc")
            fc.idata_.to_netcdf(str(tmp / "posterior.nc"))
            if fc.log_index_ is not None:
                fc.index_forecaster_.idata_.to_netcdf(str(tmp / "common_index_posterior.nc"))
                index = fc.log_index_.to_frame()
                index["index"] = np.exp(index["log_index"])
                index.to_csv(tmp / "common_index.csv")
            tables = [interval_table(pred, lv) for lv in ("rep", "team", "region", "company")]
            summary = pd.concat(tables, ignore_index=True)
            summary.to_csv(tmp / "summary.csv", index=False)
            fc.diagnostics_.table.to_csv(tmp / "diagnostics.csv")
            fc.parameter_summary().to_csv(tmp / "parameters.csv")
            notes = [fc.diagnostics_.summary()]
            try:
                if ds is None:
                    raise ValueError("a panel file has no quotas table")
                qa = quota_attainment_probability(pred, fc.panel_, ds.quotas, measure=measure)
                qa.to_csv(tmp / "quota_probability.csv", index=False)
                notes.append(
                    f"quota: {len(qa)} reps, expected {qa['p_reach_quota'].sum():.1f} to reach "
                    f"their FY{qa.attrs['fiscal_year']} quota"
                )
            except Exception as exc:
                notes.append(f"quota probability not written: {exc}")
            if plan_obj is not None:
                from spm_model.forecast.accrual import accrual_from_dataset

                acc = accrual_from_dataset(pred, fc.panel_, ds, plan_obj, measure=measure)
                acc.to_csv(tmp / "accruals.csv", index=False)
                tot = acc[acc["rep_id"] == "TOTAL"].iloc[0]
                notes.append(
                    f"accrual ({plan_obj.id}): expected {tot['expected_payout']:,.2f}, "
                    f"P90 {tot['p90_payout']:,.2f} {currency} for {', '.join(acc.attrs['periods'])}"
                    + (
                        f" (no quotas yet for {', '.join(acc.attrs['skipped_periods'])})"
                        if acc.attrs["skipped_periods"]
                        else ""
                    )
                )
            fig, ax = plt.subplots(figsize=(9, 4))
            fan_chart(pred, fc.panel_, "company", ax=ax)
            fig.savefig(tmp / "fan_company.png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            regions = sorted(set(pred["region"].to_numpy()))
            fig, axes = plt.subplots(
                len(regions), 1, figsize=(9, 3.2 * len(regions)), squeeze=False
            )
            for ax, reg in zip(axes[:, 0], regions, strict=True):
                fan_chart(pred, fc.panel_, "region", reg, ax=ax)
            fig.tight_layout()
            fig.savefig(tmp / "fan_regions.png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            fig = ppc_plot(fc)
            fig.savefig(tmp / "ppc.png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            (tmp / "README.txt").write_text("\n".join(notes) + "\n")
        first = pd.Timestamp(pred["month"].values[0])
        company = summary[(summary["level"] == "company") & (summary["month"] == "total")].iloc[0]
        typer.echo(
            f"{len(pred['rep'])} {'reps' if ds is not None else 'series'}, {horizon} months from "
            f"{first:%Y-%m}: company total median {format_amount(company['p50'])}, 80% interval "
            f"{format_amount(company['p10'])} to {format_amount(company['p90'])}"
            + (f" {currency}" if "currency" in fc.panel_.attrs else "")
        )
        for n in notes[1:]:
            typer.echo(n)
        typer.echo(f"written to {out}")

    @app.command("forecast-backtest")
    def backtest_cmd(
        data: Path = typer.Option(
            ...,
            "--data",
            help="Dataset (folder of CSV/Parquet, .xlsx, .duckdb) or a monthly panel file "
            "(.csv/.parquet/.xlsx: rep_id, month, bookings[, team, region, hire_date, end_date]; "
            "missing months: no row or an empty bookings cell).",
        ),
        horizon: int = typer.Option(6, min=1, max=24, help="Months forecast after each cut-off."),
        cutoffs: str | None = typer.Option(None, help="Comma-separated cut-off months (YYYY-MM)."),
        n_cutoffs: int = typer.Option(
            4, min=1, help="Number of default cut-offs (3 months apart)."
        ),
        measure: str | None = typer.Option(
            None, help="Plan measure to forecast (default: all bookings)."
        ),
        baselines: str = typer.Option(
            "seasonal_naive,ets,sarimax", help="Comma-separated baselines."
        ),
        draws: int | None = typer.Option(
            _DEFAULT["draws"],
            min=10,
            help="Posterior draws per chain (default: 2000 regression model, 1500 state space).",
        ),
        tune: int = typer.Option(_DEFAULT["tune"], min=0, help="Warm-up iterations per chain."),
        refits: int | None = _refits_option(),
        sampler: str = typer.Option("auto", help="auto, nutpie, pymc or advi."),
        likelihood: str = typer.Option(
            _DEFAULT["likelihood"], help="Amounts: generalized_gamma, gamma, student_t or normal."
        ),
        level_drift: bool = typer.Option(
            _DEFAULT["level_drift"], help="Let rep levels drift from year to year."
        ),
        model: str = _model_option(),
        seasonality: str = _seasonality_option(),
        season_deviations: str = _season_deviations_option(),
        drift: str = _drift_option(),
        level_regime: str = _level_regime_option(),
        common_index: str = _common_index_option(),
        common_movement: str = _common_movement_option(),
        stack: bool = typer.Option(
            False, help="Also score a stacked forecast (weights per horizon from earlier cut-offs)."
        ),
        seed: int = typer.Option(20240101, help="Seed."),
        bayes: bool = typer.Option(
            True, help="Include the Bayesian model (--no-bayes: baselines only)."
        ),
        out: Path | None = typer.Option(
            None, help="Also write the table (CSV, or Markdown for .md)."
        ),
        columns: str | None = _panel_option("columns"),
        layout: str = _panel_option("layout"),
        sum_duplicates: bool = _panel_option("sum_duplicates"),
        quiet: bool = quiet_option(),
    ) -> None:
        """Backtest the Bayesian model and the baselines (rolling origin): CRPS, WAPE, coverage."""
        import warnings

        from spm_model.data.io import atomic_write_text
        from spm_model.forecast import ConvergenceWarning
        from spm_model.forecast.backtest import backtest

        show = Display(quiet)
        with show, show.step(f"loading {data}"):
            _, source = _load(data, columns, layout, sum_duplicates)
        for note in _panel_notes(source):
            typer.echo(f"note: {note}")
        with (
            show,
            show.step("rolling-origin backtest (a line per cut-off and model)"),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", ConvergenceWarning)
            res = backtest(
                source,
                horizon=horizon,
                cutoffs=[c.strip() for c in cutoffs.split(",")] if cutoffs else None,
                n_cutoffs=n_cutoffs,
                baselines=[b.strip() for b in baselines.split(",") if b.strip()],
                config={
                    "draws": draws,
                    "tune": tune,
                    "refits": refits,
                    "sampler": sampler,
                    "seed": seed,
                    "likelihood": likelihood,
                    "level_drift": level_drift,
                    "model": model,
                    "seasonality": seasonality,
                    "season_deviations": season_deviations,
                    "drift": drift,
                    "level_regime": level_regime,
                    "common_index": common_index,
                    "common_movement": common_movement,
                },
                measure=measure,
                include_bayes=bayes,
                progress=show.note,
                stack=stack,
            )
        typer.echo(f"cut-offs {', '.join(res.cutoffs)}; horizon {res.horizon} months")
        if cutoffs is None and len(res.cutoffs) < n_cutoffs and not show.enabled:
            # (with the display on, the backtest's own progress note has said so)
            typer.echo(
                f"note: the data leave a year of history before only {len(res.cutoffs)} of the "
                f"{n_cutoffs} default cut-offs"
            )
        typer.echo(res.to_markdown())
        failed = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
        if failed:
            first = str(failed[0].message).splitlines()
            typer.echo(
                f"\nnote: {len(failed)} Bayesian fit(s) failed the convergence checks, e.g. "
                f"{first[1].strip(' -') if len(first) > 1 else first[0]}"
            )
        for w in caught:  # anything else is shown as usual
            if not issubclass(w.category, ConvergenceWarning):
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        if out is not None:
            text = res.to_markdown() + "\n" if out.suffix == ".md" else res.table.to_csv()
            atomic_write_text(out, text)
            typer.echo(f"written to {out}")

    @app.command("warmup")
    def warmup_cmd(
        model: str = typer.Option(
            "state_space,regression",
            help="Comma-separated model kinds to compile: state_space, regression.",
        ),
    ) -> None:
        """Compile the Bayesian forecaster's building blocks into the on-disk caches.

        A machine's first fit then compiles only its own graph. The cache is
        PyTensor's compile directory (PYTENSOR_FLAGS base_compiledir, default
        ~/.pytensor); `make venv` runs this into the project's.
        """
        import pytensor

        from spm_model.forecast.warmup import warm_up

        kinds = tuple(k.strip() for k in model.split(",") if k.strip())
        took = warm_up(kinds)
        for kind, secs in took.items():
            typer.echo(f"{kind}: compiled in {secs:.1f} s")
        typer.echo(f"PyTensor cache: {pytensor.config.compiledir}")
