# Model preprocessing caches, keyed by a hash of their parameters: graphs (AEGNN).

GRAPH_PARAMS = graph_params_by_id()


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
