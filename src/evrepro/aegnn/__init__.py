"""AEGNN in torch + PyG: SplineConv, GraphRes, training, evaluation (never imports tensorflow)."""
