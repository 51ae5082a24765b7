"""Detection scores under each definition the literature uses, each named (``METRICS``) so no table mixes them.

Boxes, true or detected, are ``evrepro.events.boxes.BOX_DTYPE`` arrays (top-left ``x``, ``y``, size ``w``, ``h`` in
pixels, ``class_id``; a detection's score is its ``confidence``). A *frame* is what a metric scores as one image: the
true boxes of one labelled time and the detections that answer them.

- ``coco``: COCO's AP@[.5:.95] and AP50 over all frames at once (dataset-level), computed by ``faster-coco-eval``
  (the C++ COCOeval behind pycocotools' interface, equal to it: tests/test_detection_metrics.py).
- ``gen1``: the same COCO scores on frames made by Prophesee's time matching (``time_matched_frames``: every labelled
  time of a recording with the detections within ±50 ms of it), as RVT, DAGr and later Gen1 tables report.
- ``per_sample``: AEGNN's own score, the mean over frames of each frame's mAP from the ``mapcalc`` package
  (VOC all-point AP with its +1-pixel IoU, classes absent from the frame's labels ignored), averaged over the IoU
  thresholds 0, 0.1, ..., 1 as AEGNN's map search did. Not comparable with the two above.
"""

import logging
import math

import numpy as np

METRICS = {
    "coco_ap": "COCO AP@[.5:.95] over the test samples, dataset-level (faster-coco-eval)",
    "coco_ap50": "COCO AP@.5 over the test samples, dataset-level (faster-coco-eval)",
    "gen1_ap": "COCO AP@[.5:.95] over Prophesee's time-matched frames (±50 ms), as Gen1 tables report",
    "gen1_ap50": "COCO AP@.5 over Prophesee's time-matched frames (±50 ms)",
    "per_sample_map": "mean over samples of mapcalc's mAP averaged over IoU 0:0.1:1, detections with confidence "
                      "above 0.6 (AEGNN's own score)",
}
AEGNN_CONFIDENCE = 0.6  # AEGNN kept detections above this confidence (then NMS at IoU 0.6) before its mAP
PER_SAMPLE_IOUS = (0.0, 1.0, 0.1)  # mapcalc's calculate_map_range(begin, end, step): 0, 0.1, ..., 1 (end included)
GEN1_TOLERANCE_US = 50_000


def _coco_dataset(frames, class_names, sensor_size) -> tuple[dict, list[dict]]:
    """The true boxes as a COCO dataset (one image per frame) and the detections as COCO results."""
    width, height = sensor_size
    images, annotations, results = [], [], []
    for image_id, (truth, detections) in enumerate(frames, start=1):
        images.append({"id": image_id, "width": int(width), "height": int(height)})
        for box in truth:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": int(box["class_id"]) + 1, "iscrowd": 0,
                                "bbox": [float(box[k]) for k in ("x", "y", "w", "h")],
                                "area": float(box["w"]) * float(box["h"])})
        for box in detections:
            results.append({"image_id": image_id, "category_id": int(box["class_id"]) + 1,
                            "bbox": [float(box[k]) for k in ("x", "y", "w", "h")], "score": float(box["confidence"])})
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(class_names)]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def coco_scores(frames, class_names, sensor_size) -> dict[str, float | None]:
    """COCO's ``coco_ap`` (AP@[.5:.95]) and ``coco_ap50`` over ``frames`` [(true boxes, detections)];
    None where COCO defines no value (no true box at all)."""
    from faster_coco_eval import COCO, COCOeval_faster

    dataset, results = _coco_dataset(frames, class_names, sensor_size)
    logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)
    truth = COCO(dataset)
    evaluation = COCOeval_faster(truth, truth.loadRes(results) if results else COCO(_empty_results(dataset)), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    ap, ap50 = (float(value) for value in evaluation.stats[:2])
    return {"coco_ap": ap if ap >= 0 else None, "coco_ap50": ap50 if ap50 >= 0 else None}


def _empty_results(dataset: dict) -> dict:
    """A COCO result set without detections (``loadRes`` refuses an empty list)."""
    return {"images": dataset["images"], "annotations": [], "categories": dataset["categories"]}


def time_matched_frames(truth: np.ndarray, detections: np.ndarray,
                        tolerance_us: int = GEN1_TOLERANCE_US) -> list[tuple[np.ndarray, np.ndarray]]:
    """Prophesee's time matching for one recording: a frame per distinct labelled time ``ts``, holding the true boxes
    at ``ts`` and the detections with ``ts - tolerance <= t <= ts + tolerance`` (a detection may answer two times)."""
    truth = truth[np.argsort(truth["t"], kind="stable")]
    detections = detections[np.argsort(detections["t"], kind="stable")]
    frames = []
    for ts in np.unique(truth["t"]):
        lo, hi = np.searchsorted(truth["t"], ts, "left"), np.searchsorted(truth["t"], ts, "right")
        a = np.searchsorted(detections["t"], ts - tolerance_us, "left")
        b = np.searchsorted(detections["t"], ts + tolerance_us, "right")
        frames.append((truth[lo:hi], detections[a:b]))
    return frames


def _corners(boxes: np.ndarray) -> list[list[float]]:
    return [[float(b["x"]), float(b["y"]), float(b["x"] + b["w"]), float(b["y"] + b["h"])] for b in boxes]


def per_sample_map(frames) -> float | None:
    """AEGNN's score: the mean over frames with a true box of mapcalc's mAP averaged over the IoU thresholds
    ``PER_SAMPLE_IOUS``.

    Detections are given to mapcalc by decreasing score (the order NMS returns them in; mapcalc keeps the order it is
    given). None without a frame to score.
    """
    from mapcalc import calculate_map_range

    values = []
    for truth, detections in frames:
        if truth.size == 0:
            continue  # mapcalc divides by the classes present: a frame without labels has no score
        detections = detections[np.argsort(-detections["confidence"], kind="stable")]
        labelled = {"boxes": _corners(truth), "labels": [int(c) for c in truth["class_id"]]}
        found = {"boxes": _corners(detections), "labels": [int(c) for c in detections["class_id"]],
                 "scores": [float(s) for s in detections["confidence"]]}
        values.append(calculate_map_range(labelled, found, *PER_SAMPLE_IOUS))
    return float(np.mean(values)) if values else None


def detection_scores(frames, class_names, sensor_size, recordings=None) -> dict[str, float | None]:
    """Every score of ``METRICS`` on the same (true boxes, detections) frames, one per sample; ``recordings`` (one id
    per frame) groups them by recording for Prophesee's time matching (without it, ``gen1_*`` are left out)."""
    scores = coco_scores(frames, class_names, sensor_size)
    if recordings is not None:
        matched = []
        for recording in dict.fromkeys(recordings):
            mine = [frame for frame, owner in zip(frames, recordings) if owner == recording]
            # one set of true boxes per recording: the original's windows label the same box in several samples
            matched += time_matched_frames(np.unique(np.concatenate([truth for truth, _ in mine])),
                                           np.concatenate([found for _, found in mine]))
        scores.update({f"gen1_{key.removeprefix('coco_')}": value
                       for key, value in coco_scores(matched, class_names, sensor_size).items()})
    confident = [(truth, found[found["confidence"] > AEGNN_CONFIDENCE]) for truth, found in frames]
    scores["per_sample_map"] = per_sample_map(confident)
    return {name: (None if value is None or math.isnan(value) else value) for name, value in scores.items()}
