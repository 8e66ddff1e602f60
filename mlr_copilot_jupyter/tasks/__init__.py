"""Bundled example tasks (package data): one folder per task with task.toml, CSVs and a baseline.

The CSVs were made once by ``_make_data.py`` from scikit-learn's bundled datasets.
"""
