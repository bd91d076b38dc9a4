"""Settings, declared once in :data:`SETTINGS`.

Each setting has a name, a default and a help text. A value is taken from, in order: a
command-line flag (such as ``--format`` or ``--root``), ``--setting NAME VALUE``, the
environment variable ``COOPGRAPH_<NAME>`` (upper case), and the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coopgraph.errors import SettingError

ENV_PREFIX = "COOPGRAPH_"


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default value and help text.

    Attributes:
        name: The setting's name, as used by ``--setting`` (env: ``COOPGRAPH_<NAME>``).
        default: The value used when nothing else sets it; its type is the setting's type.
        help: One sentence for a person: what the setting changes.
    """

    name: str
    default: str | float
    help: str

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting."""
        return ENV_PREFIX + self.name.upper()

    def convert(self, value: Any, origin: str) -> str | float:
        """Return ``value`` converted to this setting's type.

        Raises:
            SettingError: when the value cannot be converted; names ``origin``.
        """
        if isinstance(self.default, float):
            try:
                return float(value)
            except (TypeError, ValueError):
                raise SettingError(
                    f"setting {self.name} (from {origin}) must be a number, not {value!r}"
                ) from None
        return str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "root",
        "",
        "The project folder holding ontology/, data/ and shapes/; empty: look for it from "
        "the current directory upwards, then from the installed package.",
    ),
    Setting("validate_format", "text", "Output format of `coopgraph validate`."),
    Setting("reason_format", "turtle", "RDF format in which `coopgraph reason` writes."),
    Setting("query_format", "table", "Output format of `coopgraph query`."),
    Setting("stats_format", "table", "Output format of `coopgraph stats`."),
    Setting(
        "progress_after",
        2.0,
        "Seconds of loading after which progress is reported on stderr (negative: never).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get_setting(name: str) -> Setting:
    """Return the setting called ``name``.

    Raises:
        SettingError: when there is no such setting.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise SettingError(f"unknown setting {name!r}; known settings: {known}") from None


def resolve(
    flags: Mapping[str, Any] | None = None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return every setting's value.

    Args:
        flags: Values from dedicated command-line flags; ``None`` means "not given".
        overrides: Values from ``--setting NAME VALUE``.
        environ: The environment to read ``COOPGRAPH_*`` from (default: ``os.environ``).

    Returns:
        A mapping from each setting's name to its value.

    Raises:
        SettingError: for an unknown name or a value of the wrong type.
    """
    flags = flags or {}
    overrides = overrides or {}
    environ = os.environ if environ is None else environ
    for name in [*flags, *overrides]:
        get_setting(name)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        values[setting.name] = _value(setting, flags, overrides, environ)
    return values


def _value(
    setting: Setting,
    flags: Mapping[str, Any],
    overrides: Mapping[str, str],
    environ: Mapping[str, str],
) -> str | float:
    if flags.get(setting.name) is not None:
        return setting.convert(flags[setting.name], "the command line")
    if setting.name in overrides:
        return setting.convert(overrides[setting.name], f"--setting {setting.name}")
    if setting.env_var in environ:
        return setting.convert(environ[setting.env_var], setting.env_var)
    return setting.default
