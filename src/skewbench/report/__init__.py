"""The report of a results folder: aggregation over units and replicates, significance,
sections, plots and the Markdown/HTML rendering."""
