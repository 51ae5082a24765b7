"""The asynchronous engine run over streams event by event: FLOPs and latency per event, and checks against the
dense model at a sample of event counts."""

from evrepro.aegnn.async_eval.dense import dense_pass, largest_difference
from evrepro.aegnn.async_eval.paper_protocol import paper_protocol_costs
from evrepro.aegnn.async_eval.timing import Clock
from evrepro.aegnn.asynchronous import AsyncGraphRes
from evrepro.aegnn.presets import LAYERS


class Measurements:
    """Per-event FLOPs and latencies of the engine, dense timings and the largest async-vs-dense differences."""

    def __init__(self):
        self.dense_flops = {name: 0 for name in LAYERS}
        self.async_flops = {name: 0 for name in LAYERS}
        self.async_ms, self.dense_ms = [], []
        self.worst_logits = self.worst_layers = 0.0
        self.checks = self.events = 0
        self.last_event = {"async": [], "dense": []}  # per stream: FLOPs of adding its last event
        self.paper_protocol = {"async": [], "dense": []}  # per stream: AEGNN's evaluation/flops.py protocol

    def stream(self, model, stream: dict, radius: float, cap: int, device, clock: Clock, check_every: int) -> None:
        """Run one stream through a fresh engine event by event, checking it against the dense model."""
        pos, x = stream["pos"], stream["x"]
        engine = AsyncGraphRes(model, radius, cap)
        for k in range(len(pos)):
            began = clock.now()
            engine.step(pos[k], x[k])
            self.async_ms.append(1000 * (clock.now() - began))
            for name, value in engine.last_flops.items():
                self.async_flops[name] += value
            for name, value in engine.dense_flops().items():
                self.dense_flops[name] += value
            if (k + 1) % check_every == 0 or k == len(pos) - 1:
                began = clock.now()
                _, layers = dense_pass(model, pos[: k + 1], x[: k + 1], radius, cap, device)
                self.dense_ms.append(1000 * (clock.now() - began))
                logits_difference, layers_difference = largest_difference(engine, layers)
                self.worst_logits = max(self.worst_logits, logits_difference)
                self.worst_layers = max(self.worst_layers, layers_difference)
                self.checks += 1
        self.events += len(pos)
        self.last_event["async"].append(sum(engine.last_flops.values()))
        self.last_event["dense"].append(sum(engine.dense_flops().values()))

    def paper_protocol_stream(self, model, stream: dict, radius: float, cap: int, device) -> None:
        """Add one stream's FLOPs under AEGNN's protocol (``paper_protocol_costs``)."""
        costs = paper_protocol_costs(model, stream, radius, cap, device)
        self.paper_protocol["async"].append(sum(costs["async"].values()))
        self.paper_protocol["dense"].append(sum(costs["dense"].values()))
