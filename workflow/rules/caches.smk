# Model preprocessing caches, keyed by a hash of their parameters: graphs (AEGNN), streams (ECN).

GRAPH_PARAMS = cache_params_by_id("graphs")
STREAM_PARAMS = cache_params_by_id("streams")


rule graphs:
    input:
        layout.EVENTS,
    output:
        layout.GRAPHS,
    params:
        preprocessing=lambda wildcards: GRAPH_PARAMS[wildcards.prep],
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
