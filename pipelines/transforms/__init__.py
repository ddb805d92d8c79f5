"""Thin PTransforms and DoFns adapting `corpus/` functions to Beam."""
