"""A categorize plug-in that trains a linear softmax on hashed word counts with the task's loss
(capability custom_loss), for tests."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class HashedLinear:
    capabilities: ClassVar[frozenset[str]] = frozenset({"custom_loss"})

    def __init__(self, epochs: int = 30, dim: int = 64):
        self.epochs, self.dim = epochs, dim

    def _x(self, texts: list[str]) -> Any:
        import torch

        x = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.split():
                x[i, sum(map(ord, w)) % self.dim] += 1.0
        return torch.as_tensor(x)

    def fit(self, texts, y, *, val_texts, val_y, n_classes, seed, loss=None) -> HashedLinear:
        import torch

        torch.manual_seed(seed)
        self.loss_ = loss
        self.net_ = torch.nn.Linear(self.dim, n_classes)
        opt = torch.optim.Adam(self.net_.parameters(), lr=0.1)
        x, t = self._x(list(texts)), torch.as_tensor(np.asarray(y), dtype=torch.long)
        for epoch in range(1, self.epochs + 1):
            loss.begin_epoch(epoch)
            opt.zero_grad()
            value = loss(self.net_(x), t)
            value.backward()
            opt.step()
        return self

    def predict_proba(self, texts) -> np.ndarray:
        import torch

        with torch.no_grad():
            return torch.softmax(self.net_(self._x(list(texts))), 1).double().numpy()
