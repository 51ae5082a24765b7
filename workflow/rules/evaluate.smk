# Evaluation of each run × seed on the test split (one rule per model family: evaluate_aegnn, evaluate_ecn), and
# the event-by-event evaluation of the families that have one (evrepro.families: AEGNN).

for model_family in FAMILIES.values():

    rule:
        name:
            model_family.evaluate_rule
        input:
            cache=run_cache,
            best=layout.best_checkpoint(model_family.checkpoint_suffix),
            model=layout.MODEL,
        output:
            metrics=layout.METRICS,
            details=layout.CONFUSION if model_family.evaluation == "confusion" else layout.DETECTIONS,
        wildcard_constraints:
            run=run_pattern(model_family.name),
        threads: run_threads("evaluate")
        resources:  # from the run's execution block: one GPU at most
            gpu=run_resource("evaluate", "gpu"),
            gpu_model=run_resource("evaluate", "gpu_model"),
            cpus_per_gpu=run_resource("evaluate", "cpus_per_gpu"),
            mem_mb=run_resource("evaluate", "mem_mb"),
            runtime=60,  # minutes
        benchmark:
            layout.job_file(layout.BENCHMARK, "evaluate", layout.RUN_JOB)
        log:
            layout.job_file(layout.LOG, "evaluate", layout.RUN_JOB),
        conda:
            run_conda_env
        script:
            "../../scripts/evaluate.py"


rule async_eval:
    input:
        cache=run_cache,
        best=run_best_checkpoint,
        model=layout.MODEL,
    output:
        result=layout.ASYNC,
        accuracy=layout.SCORE_VS_EVENTS,
    params:
        options=canonical(config["async_eval"]),
        record_format=ASYNC_FORMAT,  # a change of async.json's shape re-runs the evaluation
    wildcard_constraints:
        run=runs_pattern(ASYNCHRONOUS_RUNS),
    threads: 1  # one thread times a CPU's latency best
    resources:  # from the run's execution block: one GPU at most, none when async_eval.device is cpu
        gpu=async_eval_resource("gpu"),
        gpu_model=async_eval_resource("gpu_model"),
        mem_mb=async_eval_resource("mem_mb"),
        runtime=240,  # minutes; event by event: N-Caltech101 streams take seconds per event
    benchmark:
        layout.job_file(layout.BENCHMARK, "async_eval", layout.RUN_JOB)
    log:
        layout.job_file(layout.LOG, "async_eval", layout.RUN_JOB),
    conda:
        run_conda_env
    script:
        "../../scripts/async_eval.py"
