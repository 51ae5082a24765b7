"""Detection scores: faster-coco-eval against pycocotools, both against a hand-computed example; AEGNN's per-sample
mAP (mapcalc) by hand; Prophesee's time matching and box filter at their boundaries."""

import numpy as np
import pytest

from evrepro.detection.filters import BOX_FILTERS
from evrepro.detection.metrics import coco_scores, detection_scores, per_sample_map, time_matched_frames
from evrepro.events.boxes import BOX_DTYPE

CLASSES = ("car", "pedestrian")
SENSOR = (304, 240)


def boxes(*rows) -> np.ndarray:
    """BOX_DTYPE rows from (t, x, y, w, h, class_id[, confidence])."""
    array = np.zeros(len(rows), BOX_DTYPE)
    for i, row in enumerate(rows):
        for field, value in zip(("t", "x", "y", "w", "h", "class_id", "confidence"), row):
            array[i][field] = value
    return array


def hand_example():
    """Frame 1: a car and two detections, a false one scored 0.95 far from it and an exact one at 0.9. Frame 2: a
    10×10 car and an 8×8 detection in its corner at 0.8 (IoU 64/100; 81/121 with mapcalc's +1 pixel)."""
    return [
        (boxes((0, 50, 50, 20, 20, 0)), boxes((0, 200, 150, 20, 20, 0, 0.95), (0, 50, 50, 20, 20, 0, 0.9))),
        (boxes((0, 0, 0, 10, 10, 0)), boxes((0, 0, 0, 8, 8, 0, 0.8))),
    ]


def test_coco_scores_equal_the_hand_computed_values():
    # detections by score: false, true, true-below-IoU-0.64. At thresholds .5/.55/.6 precision 0, 1/2, 2/3 at recall
    # 0, 1/2, 1: COCO's interpolated precision is 2/3 at every recall point. At .65-.95 the third is false: 1/2 for the
    # 51 recall points up to 0.5, 0 for the 50 above. AP = (3·2/3 + 7·(51·0.5/101)) / 10.
    scores = coco_scores(hand_example(), CLASSES, SENSOR)
    assert scores["coco_ap50"] == pytest.approx(2 / 3, abs=1e-9)
    assert scores["coco_ap"] == pytest.approx((3 * 2 / 3 + 7 * (51 * 0.5 / 101)) / 10, abs=1e-9)


def test_the_per_sample_map_equals_the_hand_computed_value():
    # frame 1: precision 0 then 1/2 at recall 1, VOC all-point AP 0.5 at every threshold 0, 0.1, ..., 1 (the exact
    # box has IoU 1); frame 2: IoU 81/121 = 0.669 counts at 0 ... 0.6 (7 of 11 thresholds). Mean over the frames.
    assert per_sample_map(hand_example()) == pytest.approx((0.5 + 7 / 11) / 2, abs=1e-12)
    assert per_sample_map([(boxes(), boxes((0, 1, 1, 5, 5, 0, 0.5)))]) is None  # no labelled frame, no score


def random_frames(rng, n_frames=40):
    frames = []
    for _ in range(n_frames):
        n_true = rng.integers(0, 4)
        truth = boxes(*[(0, *rng.uniform(0, 250, 2), *rng.uniform(15, 60, 2), rng.integers(0, 2))
                        for _ in range(n_true)])
        found = []
        for box in truth:  # a jittered detection of most true boxes, some with the wrong class
            if rng.random() < 0.8:
                jitter = rng.normal(0, 1.5, 4)
                found.append((0, box["x"] + jitter[0], box["y"] + jitter[1], max(box["w"] + jitter[2], 2),
                              max(box["h"] + jitter[3], 2), box["class_id"] ^ (rng.random() < 0.1), rng.random()))
        found += [(0, *rng.uniform(0, 250, 2), *rng.uniform(8, 60, 2), rng.integers(0, 2), rng.random())
                  for _ in range(rng.integers(0, 3))]
        frames.append((truth, boxes(*found)))
    return frames


def pycocotools_stats(frames) -> np.ndarray:
    """All twelve COCO statistics from pycocotools itself, on a COCO set built here independently."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for image_id, (truth, found) in enumerate(frames, start=1):
        images.append({"id": image_id, "width": SENSOR[0], "height": SENSOR[1]})
        annotations += [{"id": len(annotations) + k + 1, "image_id": image_id, "category_id": int(b["class_id"]) + 1,
                         "bbox": [float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"])],
                         "area": float(b["w"] * b["h"]), "iscrowd": 0} for k, b in enumerate(truth)]
        results += [{"image_id": image_id, "category_id": int(b["class_id"]) + 1, "score": float(b["confidence"]),
                     "bbox": [float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"])]} for b in found]
    truth = COCO()
    truth.dataset = {"images": images, "annotations": annotations,
                     "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "pedestrian"}]}
    truth.createIndex()
    evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return evaluation.stats


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_faster_coco_eval_equals_pycocotools(seed):
    frames = random_frames(np.random.default_rng(seed))
    reference = pycocotools_stats(frames)
    scores = coco_scores(frames, CLASSES, SENSOR)
    assert 0.1 < reference[0] < 0.9  # a case where AP is neither trivial nor perfect
    assert scores["coco_ap"] == pytest.approx(reference[0], abs=1e-12)
    assert scores["coco_ap50"] == pytest.approx(reference[1], abs=1e-12)
    hand = hand_example()
    assert coco_scores(hand, CLASSES, SENSOR)["coco_ap"] == pytest.approx(pycocotools_stats(hand)[0], abs=1e-12)


def test_scores_without_detections_or_labels():
    truth_only = [(boxes((0, 10, 10, 20, 20, 0)), boxes())]
    assert detection_scores(truth_only, CLASSES, SENSOR) == {"coco_ap": 0.0, "coco_ap50": 0.0, "per_sample_map": 0.0}
    nothing = [(boxes(), boxes((0, 10, 10, 20, 20, 0, 0.7)))]
    assert detection_scores(nothing, CLASSES, SENSOR) == {"coco_ap": None, "coco_ap50": None, "per_sample_map": None}


def test_prophesee_time_matching_takes_detections_within_50_ms_of_each_labelled_time():
    truth = boxes((1_200_000, 5, 5, 30, 30, 1), (1_000_000, 0, 0, 30, 30, 0), (1_000_000, 40, 40, 30, 30, 0))
    found = boxes(*[(t, 0, 0, 30, 30, 0, 0.5) for t in (949_999, 950_000, 1_040_000, 1_050_000, 1_050_001,
                                                        1_150_000, 1_199_000)])
    frames = time_matched_frames(truth, found)
    assert [frame[0]["t"].tolist() for frame in frames] == [[1_000_000, 1_000_000], [1_200_000]]
    assert frames[0][1]["t"].tolist() == [950_000, 1_040_000, 1_050_000]  # both ends included
    assert frames[1][1]["t"].tolist() == [1_150_000, 1_199_000]


def test_the_box_filters_at_their_boundaries():
    standard, original = BOX_FILTERS["gen1"], BOX_FILTERS["original"]
    candidates = boxes((500_000, 0, 0, 40, 40, 0),  # at 0.5 s: not after it, dropped
                       (500_001, 0, 0, 18, 24, 0),  # diagonal exactly 30, sides over 10
                       (600_000, 0, 0, 10, 40, 0),  # side exactly 10
                       (600_000, 0, 0, 9.5, 40, 0),  # a side under 10
                       (600_000, 0, 0, 36, 48, 1))  # diagonal exactly 60, sides over 20
    assert standard.keep(candidates).tolist() == [False, True, True, False, True]
    assert original.keep(candidates).tolist() == [False, False, False, False, True]
    assert BOX_FILTERS["none"].keep(candidates).all()


def test_gen1_scores_pool_the_detections_of_one_labelled_time():
    # two samples of one recording labelled at the same time with the same car (the original's per-box windows):
    # per sample, the second sample's car is missed (AP 51/101 at every IoU: precision 1 up to recall 0.5); matched
    # by time, both samples' detections answer the one car (AP 1)
    car = (1_000_000, 10, 10, 30, 20, 0)
    frames = [(boxes(car), boxes((1_000_000, 10, 10, 30, 20, 0, 0.9))),
              (boxes(car), boxes((1_000_000, 100, 100, 30, 20, 0, 0.8)))]
    scores = detection_scores(frames, CLASSES, SENSOR, recordings=["rec", "rec"])
    assert scores["coco_ap"] == pytest.approx(51 / 101) and scores["gen1_ap"] == pytest.approx(1.0)
    assert scores["gen1_ap50"] == pytest.approx(1.0)
    assert scores["per_sample_map"] == pytest.approx(0.5)  # mapcalc: 1 for the first sample, 0 for the second
    assert "gen1_ap" not in detection_scores(frames, CLASSES, SENSOR)


def test_the_trivial_baseline_predicts_each_class_mean_box_scored_by_its_share():
    from evrepro.detection.baseline import baseline_frames, constant_detections

    train = boxes((0, 0, 0, 10, 20, 0), (0, 10, 20, 30, 40, 0), (0, 5, 5, 4, 8, 1), (0, 0, 0, 10, 10, 0))
    constant = constant_detections(train)
    assert constant["class_id"].tolist() == [0, 1] and constant["confidence"].tolist() == pytest.approx([0.75, 0.25])
    assert [constant[0][f] for f in ("x", "y", "w", "h")] == pytest.approx([10 / 3, 20 / 3, 50 / 3, 70 / 3])
    [(truth, found)] = baseline_frames([(boxes((500, 1, 1, 5, 5, 1)), boxes())], constant)
    assert found.size == 2 and (found["t"] == 500).all() and truth.size == 1
