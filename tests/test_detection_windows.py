"""Detection samples from a recording's boxes: causal windows per labelled time, or the original's per-box windows."""

import numpy as np
import pytest

from evrepro.detection.windows import WindowParams, windows
from test_detection_metrics import boxes


def recording_boxes():
    return boxes((400_000, 10, 10, 40, 40, 0),  # before 0.5 s: filtered out
                 (700_000, 10, 10, 40, 40, 0), (700_000, 100, 50, 12, 30, 1),
                 (700_000, 200, 50, 5, 5, 1),  # too small for Gen1's filter
                 (1_000_000, 20, 10, 40, 40, 0))


def test_label_windows_hold_the_events_up_to_each_labelled_time_and_its_boxes():
    samples = windows(recording_boxes()[::-1], WindowParams(window_us=100_000))
    assert [(w.start, w.stop, w.label_t) for w in samples] == [(600_001, 700_001, 700_000),
                                                               (900_001, 1_000_001, 1_000_000)]
    assert sorted(samples[0].boxes["class_id"].tolist()) == [0, 1] and samples[1].boxes["x"].tolist() == [20]


def test_original_windows_are_one_per_box_and_see_300_ms_ahead():
    samples = windows(recording_boxes(), WindowParams(mode="original", box_filter="none"))
    assert [w.label_t for w in samples] == [400_000, 700_000, 700_000, 700_000, 1_000_000]
    first = samples[0]
    assert (first.start, first.stop) == (300_000, 700_001)
    assert first.boxes["t"].tolist() == [400_000, 700_000, 700_000, 700_000]  # every box labelled in the window
    assert samples[-1].boxes["t"].tolist() == [1_000_000]


def test_unknown_modes_and_filters_are_refused():
    with pytest.raises(ValueError, match="window mode 'future' is none of label, original"):
        WindowParams(mode="future")
    with pytest.raises(ValueError, match="box filter 'gen4'"):
        WindowParams(box_filter="gen4")
    assert windows(np.zeros(0, recording_boxes().dtype), WindowParams()) == []
