"""Tables (pandas) and figures (matplotlib) from result files; the report never loads a model."""
