"""statsmodels' side of make bench's forecasting section (bench/forecast.go).

Reads a JSON list of series on stdin ({name, values, period, horizon,
origins}), appends the public series statsmodels ships (co2 weekly, El Nino
monthly), and for every series and origin fits Holt-Winters (additive and
multiplicative, damped trend) and ETS (A,Ad,A) and (M,Ad,M) on the values
before the origin and forecasts `horizon` steps, with 80% and 95%
prediction intervals where the model has them (ETS). Writes JSON on stdout;
the Go side scores every model the same way.
"""
import json
import sys
import warnings

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.datasets as datasets
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

warnings.filterwarnings("ignore")


def shipped():
    co2 = datasets.co2.load_pandas().data["co2"].interpolate().bfill()
    co2 = co2[-20 * 52:]  # the last twenty years: enough cycles, bounded time
    nino = datasets.elnino.load_pandas().data.drop(columns=["YEAR"]).to_numpy().ravel()
    out = []
    for name, values, period, horizon, start in [
        ("co2 weekly (statsmodels)", co2.to_numpy(), 52, 52, co2.index[0].strftime("%Y-%m-%dT00:00:00Z")),
        ("elnino monthly (statsmodels)", nino, 12, 12, "1950-01-01T00:00:00Z"),
    ]:
        n = len(values)
        out.append({"name": name, "values": [float(v) for v in values], "period": period, "horizon": horizon,
                    "origins": [n - horizon * k for k in (3, 2, 1)], "start": start,
                    "step": "1w" if period == 52 else "1mo"})
    return out


def fit_all(y, m, h):
    # Long seasons get the heuristic start (two cycles' decomposition):
    # estimating 168 initial states by optimisation takes minutes.
    init = "estimated" if m <= 52 else "heuristic"
    res = {}
    for seasonal in ("add", "mul"):
        if seasonal == "mul" and np.min(y) <= 0:
            continue
        name = "holt-winters %s damped" % ("additive" if seasonal == "add" else "multiplicative")
        try:
            fit = ExponentialSmoothing(y, trend="add", damped_trend=True, seasonal=seasonal, seasonal_periods=m,
                                       initialization_method=init).fit()
            res[name] = {"mean": [float(v) for v in fit.forecast(h)]}
        except Exception as e:  # a model that cannot fit is reported, not fatal
            res[name] = {"error": str(e)}
        name = "ets (%s,Ad,%s)" % (("A", "A") if seasonal == "add" else ("M", "M"))
        try:
            # Debian's statsmodels 0.13 needs a pandas series for ETS predictions.
            fit = ETSModel(pd.Series(y), error=seasonal, trend="add", damped_trend=True, seasonal=seasonal, seasonal_periods=m,
                           initialization_method=init).fit(disp=False)
            pred = fit.get_prediction(start=len(y), end=len(y) + h - 1)
            r = {"mean": [float(v) for v in pred.predicted_mean]}
            for cov, alpha in (("80", 0.2), ("95", 0.05)):
                frame = pred.summary_frame(alpha=alpha)
                r["lower" + cov] = [float(v) for v in frame["pi_lower"]]
                r["upper" + cov] = [float(v) for v in frame["pi_upper"]]
            res[name] = r
        except Exception as e:
            res[name] = {"error": str(e)}
    return res


def main():
    series = json.load(sys.stdin) + shipped()
    for s in series:
        y = np.asarray(s["values"], dtype=float)
        s["models"] = {}
        for o in s["origins"]:
            for name, r in fit_all(y[:o], s["period"], s["horizon"]).items():
                s["models"].setdefault(name, []).append(r)
    json.dump({"statsmodels": statsmodels.__version__, "series": series}, sys.stdout)


if __name__ == "__main__":
    main()
