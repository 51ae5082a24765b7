# Data stages: fetch (download or generate) -> extract -> events (one canonical HDF5 per dataset). The unpacked files
# are an intermediate, not a result: removed once the events store is built (`--notemp` keeps them), unpacked again
# from the checked archives when the events store is rebuilt.


rule fetch:
    output:
        manifest=layout.MANIFEST,
    params:
        generator=fetch_params,
    priority: CACHE_PRIORITY
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,  # minutes; the large downloads (N-Caltech101, Gen1) take hours on slow links
    log:
        layout.job_file(layout.LOG, "fetch", layout.DATASET_JOB),
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/fetch.py"


rule extract:
    input:
        manifest=layout.MANIFEST,
    output:
        temp(directory(layout.RAW)),
    priority: CACHE_PRIORITY
    threads: 1
    resources:
        mem_mb=1000,
        runtime=120,  # minutes
    log:
        layout.job_file(layout.LOG, "extract", layout.DATASET_JOB),
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/extract.py"


rule events:
    input:
        manifest=layout.MANIFEST,
        raw=layout.RAW,
    output:
        events=layout.EVENTS,
        splits=layout.SPLITS,
    params:
        dataset_config=events_params,
    priority: CACHE_PRIORITY
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,  # minutes
    log:
        layout.job_file(layout.LOG, "events", layout.DATASET_JOB),
    conda:
        "../../envs/data.yaml"
    script:
        "../../scripts/events.py"
