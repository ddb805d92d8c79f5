"""Document rules: language ID, Gopher quality and repetition, content filters. Text in, verdict out."""
