"""Score two runs from Python; run from the repository root: python examples/evaluate/api.py"""

import skewbench

tidy = skewbench.evaluate(
    "examples/evaluate/qrels.trec",
    {"A": "examples/evaluate/a.trec", "B": "examples/evaluate/b.trec"},
    items="examples/evaluate/items.csv",
    train="examples/evaluate/train.csv",
)
wide = tidy.pivot_table(index="model", columns="metric", values="value")
print(wide[["ndcg@10", "recall@20", "exposure_gini", "exposure_gini[brand]", "arp"]])
