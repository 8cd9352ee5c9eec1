"""One working model plug-in per task (docs/plugins.md); ``plugins.yaml`` runs all three."""
