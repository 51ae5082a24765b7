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
    threads: run_threads("evaluate")
    resources:  # from the run's execution block: one GPU at most
        gpu=run_resource("evaluate", "gpu"),
        gpu_model=run_resource("evaluate", "gpu_model"),
        cpus_per_gpu=run_resource("evaluate", "cpus_per_gpu"),
        mem_mb=run_resource("evaluate", "mem_mb"),
        runtime=60,  # minutes
    benchmark:
        layout.job_file(layout.BENCHMARK, "evaluate", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "evaluate", "{run}_seed-{seed}"),
    conda:
        run_conda_env("aegnn")
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
    threads: run_threads("evaluate")
    resources:  # from the run's execution block: one GPU at most
        gpu=run_resource("evaluate", "gpu"),
        gpu_model=run_resource("evaluate", "gpu_model"),
        cpus_per_gpu=run_resource("evaluate", "cpus_per_gpu"),
        mem_mb=run_resource("evaluate", "mem_mb"),
        runtime=60,  # minutes
    benchmark:
        layout.job_file(layout.BENCHMARK, "evaluate", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "evaluate", "{run}_seed-{seed}"),
    conda:
        run_conda_env("ecn")
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
    threads: 1  # one thread times a CPU's latency best
    resources:  # from the run's execution block: one GPU at most, none when async_eval.device is cpu
        gpu=async_eval_resource("gpu"),
        gpu_model=async_eval_resource("gpu_model"),
        mem_mb=async_eval_resource("mem_mb"),
        runtime=240,  # minutes; event by event: N-Caltech101 streams take seconds per event
    benchmark:
        layout.job_file(layout.BENCHMARK, "async_eval", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "async_eval", "{run}_seed-{seed}"),
    conda:
        run_conda_env("aegnn")
    script:
        "../../scripts/async_eval.py"
