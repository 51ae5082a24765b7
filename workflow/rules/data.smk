# Data stages: fetch (download or generate) -> extract -> events (one canonical HDF5 per dataset).


rule fetch:
    output:
        manifest="resources/archives/{dataset}/manifest.json",
    params:
        generator=fetch_params,
    log:
        "logs/fetch/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/fetch.py"


rule extract:
    input:
        manifest="resources/archives/{dataset}/manifest.json",
    output:
        directory("resources/raw/{dataset}"),
    log:
        "logs/extract/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/extract.py"


rule events:
    input:
        manifest="resources/archives/{dataset}/manifest.json",
        raw="resources/raw/{dataset}",
    output:
        "results/events/{dataset}.h5",
    params:
        dataset_config=split_params,
    log:
        "logs/events/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/events.py"
