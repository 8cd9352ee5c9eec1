"""Large language models as rankers: prompts, a cached scorer and list re-ranking policies."""
