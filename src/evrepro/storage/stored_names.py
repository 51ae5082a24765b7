"""Parameters renamed after files were written with them keep their first names inside those files.

A cache's parameters are hashed into its id and stored in its attributes, and a training's identity records them:
renaming a field there would rebuild every cache and retrain every run for nothing. So a parameters dataclass that
renamed a field says so in ``STORED_NAMES`` (current name -> first name); ``stored`` is the form written into
files, hashed and recorded, ``from_stored`` reads it back. The config and ``as_dict`` use the current names.
"""

from dataclasses import asdict


def stored(params) -> dict:
    """A parameters dataclass as written into files and hashed into ids: renamed fields under their first names."""
    names = getattr(type(params), "STORED_NAMES", {})
    values = params.as_dict() if hasattr(params, "as_dict") else asdict(params)
    return {names.get(key, key): value for key, value in values.items()}


def from_stored(params_class, values: dict):
    """``params_class`` from its stored form (the first names of renamed fields, or the current ones)."""
    current = {first: name for name, first in getattr(params_class, "STORED_NAMES", {}).items()}
    return params_class(**{current.get(key, key): value for key, value in values.items()})
