"""Models of the three tasks (categorize, recommend, search) and the LLM rankers."""
