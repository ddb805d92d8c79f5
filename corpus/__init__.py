"""corpus: a MassiveText-style pre-training corpus pipeline (domain logic; no Beam here)."""

__version__ = "0.1.0"
