"""Model-independent metrics (numpy, pandas): accuracy, top-k, confusion matrices, test results on disk."""
