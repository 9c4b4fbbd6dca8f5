"""Isolation Forest (Liu, Ting & Zhou, 2008), vectorized over all trees with numpy.

The algorithm is the one scikit-learn's ``IsolationForest`` implements: each tree is grown on
``max_samples`` rows drawn without replacement, splitting every node on a random feature at a
uniform random threshold between that feature's min and max in the node, down to depth
``ceil(log2(max_samples))``; a point's path length is its depth plus c(n) for the n training
rows left in its leaf, and the score is ``2 ** -(mean path length / c(max_samples))``.

Why not scikit-learn's: it spends ~1-6 ms of Python per tree fitted (estimator cloning,
parameter validation, seeding), which made a 20-year history cost several seconds. Here the
trees grow level by level, all at once, as arrays (a complete binary tree per row of ``feature``,
``threshold``, ``leaf``, ``size``), so 32 trees cost ~2 ms. A test checks that scores agree
with scikit-learn's on the same data (rank correlation and the same top outliers).
"""

from __future__ import annotations

import math

import numpy as np

EULER_GAMMA = 0.5772156649015329


def average_path_length(n) -> np.ndarray:
    """c(n): mean path length of an unsuccessful search in a binary search tree of n nodes."""
    n = np.atleast_1d(np.asarray(n, dtype="float64"))
    out = np.zeros_like(n)
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + EULER_GAMMA) - 2.0 * (n[big] - 1.0) / n[big]
    out[n == 2] = 1.0
    return out


class IsolationForest:
    """A fitted forest: ``IsolationForest(n_estimators, max_samples, seed).fit(x)``."""

    def __init__(self, n_estimators: int = 100, max_samples: int = 256, seed: int = 0) -> None:
        if n_estimators < 1 or max_samples < 2:
            raise ValueError("need n_estimators >= 1 and max_samples >= 2")
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.seed = seed

    def fit(self, x: np.ndarray) -> IsolationForest:
        x = np.asarray(x, dtype="float64")
        n, p = x.shape
        if n < 2:
            raise ValueError("IsolationForest needs at least 2 rows")
        rng = np.random.default_rng(self.seed)
        t, psi = self.n_estimators, min(self.max_samples, n)
        depth = max(1, math.ceil(math.log2(psi)))
        nodes = 2 ** (depth + 1) - 1
        feature = np.zeros((t, nodes), dtype=np.int64)
        threshold = np.zeros((t, nodes))
        leaf = np.ones((t, nodes), dtype=bool)
        size = np.zeros((t, nodes))
        rows = np.argsort(rng.random((t, n)), axis=1)[:, :psi]  # sampling without replacement
        node = np.zeros((t, psi), dtype=np.int64)
        active = np.ones((t, psi), dtype=bool)
        tree = np.arange(t)[:, None]
        for level in range(depth + 1):
            first, width = 2**level - 1, 2**level
            key = tree * width + (node - first)  # (tree, node at this level), flattened
            count = np.bincount(key[active], minlength=t * width)
            size[:, first : first + width] = count.reshape(t, width)
            if level == depth:
                break
            feat = rng.integers(0, p, size=t * width)
            values = x[rows, feat[key]]
            low = np.full(t * width, np.inf)
            high = np.full(t * width, -np.inf)
            np.minimum.at(low, key[active], values[active])
            np.maximum.at(high, key[active], values[active])
            split = (count > 1) & (high > low)
            with np.errstate(invalid="ignore"):  # empty nodes: inf - inf, masked out
                cut = np.where(split, low + rng.random(t * width) * (high - low), 0.0)
            feature[:, first : first + width] = feat.reshape(t, width)
            threshold[:, first : first + width] = cut.reshape(t, width)
            leaf[:, first : first + width] = ~split.reshape(t, width)
            go = active & split[key]
            node = np.where(go, 2 * node + 1 + (values >= cut[key]), node)
            active = go
        self.depth_, self.psi_ = depth, psi
        self.feature_, self.threshold_, self.leaf_, self.size_ = feature, threshold, leaf, size
        return self

    def normalized_depth(self, x: np.ndarray) -> np.ndarray:
        """Mean path length of each row over the trees, divided by c(max_samples)."""
        x = np.asarray(x, dtype="float64")
        m, t = len(x), self.n_estimators
        tree = np.arange(t)[None, :]
        node = np.zeros((m, t), dtype=np.int64)
        steps = np.zeros((m, t))
        row = np.arange(m)[:, None]
        for _ in range(self.depth_):
            inner = ~self.leaf_[tree, node]
            go_right = x[row, self.feature_[tree, node]] >= self.threshold_[tree, node]
            node = np.where(inner, 2 * node + 1 + go_right, node)
            steps += inner
        path = steps + average_path_length(self.size_[tree, node])
        return path.mean(axis=1) / average_path_length(self.psi_)[0]

    def score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly score in (0, 1): higher is more isolated (``-sklearn.score_samples``)."""
        return np.power(2.0, -self.normalized_depth(x))
