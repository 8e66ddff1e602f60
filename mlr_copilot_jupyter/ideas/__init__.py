"""IdeaAgent: research problems, hypotheses, experiment plans, reviews and their ranking."""
