# Training: one job per run × seed. Killed jobs resume from checkpoints/last.* when run again.
# A job's params are what decides its training (not the seed list, not the description, not threads or
# device), so adding a seed or editing a description reruns nothing that exists. A rerun job that finds
# its training complete rewrites its outputs from checkpoints/last.*; one whose training changed sets
# the old one aside under superseded/ (evrepro.run_folder).


rule train_aegnn:
    input:
        graphs=run_cache,
    output:
        best="results/runs/{run}/seed-{seed}/checkpoints/best.pt",
        history="results/runs/{run}/seed-{seed}/history.csv",
        model="results/runs/{run}/seed-{seed}/model.json",
    params:
        training=train_params,
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
        training=train_params,
    wildcard_constraints:
        run=run_pattern("ecn"),
    log:
        "logs/train/{run}_seed-{seed}.log",
    conda:
        "../../envs/ecn.yaml"
    script:
        "../../scripts/train_ecn.py"
