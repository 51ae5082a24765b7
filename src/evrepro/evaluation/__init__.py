"""Model-independent metrics (numpy only): accuracy, top-k, confusion matrices."""
