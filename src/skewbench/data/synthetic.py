"""Synthetic data with known ground truth, for tests and scale runs.

- :func:`labelled_text`: K classes with exponential-profile sizes (ratio ρ), each class with its
  own vocabulary, so a bag-of-words model can learn it and the true label is known.
- :func:`zipf_interactions`: implicit feedback whose item popularity follows a Zipf law
  p_i ∝ (i + 1)^(−a), with known item popularity ranks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def class_sizes(n_classes: int, n_max: int, rho: float) -> np.ndarray:
    """n_k = round(n_max · ρ^(−k/(K−1))), k = 0 … K−1 (class 0 largest), at least 1."""
    if n_classes == 1:
        return np.array([n_max], dtype=np.int64)
    k = np.arange(n_classes)
    return np.maximum(np.round(n_max * rho ** (-k / (n_classes - 1))), 1).astype(np.int64)


def labelled_text(
    rng: np.random.Generator,
    n_classes: int = 5,
    n_max: int = 200,
    rho: float = 10.0,
    words_per_class: int = 20,
    shared_words: int = 50,
    length: int = 12,
    signal: float = 0.5,
) -> pd.DataFrame:
    """Labelled texts: each word is drawn from the class's own vocabulary ("c{k}w{j}") with
    probability ``signal``, else from a shared vocabulary ("s{j}"). Columns ``doc_id``,
    ``text``, ``label`` ("class{k}", class 0 the largest); sizes from :func:`class_sizes`.
    Rows are shuffled."""
    sizes = class_sizes(n_classes, n_max, rho)
    labels = np.repeat(np.arange(n_classes), sizes)
    n = labels.size
    own = rng.integers(0, words_per_class, size=(n, length))
    shared = rng.integers(0, shared_words, size=(n, length))
    use_own = rng.random((n, length)) < signal
    words = np.where(
        use_own,
        np.char.add(
            np.char.add(np.char.add("c", labels[:, None].astype(str)), "w"), own.astype(str)
        ),
        np.char.add("s", shared.astype(str)),
    )
    text = [" ".join(row) for row in words]
    perm = rng.permutation(n)
    return pd.DataFrame(
        {
            "doc_id": np.arange(n).astype(str)[perm],
            "text": np.asarray(text, dtype=object)[perm],
            "label": np.char.add("class", labels.astype(str))[perm],
        }
    ).astype({"doc_id": "str", "text": "str", "label": "str"})


def zipf_interactions(
    rng: np.random.Generator,
    n_users: int = 200,
    n_items: int = 500,
    per_user: int = 20,
    a: float = 1.0,
) -> pd.DataFrame:
    """Implicit interactions: each user picks ``per_user`` distinct items (without
    replacement) with probability p_i ∝ (i + 1)^(−a), so item "i0" is the most popular.
    Columns ``user_id`` ("u{n}"), ``item_id`` ("i{n}"), ``timestamp`` (0 … per_user−1 in pick
    order), ``weight`` 1.0."""
    if per_user > n_items:
        raise ValueError("per_user must be <= n_items")
    p = (np.arange(n_items) + 1.0) ** (-a)
    p /= p.sum()
    # Gumbel top-k = sampling without replacement proportional to p, vectorised over users
    keys = np.log(p)[None, :] + rng.gumbel(size=(n_users, n_items))
    picks = np.argsort(-keys, axis=1)[:, :per_user]
    users = np.repeat(np.arange(n_users), per_user)
    return pd.DataFrame(
        {
            "user_id": np.char.add("u", users.astype(str)),
            "item_id": np.char.add("i", picks.ravel().astype(str)),
            "timestamp": np.tile(np.arange(per_user), n_users).astype(np.int64),
            "weight": 1.0,
        }
    ).astype({"user_id": "str", "item_id": "str"})
