"""Event-by-event evaluation of a trained GraphRes or detector: FLOPs, latency and exactness, dense vs asynchronous.

``evaluate_async`` runs the asynchronous engine over a fixed subset of the test streams of a graph
cache and writes ``async.json`` (and ``score_vs_events.csv``):

- FLOPs per event (``evrepro.aegnn.flops``), per layer and in all: dense = one full pass on the graph
  of all events so far, asynchronous = what the engine recomputed for the event; means over all
  events of the streams processed;
- latency per event: the engine's step against a dense recomputation (radius graph of the prefix
  plus a full forward pass), the latter timed at a sample of event counts (every ``check_every``-th
  and the last) because it is slow; on CUDA, timings are bracketed by ``torch.cuda.synchronize``;
- the largest difference between the engine and the dense model, logits and every layer, at those
  same event counts;
- the test score (accuracy; a detector's COCO AP50) as a function of the number of events seen, over every
  test sample, from the dense model on prefixes: the engine gives the same outputs, as the difference check
  verifies.

Its parts, by job: ``timing`` (a clock that waits for CUDA), ``dense`` (the dense reference: a full pass on a
prefix, the difference to the engine, the score after n events), ``measure`` (the engine run over a stream, with its
FLOPs, latencies and checks), ``paper_protocol`` (AEGNN's own FLOP protocol) and ``run`` (the orchestration;
async.json's shape is ``evrepro.training.record.AsyncResult``).
"""

from evrepro.aegnn.async_eval.run import evaluate_async

__all__ = ["evaluate_async"]
