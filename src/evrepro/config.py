"""Read and validate the workflow config, in the Snakefile and outside it, with errors that point at the mistake."""

from pathlib import Path

import yaml

from evrepro.errors import ConfigError

SCHEMA = Path(__file__).with_name("config.schema.yaml")  # shipped inside the package

# keys that moved or were renamed, by path ("*": any run name), and what to write instead
MOVED_KEYS = {
    ("runs", "*", "training", "threads"): "moved to the run's execution.threads (execution.cpus_per_gpu with GPUs); "
    "`--threads N` on the CLI",
    ("runs", "*", "training", "device"): "moved to the run's execution.device (how a job runs, not what it trains)",
    ("runs", "*", "training", "checkpoint_every_batches"): "moved to the run's execution.checkpoint_every_batches "
    "(see also execution.checkpoint_minutes)",
    ("async_eval", "threads"): "removed: the async_eval job uses the threads its rule is given "
    "(`snakemake --set-threads async_eval=N`; `--threads N` on the CLI)",
    ("runs", "*", "training", "decay"): "renamed lr_decay (the same per-epoch factor, as ECN's runs call it)",
    ("runs", "*", "preprocessing", "n_samples"): "renamed events_per_sample (events kept per sample; a sample is "
    "one recording, as in max_train_samples)",
    ("runs", "*", "preprocessing", "seed"): "renamed subsample_seed (the seed of AEGNN's event subsampling)",
    ("datasets", "digits", "generator", "test_fraction"): "renamed test_image_fraction (the digit images held out "
    "for test; a dataset's own test_fraction holds out recordings where its release has no test split)",
    ("runs", "*", "model"): "renamed family (the model family: aegnn or ecn, as every table names it)",
}


def read_yaml(path: str | Path) -> dict:
    """A YAML mapping from ``path``; a syntax error names the file, line and column."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        context = f" ({error.context})" if error.context else ""
        raise ConfigError(f"{where}: YAML syntax error: {error.problem}{context}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: YAML syntax error: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: holds a YAML {type(data).__name__}, not a mapping of config keys")
    return data


def _paths(config, pattern: tuple[str, ...], prefix=()):
    """The key paths in ``config`` that match ``pattern``."""
    if not pattern:
        yield prefix
        return
    if isinstance(config, dict):
        for key in (config if pattern[0] == "*" else [pattern[0]] if pattern[0] in config else []):
            yield from _paths(config[key], pattern[1:], (*prefix, key))


def check_moved_keys(config: dict) -> None:
    """Refuse a key that moved or was renamed, naming what replaces it."""
    for pattern, instead in MOVED_KEYS.items():
        for path in _paths(config, pattern):
            raise ConfigError(f"config {'.'.join(path)}: {instead}")


def validate_config(config: dict, schema: str | Path = SCHEMA) -> dict:
    """Validate ``config`` against the workflow schema and fill in its defaults, in place.

    The error is one line: where in the config (``runs.x.training``) and what is wrong there.
    """
    import jsonschema
    from snakemake.utils import validate

    check_moved_keys(config)
    schema = Path(schema)
    document = yaml.safe_load(schema.read_text())
    validator = jsonschema.validators.validator_for(document)(document)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ConfigError(f"config {where}: {error.message}")
    validate(config, str(schema.resolve()))
    return config


def load_config(path: str | Path, schema: str | Path = SCHEMA) -> dict:
    """Read a config YAML, validate it against the workflow schema and fill its defaults."""
    if not Path(path).exists():
        raise ConfigError(f"{path}: config file not found (give another with --config)")
    try:
        return validate_config(read_yaml(path), schema)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}" if not str(error).startswith(str(path)) else str(error)) from None
