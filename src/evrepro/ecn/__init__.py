"""ECN in TensorFlow 2 / Keras 3: event convolutions, vox-pool network, input pipeline, training.

Never imports torch."""

import os

# TensorFlow's C++ INFO lines at import (CPU features, oneDNN) are noise in every log; warnings stay
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
