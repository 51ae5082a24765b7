# Training: one job per run × seed. Killed jobs resume from checkpoints/last.* when run again.


rule train_aegnn:
    input:
        graphs=run_cache,
    output:
        best="results/runs/{run}/seed-{seed}/checkpoints/best.pt",
        history="results/runs/{run}/seed-{seed}/history.csv",
        model="results/runs/{run}/seed-{seed}/model.json",
    params:
        run=lambda wildcards: RUNS[wildcards.run],
    wildcard_constraints:
        run=run_pattern("aegnn"),
    log:
        "logs/train/{run}_seed-{seed}.log",
    conda:
        "../../envs/aegnn.yaml"
    script:
        "../../scripts/train_aegnn.py"


rule train_ecn:
    input:
        streams=run_cache,
    output:
        best="results/runs/{run}/seed-{seed}/checkpoints/best.npz",
        history="results/runs/{run}/seed-{seed}/history.csv",
        model="results/runs/{run}/seed-{seed}/model.json",
    params:
        run=lambda wildcards: RUNS[wildcards.run],
    wildcard_constraints:
        run=run_pattern("ecn"),
    log:
        "logs/train/{run}_seed-{seed}.log",
    conda:
        "../../envs/ecn.yaml"
    script:
        "../../scripts/train_ecn.py"
