# Training: one job per run × seed. Killed jobs resume from checkpoints/last.* when run again.
# A job's params are what decides its training (not the seed list, not the description, not threads or
# device), so adding a seed or editing a description reruns nothing that exists. A rerun job that finds
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
    threads: 2
    resources:
        mem_mb=8000,
        runtime=1440,  # minutes; a killed or timed-out job resumes from its last epoch when resubmitted
    benchmark:
        layout.job_file(layout.BENCHMARK, "train", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "train", "{run}_seed-{seed}"),
    conda:
        "../../envs/aegnn.yaml"
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
    threads: 2
    resources:
        mem_mb=16000,
        runtime=1440,  # minutes; a killed or timed-out job resumes from its last checkpoint when resubmitted
    benchmark:
        layout.job_file(layout.BENCHMARK, "train", "{run}_seed-{seed}")
    log:
        layout.job_file(layout.LOG, "train", "{run}_seed-{seed}"),
    conda:
        "../../envs/ecn.yaml"
    script:
        "../../scripts/train_ecn.py"
