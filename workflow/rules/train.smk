# Training: one job per run × seed. Killed jobs resume from checkpoints/last.* when run again.
# A job's params are what decides its training (not the seed list, not the description, not the run's
# execution block: GPUs, threads, memory, time), so adding a seed or editing those reruns nothing that exists. A rerun job that finds
# its training complete rewrites its outputs from checkpoints/last.*; one whose training changed sets
# the old one aside under superseded/ (evrepro.run_folder).


rule train_aegnn:
    input:
        graphs=run_cache,
    output:
        best=layout.BEST["aegnn"],
        history=layout.HISTORY,
        model=layout.MODEL,
        config=layout.RUN_CONFIG,
    params:
        training=train_params,
    wildcard_constraints:
        run=run_pattern("aegnn"),
    threads: run_threads("train")
    resources:  # from the run's execution block; a job cut off resumes from its checkpoint when resubmitted
        gpu=run_resource("train", "gpu"),
        gpu_model=run_resource("train", "gpu_model"),
        cpus_per_gpu=run_resource("train", "cpus_per_gpu"),
        mem_mb=run_resource("train", "mem_mb"),
        runtime=run_resource("train", "runtime"),
    benchmark:
        layout.job_file(layout.BENCHMARK, "train", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "train", "{run}_seed-{seed}"),
    conda:
        run_conda_env("aegnn")
    script:
        "../../scripts/train_aegnn.py"


rule train_ecn:
    input:
        streams=run_cache,
    output:
        best=layout.BEST["ecn"],
        history=layout.HISTORY,
        model=layout.MODEL,
        config=layout.RUN_CONFIG,
    params:
        training=train_params,
    wildcard_constraints:
        run=run_pattern("ecn"),
    threads: run_threads("train")
    resources:  # from the run's execution block; a job cut off resumes from its checkpoint when resubmitted
        gpu=run_resource("train", "gpu"),
        gpu_model=run_resource("train", "gpu_model"),
        cpus_per_gpu=run_resource("train", "cpus_per_gpu"),
        mem_mb=run_resource("train", "mem_mb"),
        runtime=run_resource("train", "runtime"),
    benchmark:
        layout.job_file(layout.BENCHMARK, "train", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "train", "{run}_seed-{seed}"),
    conda:
        run_conda_env("ecn")
    script:
        "../../scripts/train_ecn.py"
