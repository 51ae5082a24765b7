"""Object detection on event recordings (Gen1, N-Caltech101 boxes): which boxes count (``filters``), which windows of
events become samples (``windows``) and how detections are scored (``metrics``). No torch, no TensorFlow."""
