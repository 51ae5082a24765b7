# Report: tables and figures from result files (never from models). Each is quick, so each is a local rule:
# under a cluster executor it runs on the submitting host instead of waiting in the queue.


rule datasets_table:
    input:
        expand(layout.EVENTS, dataset=DATASETS),
    output:
        report(
            layout.fill(layout.TABLE, name="datasets"),
            caption="../report/datasets_table.rst",
            category="Datasets",
        ),
        **layout.table_formats("datasets"),
    params:
        datasets=DATASETS,
    localrule: True
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "datasets_table"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/datasets_table.py"


rule samples_figure:
    input:
        layout.EVENTS,
    output:
        report(
            layout.SAMPLES_FIGURE,
            caption="../report/samples_figure.rst",
            category="Datasets",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "samples per class"},
        ),
        pdf=layout.pdf(layout.SAMPLES_FIGURE),
    params:
        options=lambda wildcards: {
            "samples_per_class": config["report"]["samples_per_class"],
            "max_classes": config["report"]["max_classes"],
            "split": config["report"]["figure_split"],
        },
    localrule: True
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "samples_figure_{dataset}"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/samples_figure.py"


rule runs_table:
    input:
        metrics=run_files(layout.METRICS, CLASSIFICATION_RUNS),
        models=run_files(layout.MODEL, CLASSIFICATION_RUNS),
    output:
        report(
            layout.fill(layout.TABLE, name="runs"),
            caption="../report/runs_table.rst",
            category="Results",
        ),
        **layout.table_formats("runs"),
    params:
        datasets=run_datasets(),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "runs_table"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/runs_table.py"


rule detection_tables:
    input:
        paper_results=layout.PAPER_RESULTS,
        metrics=run_files(layout.METRICS, DETECTION_RUNS),
        asyncs=run_files(layout.ASYNC, ASYNCHRONOUS_DETECTION_RUNS),
    output:
        detection=report(
            layout.fill(layout.TABLE, name="detection"),
            caption="../report/detection_table.rst",
            category="Results",
        ),
        claims=report(
            layout.fill(layout.TABLE, name="detection_claims"),
            caption="../report/detection_claims_table.rst",
            category="AEGNN paper",
        ),
        markdown=[layout.table_formats(name)["markdown"] for name in ("detection", "detection_claims")],
        latex=[layout.table_formats(name)["latex"] for name in ("detection", "detection_claims")],
    params:
        datasets=run_datasets(),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "detection_tables"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/detection_tables.py"


rule detection_figure:
    input:
        detections=layout.DETECTIONS,
        cache=run_cache,
    output:
        png=report(
            layout.DETECTION_FIGURE,
            caption="../report/detection_figure.rst",
            category="Results",
            subcategory="detection",
            labels={"run": "{run}", "seed": "{seed}", "figure": "boxes"},
        ),
        pdf=layout.pdf(layout.DETECTION_FIGURE),
    wildcard_constraints:
        run=runs_pattern(DETECTION_RUNS),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", f"detection_figure_{layout.RUN_JOB}"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/detection_figure.py"


rule training_curves:
    input:
        run_files(layout.HISTORY, CLASSIFICATION_RUNS),
    output:
        report(
            layout.fill(layout.FIGURE, name="training_curves"),
            caption="../report/training_curves.rst",
            category="Results",
        ),
        pdf=layout.pdf(layout.fill(layout.FIGURE, name="training_curves")),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "training_curves"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/training_curves.py"


rule stream_figures:
    input:
        layout.STREAMS,
    output:
        levels=report(
            layout.STREAM_FIGURE.replace("{figure}", "levels"),
            caption="../report/stream_levels.rst",
            category="ECN model",
            subcategory="{dataset}",
            labels={"cache": "{dataset}-{prep}", "figure": "LIF levels"},
        ),
        neighbourhood=report(
            layout.STREAM_FIGURE.replace("{figure}", "neighbourhood"),
            caption="../report/stream_neighbourhood.rst",
            category="ECN model",
            subcategory="{dataset}",
            labels={"cache": "{dataset}-{prep}", "figure": "neighbourhoods"},
        ),
        levels_pdf=layout.pdf(layout.STREAM_FIGURE.replace("{figure}", "levels")),
        neighbourhood_pdf=layout.pdf(layout.STREAM_FIGURE.replace("{figure}", "neighbourhood")),
    params:
        split=config["report"]["figure_split"],
    localrule: True
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "stream_figures_{dataset}_{prep}"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/stream_figures.py"


rule graph_figure:
    input:
        layout.GRAPHS,
    output:
        png=report(
            layout.GRAPH_FIGURE,
            caption="../report/graph_figure.rst",
            category="AEGNN model",
            subcategory="{dataset}",
            labels={"cache": "{dataset}-{prep}", "figure": "radius graph"},
        ),
        pdf=layout.pdf(layout.GRAPH_FIGURE),
    params:
        split=config["report"]["figure_split"],
    localrule: True
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "graph_figure_{dataset}_{prep}"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/graph_figure.py"


rule async_table:
    input:
        run_files(layout.ASYNC, ASYNCHRONOUS_RUNS),
    output:
        report(
            layout.fill(layout.TABLE, name="async"),
            caption="../report/async_table.rst",
            category="AEGNN model",
            subcategory="asynchronous evaluation",
        ),
        **layout.table_formats("async"),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "async_table"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/async_table.py"


rule async_figures:
    input:
        paper_results=layout.PAPER_RESULTS,
        results=run_files(layout.ASYNC, ASYNCHRONOUS_RUNS),
        scores=run_files(layout.SCORE_VS_EVENTS, ASYNCHRONOUS_RUNS),
    output:
        flops=report(
            layout.fill(layout.FIGURE, name="async_flops_per_layer"),
            caption="../report/async_flops_figure.rst",
            category="AEGNN model",
            subcategory="asynchronous evaluation",
        ),
        scores=report(
            layout.fill(layout.FIGURE, name="score_vs_events"),
            caption="../report/score_vs_events.rst",
            category="AEGNN model",
            subcategory="asynchronous evaluation",
        ),
        flops_pdf=layout.pdf(layout.fill(layout.FIGURE, name="async_flops_per_layer")),
        scores_pdf=layout.pdf(layout.fill(layout.FIGURE, name="score_vs_events")),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "async_figures"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/async_figures.py"


rule compute_table:
    input:
        caches=list(cache_benchmarks()),
        models=run_files(layout.MODEL),
        evaluations=run_benchmarks("evaluate"),
        asyncs=run_benchmarks("async_eval", ASYNCHRONOUS_RUNS),
    output:
        report(
            layout.fill(layout.TABLE, name="compute"),
            caption="../report/compute_table.rst",
            category="Results",
        ),
        **layout.table_formats("compute"),
    params:
        cache_users=canonical(cache_benchmarks()),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "compute_table"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/compute_table.py"


rule paper_tables:
    input:
        paper_results=layout.PAPER_RESULTS,
        metrics=run_files(layout.METRICS, CLASSIFICATION_RUNS),
        models=run_files(layout.MODEL, CLASSIFICATION_RUNS),
        asyncs=run_files(layout.ASYNC, ASYNCHRONOUS_CLASSIFICATION_RUNS),
    output:
        **{
            name: report(
                layout.fill(layout.TABLE, name=name),
                caption="../report/claims_table.rst" if name.startswith("claims_") else f"../report/{name}_table.rst",
                category=f"{name.split('_')[1].upper()} paper" if name.startswith("claims") else "Reproduction summary",
            )
            for name in PAPER_TABLES
        },
        markdown=[layout.table_formats(name)["markdown"] for name in PAPER_TABLES],
        latex=[layout.table_formats(name)["latex"] for name in PAPER_TABLES],
    params:
        datasets=run_datasets(),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "paper_tables"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/paper_tables.py"


rule paper_figure:
    input:
        paper_results=layout.PAPER_RESULTS,
        metrics=run_files(layout.METRICS, CLASSIFICATION_RUNS),
        models=run_files(layout.MODEL, CLASSIFICATION_RUNS),
        asyncs=run_files(layout.ASYNC, ASYNCHRONOUS_CLASSIFICATION_RUNS),
    output:
        png=report(
            layout.fill(layout.FIGURE, name="accuracy_vs_mflops"),
            caption="../report/accuracy_vs_mflops.rst",
            category="Reproduction summary",
        ),
        pdf=layout.pdf(layout.fill(layout.FIGURE, name="accuracy_vs_mflops")),
    params:
        datasets=run_datasets(),
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "paper_figure"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/paper_figure.py"


rule results_index:
    input:
        all_targets(),
    output:
        layout.RESULTS_INDEX,
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,  # minutes
    log:
        layout.job_file(layout.LOG, "report", "results_index"),
    conda:
        "../../envs/report.yaml"
    script:
        "../../scripts/results_index.py"
