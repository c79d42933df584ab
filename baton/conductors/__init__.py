"""Conductors: instruction + text -> plan. ``get_conductor(name, **options)`` builds one by name.

Implementations are imported lazily, so that ``import baton`` stays light (no torch, no HTTP client).
"""

from __future__ import annotations

import importlib
from typing import Any

from baton.conductors.base import Conductor, ConductorError

# name -> "module:factory"; the factory takes keyword options and returns a Conductor.
REGISTRY: dict[str, str] = {
    "embedded": "baton.conductors.embedded:EmbeddedConductor",
    "openai": "baton.conductors.openai_compat:OpenAIConductor",
    "transformers": "baton.conductors.transformers_local:TransformersConductor",
}


def available_conductors() -> list[str]:
    return sorted(REGISTRY)


def get_conductor(name: str = "embedded", **options: Any) -> Conductor:
    """Build the conductor called ``name`` with its options (e.g. ``base_url``, ``model``)."""
    if name not in REGISTRY:
        raise ConductorError(f"unknown conductor '{name}'; valid: {', '.join(available_conductors())}")
    module_name, factory_name = REGISTRY[name].split(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    return factory(**options)


__all__ = ["Conductor", "ConductorError", "get_conductor", "available_conductors", "REGISTRY"]
