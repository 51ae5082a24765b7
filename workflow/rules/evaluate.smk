# Evaluation of each run × seed on the test split.


rule evaluate_aegnn:
    input:
        graphs=run_cache,
        best="results/runs/{run}/seed-{seed}/checkpoints/best.pt",
        model="results/runs/{run}/seed-{seed}/model.json",
    output:
        metrics="results/runs/{run}/seed-{seed}/metrics.json",
        confusion="results/runs/{run}/seed-{seed}/confusion.csv",
    wildcard_constraints:
        run=run_pattern("aegnn"),
    log:
        "logs/evaluate/{run}_seed-{seed}.log",
    conda:
        "../../envs/aegnn.yaml"
    script:
        "../../scripts/evaluate_aegnn.py"


rule evaluate_ecn:
    input:
        streams=run_cache,
        best="results/runs/{run}/seed-{seed}/checkpoints/best.npz",
        model="results/runs/{run}/seed-{seed}/model.json",
    output:
        metrics="results/runs/{run}/seed-{seed}/metrics.json",
        confusion="results/runs/{run}/seed-{seed}/confusion.csv",
    wildcard_constraints:
        run=run_pattern("ecn"),
    log:
        "logs/evaluate/{run}_seed-{seed}.log",
    conda:
        "../../envs/ecn.yaml"
    script:
        "../../scripts/evaluate_ecn.py"


rule async_eval:
    input:
        graphs=run_cache,
        best="results/runs/{run}/seed-{seed}/checkpoints/best.pt",
        model="results/runs/{run}/seed-{seed}/model.json",
    output:
        result="results/runs/{run}/seed-{seed}/async.json",
        accuracy="results/runs/{run}/seed-{seed}/accuracy_vs_events.csv",
    params:
        options=canonical(config["async_eval"]),
    wildcard_constraints:
        run=run_pattern("aegnn"),
    log:
        "logs/async_eval/{run}_seed-{seed}.log",
    conda:
        "../../envs/aegnn.yaml"
    script:
        "../../scripts/async_eval.py"
