"""The configured detectors, and the columns their map sides add."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from detectors import Detector, build_detector, detector_class
from pipeline.annotate.roles import role_fields
from schemas.config import LoadedConfig
from schemas.loading import ConfigError


def _resolve(config: LoadedConfig, value: Any) -> Any:
    """A path or list of paths resolved against the config's folder; anything else as it is."""
    if isinstance(value, str):
        return str(config.resolve(value))
    if isinstance(value, list):
        return [str(config.resolve(v)) if isinstance(v, str) else v for v in value]
    return value


def build_detectors(config: LoadedConfig) -> list[Detector]:
    """The configured detectors; file paths among their params are relative to the config file.

    A path param is named ``key`` (a path or a list of paths) or ``key[].field`` (a list of
    mappings, each holding paths under ``field``)."""
    detectors = []
    for index, spec in enumerate(config.audit.detectors):
        params = dict(spec.params)
        try:
            for name in detector_class(spec.name).PATH_PARAMS:
                key, nested, field = name.partition("[].")
                value = params.get(key)
                if not nested and key in params:
                    params[key] = _resolve(config, value)
                elif nested and isinstance(value, list):
                    params[key] = [
                        {**v, field: _resolve(config, v[field])} if isinstance(v, dict) and field in v else v
                        for v in value
                    ]
            detectors.append(build_detector(spec.name, params))
        except ValueError as exc:
            raise ConfigError(f"{config.path}: detectors[{index}]: {exc}") from None
    return detectors


def map_fields(detectors: list[Detector]) -> list[pa.Field]:
    """Every column the map sides add, in config order, then the turn roles of their spans."""
    return [field for detector in detectors for field in detector.output_fields()] + role_fields(detectors)
