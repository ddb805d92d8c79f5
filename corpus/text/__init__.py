"""Text definitions shared by rules and dedup (SPEC §2a) and normalization (SPEC stage 2)."""
