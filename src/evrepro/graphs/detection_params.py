"""The detection graph cache's parameters and presets: a graph's (``GraphParams``) plus how a detection dataset's
recordings become samples (``evrepro.detection.windows``). Parameters only, so that planning loads no numba."""

from dataclasses import dataclass

from evrepro.detection.windows import WindowParams
from evrepro.graphs.params import GraphParams


@dataclass(frozen=True)
class DetectionGraphParams(GraphParams):
    """A detection run's ``preprocessing`` block: the graph of each window's events, and the windows."""

    window_mode: str = "label"  # evrepro.detection.windows.MODES
    window_us: int = 100_000
    box_filter: str = "gen1"  # evrepro.detection.filters.BOX_FILTERS
    min_events: int = 0

    def __post_init__(self):
        super().__post_init__()
        self.windows  # refuses an unknown mode or filter at once

    @property
    def windows(self) -> WindowParams:
        return WindowParams(mode=self.window_mode, window_us=self.window_us, box_filter=self.box_filter,
                            min_events=self.min_events)


# gen1: AEGNN's Gen1 graph (25,000 events, r 3, up to 128 neighbours) on causal windows scored by the standard filter;
# gen1_original: the original's samples as well (per box, [t - 100 ms, t + 300 ms], its 1-Mpx filter, >= 4,000
# events); traffic: the embedded set (64×48, about 400-1,100 events per 100 ms window, boxes too small for Gen1's
# filter, so none).
PRESETS = {
    "gen1": DetectionGraphParams(events_per_sample=25_000, radius=3.0, max_neighbors=128, beta_per_us=0.5e-5),
    "gen1_original": DetectionGraphParams(events_per_sample=25_000, radius=3.0, max_neighbors=128,
                                          beta_per_us=0.5e-5, window_mode="original", box_filter="original",
                                          min_events=4_000),
    # N-Caltech101's samples with their one annotated box each (AEGNN's ncaltech101 graph; windows do not apply)
    "ncaltech101": DetectionGraphParams(events_per_sample=25_000, radius=5.0, max_neighbors=32, beta_per_us=0.5e-5,
                                        box_filter="none"),
    "traffic": DetectionGraphParams(events_per_sample=1_000, radius=3.0, max_neighbors=16, beta_per_us=3e-5,
                                    box_filter="none"),
}
