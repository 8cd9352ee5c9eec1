"""Recommenders for full ranking: fit on users × items weights, score all items per user."""

from skewbench.models.recommend.als import ALS
from skewbench.models.recommend.base import Recommender
from skewbench.models.recommend.bpr import BPR
from skewbench.models.recommend.content import ContentModel
from skewbench.models.recommend.ease import EASE
from skewbench.models.recommend.hybrid import Hybrid
from skewbench.models.recommend.itemknn import ItemKNN
from skewbench.models.recommend.popularity import Popularity, RandomRanker

__all__ = [
    "ALS",
    "BPR",
    "EASE",
    "ContentModel",
    "Hybrid",
    "ItemKNN",
    "Popularity",
    "RandomRanker",
    "Recommender",
]
