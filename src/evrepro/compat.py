"""The original code's behaviours a run can reproduce instead of evrepro's fixes (docs/fidelity.md): the ``compat``
field of AEGNN's graph-cache parameters and network configuration and of ECN's training recipe."""

from dataclasses import asdict


class Compat:
    """Mixin of a frozen dataclass with a field ``compat: tuple[str, ...] = ()``, the names of ``COMPAT`` it reproduces
    (``COMPAT_KEY``: the config key a refusal names)."""

    COMPAT: tuple[str, ...] = ()
    COMPAT_KEY = "compat"

    def __post_init__(self):
        unknown = [name for name in self.compat if name not in self.COMPAT]
        if unknown:
            raise ValueError(f"{self.COMPAT_KEY}: {', '.join(unknown)} is none of {', '.join(self.COMPAT)}")
        # a tuple in COMPAT's order, whatever the order or type of the config's list: one id per computation
        object.__setattr__(self, "compat", tuple(name for name in self.COMPAT if name in self.compat))

    def as_dict(self) -> dict:
        """Its fields; ``compat`` only when set, so that caches and trainings made before it existed keep their ids."""
        values = asdict(self)
        if not self.compat:
            del values["compat"]
        return values
