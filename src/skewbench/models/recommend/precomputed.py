"""An external run as a recommender: ``model: {name: precomputed, path: runs/prod.trec}``.

The run (any format :func:`skewbench.data.runfiles.read_run` reads) names the data set's users
as units and its items; ``score`` gives each listed item its score in the run (``−rank`` for a
file without scores) and every other item ``−inf``, so the pipeline's top-k keeps exactly the
run's list (training items excluded, as for every model) and a list-side treatment re-ranks the
production system's candidates. Equal scores fall to the pipeline's tie-break (item index
ascending). Users the run does not list get an empty list; an item the data set does not hold
is refused, naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp


class Precomputed:
    """Scores read from a run file, indexed by the data set's user and item ids."""

    def __init__(self, path: str, users: np.ndarray, items: np.ndarray):
        self.path = str(path)
        self.users = np.asarray(users).astype(str)
        self.items = np.asarray(items).astype(str)

    def fit(self, X: sp.csr_matrix, seed: int = 0) -> Self:
        """Read the run into a users × items score table (the training matrix is not used)."""
        from skewbench.data.runfiles import known_index, read_run

        run = read_run(Path(self.path))
        fix = "is not an item of the data set; a precomputed run must name its items"
        cols = known_index(run, self.path, "item", pd.Index(self.items), fix)
        rows = pd.Index(self.users).get_indexer(run["unit"].to_numpy())
        keep = rows >= 0  # units outside the data set are never evaluated: ignored
        score = run["score"].to_numpy(dtype=np.float64)
        score = np.where(np.isnan(score), -run["rank"].to_numpy(dtype=np.float64), score)
        order = np.lexsort((cols[keep], rows[keep]))
        r, c, s = rows[keep][order], cols[keep][order], score[keep][order]
        indptr = np.searchsorted(r, np.arange(self.users.size + 1))
        self.scores_ = sp.csr_matrix((s, c, indptr), shape=(self.users.size, self.items.size))
        self.n_listed_ = int(keep.sum())
        self.n_users_listed_ = int(np.unique(r).size)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        """(len(users) × n_items) scores: the run's, −inf for items it does not list."""
        S = self.scores_[np.asarray(users)]
        out = np.full(S.shape, -np.inf)
        rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
        out[rows, S.indices] = S.data
        return out

    def info(self) -> dict[str, object]:
        return {"run_lines_used": self.n_listed_, "users_listed": self.n_users_listed_}
