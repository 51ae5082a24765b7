# Model preprocessing caches, keyed by a hash of their parameters: graphs (AEGNN), streams (ECN), detection_graphs
# (AEGNN's detection model: one graph per labelled window of a recordings store).

GRAPH_PARAMS = cache_params_by_id("graphs")
STREAM_PARAMS = cache_params_by_id("streams")
DETECTION_GRAPH_PARAMS = cache_params_by_id("detection_graphs")


rule graphs:
    input:
        layout.EVENTS,
    output:
        layout.GRAPHS,
    params:
        preprocessing=lambda wildcards: GRAPH_PARAMS[wildcards.prep],
    priority: CACHE_PRIORITY
    threads: 2  # the radius-graph search runs on them (numba); one process
    resources:
        mem_mb=4000,
        runtime=240,  # minutes
    benchmark:
        layout.job_file(layout.BENCHMARK, "graphs", layout.CACHE_JOB)
    log:
        layout.job_file(layout.LOG, "graphs", layout.CACHE_JOB),
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/graphs.py"


rule streams:
    input:
        layout.EVENTS,
    output:
        layout.STREAMS,
    params:
        preprocessing=lambda wildcards: STREAM_PARAMS[wildcards.prep],
    priority: CACHE_PRIORITY
    threads: 1
    resources:
        mem_mb=4000,
        runtime=720,  # minutes; N-Caltech101 with 8 augmented copies of 300k-event samples takes hours
    benchmark:
        layout.job_file(layout.BENCHMARK, "streams", layout.CACHE_JOB)
    log:
        layout.job_file(layout.LOG, "streams", layout.CACHE_JOB),
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/streams.py"


rule detection_graphs:
    input:
        layout.EVENTS,
    output:
        layout.DETECTION_GRAPHS,
    params:
        preprocessing=lambda wildcards: DETECTION_GRAPH_PARAMS[wildcards.prep],
    priority: CACHE_PRIORITY
    threads: 2  # the radius-graph search runs on them (numba); one process
    resources:
        mem_mb=4000,
        runtime=480,  # minutes; Gen1's windows of 25,000 events with up to 128 neighbours each
    benchmark:
        layout.job_file(layout.BENCHMARK, "detection_graphs", layout.CACHE_JOB)
    log:
        layout.job_file(layout.LOG, "detection_graphs", layout.CACHE_JOB),
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/detection_graphs.py"
