"""ECN in TensorFlow 2 / Keras 3: event convolutions, vox-pool network, input pipeline, training.

Never imports torch."""
