"""The device and the batch loop that AEGNN's training, evaluation and asynchronous evaluation share."""

import numpy as np
import torch
from tqdm import tqdm

DEVICES = ("auto", "cpu", "gpu")


def pick_device(name: str) -> torch.device:
    """``auto`` (a GPU when torch sees one), ``cpu`` or ``gpu``."""
    if name not in DEVICES:
        raise ValueError(f"device {name!r} is none of {DEVICES}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "gpu" and not torch.cuda.is_available():
        raise RuntimeError("device is 'gpu' but torch sees no CUDA device")
    return torch.device("cuda" if name == "gpu" else "cpu")


def device_name(device: torch.device) -> str:
    """The device in the config's words: ``cpu`` or ``gpu``."""
    return "gpu" if device.type == "cuda" else "cpu"


def run_batches(model, loader, device, optimizer=None, progress=False, desc=""):
    """One pass over ``loader``; trains when given an optimiser. Returns (mean loss, accuracy, scores, labels)."""
    training = optimizer is not None
    model.train(training)
    losses, scores, labels = [], [], []
    with torch.set_grad_enabled(training):
        for batch in tqdm(loader, desc=desc, disable=not progress, mininterval=5, leave=False):
            batch = batch.to(device)
            logits = model(batch.x, batch.pos, batch.edge_index, batch.batch, batch.num_graphs)
            loss = torch.nn.functional.cross_entropy(logits, batch.y)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            losses.append(loss.item() * batch.num_graphs)
            scores.append(logits.detach().cpu())
            labels.append(batch.y.cpu())
    scores, labels = torch.cat(scores).numpy(), torch.cat(labels).numpy()
    return sum(losses) / len(labels), float(np.mean(scores.argmax(1) == labels)), scores, labels
