"""Stages 7-8: exact and near-duplicate removal, as pure functions (keys, resolution)."""
