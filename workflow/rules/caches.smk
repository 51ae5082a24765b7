# Model preprocessing caches, keyed by a hash of their parameters: graphs (AEGNN), streams (ECN).

GRAPH_PARAMS = cache_params_by_id("aegnn")
STREAM_PARAMS = cache_params_by_id("ecn")


rule graphs:
    input:
        "results/events/{dataset}.h5",
    output:
        "results/graphs/{dataset}/{prep}.h5",
    params:
        preprocessing=lambda wildcards: GRAPH_PARAMS[wildcards.prep],
    log:
        "logs/graphs/{dataset}_{prep}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/graphs.py"


rule streams:
    input:
        "results/events/{dataset}.h5",
    output:
        "results/streams/{dataset}/{prep}.h5",
    params:
        preprocessing=lambda wildcards: STREAM_PARAMS[wildcards.prep],
    log:
        "logs/streams/{dataset}_{prep}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/streams.py"
