"""Pooled statistics over evaluation windows, with percentile-bootstrap 95% intervals.

A statistic is a function of window indices: given ``idx`` (R, N) (R draws of N window
indices), it returns (R, K), one value per draw and horizon. The point estimate is the
statistic on the windows as they are (``idx = [0..N-1]``); the interval is the 2.5th and
97.5th percentile over ``RESAMPLES`` draws of N windows with replacement from a fixed seed.
Pooling (sums over windows, then one ratio) makes a draw's value what the whole evaluation
would have reported on those windows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
PSNR_CAP = 100.0  # dB reported for an error of exactly zero

Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Estimate:
    """Point estimate and interval per horizon, each (K,); NaN where undefined."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def resample(count: int, seed: int, resamples: int = RESAMPLES) -> np.ndarray:
    """Bootstrap draws of window indices, (resamples, count), reproducible from ``seed``."""
    return np.random.default_rng(seed).integers(0, count, size=(resamples, count))


def estimate(statistic: Statistic, draws: np.ndarray) -> Estimate:
    """``statistic`` on all windows and its percentile interval over ``draws`` (R, N)."""
    value = statistic(np.arange(draws.shape[1])[None])[0]
    tail = (1 - LEVEL) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN horizon (nothing moves) keeps NaN bounds
        low, high = np.nanpercentile(statistic(draws), [tail, 100 - tail], axis=0)
    return Estimate(value, low, high)


def pooled(numerator: np.ndarray, denominator: np.ndarray) -> Statistic:
    """Sum of ``numerator`` over the drawn windows over the sum of ``denominator`` (both (N, K))."""

    def statistic(idx: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return numerator[idx].sum(1) / denominator[idx].sum(1)

    return statistic


def psnr(mse: np.ndarray) -> np.ndarray:
    """10 log10(1 / mse) in dB for frames in [0, 1]; ``PSNR_CAP`` where mse is 0, NaN where undefined."""
    with np.errstate(all="ignore"):
        return np.where(mse > 0, -10 * np.log10(mse), np.where(mse == 0, PSNR_CAP, np.nan))
