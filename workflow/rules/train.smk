# Training: one job per run × seed, one rule per model family (evrepro.families: train_aegnn, train_ecn). Killed
# jobs resume from checkpoints/last.* when run again. A job's params are what decides its training (not the seed
# list, not the description, not the run's execution block: GPUs, threads, memory, time), so adding a seed or
# editing those reruns nothing that exists. A rerun job that finds its training complete rewrites its outputs from
# checkpoints/last.*; one whose training changed sets the old one aside under superseded/ (evrepro.training.folder).

for model_family in FAMILIES.values():

    rule:
        name:
            model_family.train_rule
        input:
            cache=run_cache,
        output:
            best=layout.best_checkpoint(model_family.checkpoint_suffix),
            history=layout.HISTORY,
            model=layout.MODEL,
            config=layout.RUN_CONFIG,
        params:
            training=train_params,
        wildcard_constraints:
            run=run_pattern(model_family.name),
        threads: run_threads("train")
        priority: run_priority
        resources:  # from the run's execution block; a job cut off resumes from its checkpoint when resubmitted
            gpu=run_resource("train", "gpu"),
            gpu_model=run_resource("train", "gpu_model"),
            cpus_per_gpu=run_resource("train", "cpus_per_gpu"),
            mem_mb=run_resource("train", "mem_mb"),
            runtime=run_resource("train", "runtime"),
        benchmark:
            layout.job_file(layout.BENCHMARK, "train", layout.RUN_JOB)
        log:
            layout.job_file(layout.LOG, "train", layout.RUN_JOB),
        conda:
            run_conda_env
        script:
            "../../scripts/train.py"
