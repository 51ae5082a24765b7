# Evaluation of each run × seed on the test split.


rule evaluate:
    input:
        graphs=graph_cache,
        best="results/runs/{run}/seed-{seed}/checkpoints/best.pt",
        model="results/runs/{run}/seed-{seed}/model.json",
    output:
        metrics="results/runs/{run}/seed-{seed}/metrics.json",
        confusion="results/runs/{run}/seed-{seed}/confusion.csv",
    log:
        "logs/evaluate/{run}_seed-{seed}.log",
    conda:
        "../../envs/aegnn.yaml"
    script:
        "../../scripts/evaluate.py"
