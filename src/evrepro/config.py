"""Load and validate a workflow config outside Snakemake, with the same schema and default filling."""

from pathlib import Path

import yaml

REPO_SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def load_config(path: str | Path, schema: str | Path = REPO_SCHEMA) -> dict:
    """Read a config YAML, validate it against the workflow schema and fill its defaults."""
    from snakemake.utils import validate

    schema = Path(schema)
    if not schema.exists():
        raise FileNotFoundError(f"config schema {schema} not found; run evrepro from its repository checkout")
    config = yaml.safe_load(Path(path).read_text()) or {}
    validate(config, str(schema.resolve()))
    return config
