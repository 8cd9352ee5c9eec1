"""Item-based k-nearest-neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004).

sim(i, j) = x_i · x_j / (‖x_i‖ ‖x_j‖ + shrink), where x_i is item i's column of the
user × item matrix (weights as given; pass binary data for classic ItemKNN). shrink > 0 damps
similarities resting on few co-occurrences. For each target item i only its ``neighbours`` most
similar items j ≠ i are kept (ties at the cut: the lower item index), so the model is a sparse
items × items matrix S with S[j, i] = sim(j, i); score(u, i) = Σ_j x_uj S[j, i].
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.metrics.topk import topk
from skewbench.models.recommend.base import Recommender, check_positive, chunks


class ItemKNN(Recommender):
    tune_space: ClassVar[dict[str, list[Any]]] = {
        "neighbours": [20, 50, 100, 200, 400],
        "shrink": [0.0, 10.0, 50.0, 100.0],
    }

    def __init__(self, neighbours: int = 100, shrink: float = 10.0, block_size: int = 1024):
        check_positive("neighbours", neighbours)
        check_positive("shrink", shrink, allow_zero=True)
        self.neighbours, self.shrink, self.block_size = int(neighbours), float(shrink), block_size

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        n = X.shape[1]
        Xc = X.tocsc()
        Xt = X.T.tocsr()
        norms = np.sqrt(np.asarray(Xc.multiply(Xc).sum(axis=0)).ravel())
        k = min(self.neighbours, n - 1)
        rows, cols, vals = [], [], []
        # Column blocks of the dense co-occurrence matrix: memory n × block, never n × n.
        for sl in chunks(n, self.block_size):
            target = np.arange(sl.start, sl.stop)
            co = Xt @ Xc[:, sl].toarray()  # (n × block) float32
            sim = co / (norms[:, None] * norms[None, sl] + self.shrink + 1e-12)
            sim[target, target - sl.start] = -np.inf  # an item is not its own neighbour
            # Order value desc, index asc (topk's tie-break) so ties at the cut keep the lower
            # index; one heap scan per target instead of a full sort of its column.
            order = topk(sim.T, k).T
            v = np.take_along_axis(sim, order, axis=0)
            keep = v > 0  # zero similarity contributes nothing; keep S sparse
            rows.append(order[keep])
            cols.append(np.broadcast_to(target, order.shape)[keep])
            vals.append(v[keep].astype(np.float32))
        self.similarity_ = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        )

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.X_[users] @ self.similarity_).todense(), dtype=np.float32)
