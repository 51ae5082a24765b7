# Report: tables and figures from result files (never from models).


rule datasets_table:
    input:
        expand("results/events/{dataset}.h5", dataset=DATASETS),
    output:
        report(
            "results/tables/datasets.csv",
            caption="../report/datasets_table.rst",
            category="Datasets",
        ),
    params:
        datasets=DATASETS,
    log:
        "logs/report/datasets_table.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/datasets_table.py"


rule samples_figure:
    input:
        "results/events/{dataset}.h5",
    output:
        report(
            "results/figures/{dataset}_samples.png",
            caption="../report/samples_figure.rst",
            category="Datasets",
            labels={"dataset": "{dataset}", "figure": "samples per class"},
        ),
    params:
        options=lambda wildcards: {
            "samples_per_class": config["report"]["samples_per_class"],
            "max_classes": config["report"]["max_classes"],
            "split": config["report"]["figure_split"],
        },
    log:
        "logs/report/samples_figure_{dataset}.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/samples_figure.py"


rule runs_table:
    input:
        [f"{folder}/metrics.json" for folder in run_seed_dirs()],
    output:
        report(
            "results/tables/runs.csv",
            caption="../report/runs_table.rst",
            category="Results",
        ),
    params:
        runs=runs_table_params(),
    log:
        "logs/report/runs_table.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/runs_table.py"


rule training_curves:
    input:
        [f"{folder}/history.csv" for folder in run_seed_dirs()],
    output:
        report(
            "results/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="Results",
        ),
    log:
        "logs/report/training_curves.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/training_curves.py"


rule stream_figures:
    input:
        "results/streams/{dataset}/{prep}.h5",
    output:
        levels=report(
            "results/figures/streams/{dataset}-{prep}_levels.png",
            caption="../report/stream_levels.rst",
            category="ECN streams",
            labels={"cache": "{dataset}-{prep}", "figure": "LIF levels"},
        ),
        neighbourhood=report(
            "results/figures/streams/{dataset}-{prep}_neighbourhood.png",
            caption="../report/stream_neighbourhood.rst",
            category="ECN streams",
            labels={"cache": "{dataset}-{prep}", "figure": "neighbourhoods"},
        ),
    params:
        split=config["report"]["figure_split"],
    log:
        "logs/report/stream_figures_{dataset}_{prep}.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/stream_figures.py"


rule async_table:
    input:
        [f"{folder}/async.json" for folder in run_seed_dirs("aegnn")],
    output:
        report(
            "results/tables/async.csv",
            caption="../report/async_table.rst",
            category="Results",
        ),
    log:
        "logs/report/async_table.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/async_table.py"


rule async_figures:
    input:
        results=[f"{folder}/async.json" for folder in run_seed_dirs("aegnn")],
        accuracy=[f"{folder}/accuracy_vs_events.csv" for folder in run_seed_dirs("aegnn")],
    output:
        flops=report(
            "results/figures/async_flops_per_layer.png",
            caption="../report/async_flops_figure.rst",
            category="Results",
        ),
        accuracy=report(
            "results/figures/accuracy_vs_events.png",
            caption="../report/accuracy_vs_events.rst",
            category="Results",
        ),
    log:
        "logs/report/async_figures.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/async_figures.py"
