# Evaluation of each run × seed on the test split.


rule evaluate_aegnn:
    input:
        graphs=run_cache,
        best=layout.BEST["aegnn"],
        model=layout.MODEL,
    output:
        metrics=layout.METRICS,
        confusion=layout.CONFUSION,
    wildcard_constraints:
        run=run_pattern("aegnn"),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,  # minutes
    benchmark:
        layout.job_file(layout.BENCHMARK, "evaluate", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "evaluate", "{run}_seed-{seed}"),
    conda:
        "../../envs/aegnn.yaml"
    script:
        "../../scripts/evaluate_aegnn.py"


rule evaluate_ecn:
    input:
        streams=run_cache,
        best=layout.BEST["ecn"],
        model=layout.MODEL,
    output:
        metrics=layout.METRICS,
        confusion=layout.CONFUSION,
    wildcard_constraints:
        run=run_pattern("ecn"),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,  # minutes
    benchmark:
        layout.job_file(layout.BENCHMARK, "evaluate", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "evaluate", "{run}_seed-{seed}"),
    conda:
        "../../envs/ecn.yaml"
    script:
        "../../scripts/evaluate_ecn.py"


rule async_eval:
    input:
        graphs=run_cache,
        best=layout.BEST["aegnn"],
        model=layout.MODEL,
    output:
        result=layout.ASYNC,
        accuracy=layout.ACCURACY_VS_EVENTS,
    params:
        options=canonical(config["async_eval"]),
    wildcard_constraints:
        run=run_pattern("aegnn"),
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,  # minutes; event by event: N-Caltech101 streams take seconds per event; one thread times it best
    benchmark:
        layout.job_file(layout.BENCHMARK, "async_eval", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "async_eval", "{run}_seed-{seed}"),
    conda:
        "../../envs/aegnn.yaml"
    script:
        "../../scripts/async_eval.py"
