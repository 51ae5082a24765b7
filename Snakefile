# evrepro: ECN and AEGNN reproduced side by side. Map of the flow: docs/architecture.md and README.md.
from snakemake.utils import min_version

from evrepro.config import read_yaml, validate_config
from evrepro.training.preemption import outlive_a_warned_training

min_version("9.0")
if workflow.remote_exec:  # a cluster job's Snakemake: on SIGUSR1 it waits for its training to checkpoint and stop
    outlive_a_warned_training()

# `--configfile other.yaml` replaces the default config instead of being merged into it, so that
# `snakemake --configfile config/paper.yaml` plans exactly the paper's runs
CONFIG_FILES = workflow.overwrite_configfiles or ["config/config.yaml"]
for config_file in CONFIG_FILES:
    read_yaml(config_file)  # a YAML syntax error is reported with its line and column
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate_config(config)  # against evrepro/config.schema.yaml, filling in the defaults


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset="|".join(DATASETS),
    run="|".join(RUNS) or "no-runs",
    seed=r"\d+",
    prep=r"[0-9a-f]{10}",


include: "workflow/rules/data.smk"
include: "workflow/rules/caches.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_targets(),
        layout.RESULTS_INDEX,
    default_target: True
    localrule: True
