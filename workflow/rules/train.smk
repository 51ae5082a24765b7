# Training: one job per run × seed. Killed jobs resume from checkpoints/last.pt when run again.


rule train_aegnn:
    input:
        graphs=graph_cache,
    output:
        best="results/runs/{run}/seed-{seed}/checkpoints/best.pt",
        history="results/runs/{run}/seed-{seed}/history.csv",
        model="results/runs/{run}/seed-{seed}/model.json",
    params:
        run=lambda wildcards: RUNS[wildcards.run],
    log:
        "logs/train/{run}_seed-{seed}.log",
    conda:
        "../../envs/aegnn.yaml"
    script:
        "../../scripts/train_aegnn.py"
