"""Every Beam-specific line: PTransforms that call `corpus/`, and the pipeline graph (`build.py`)."""
