"""The configured detectors, and the columns their map sides add."""

from __future__ import annotations

import pyarrow as pa

from detectors import Detector, build_detector, detector_class
from schemas.config import LoadedConfig
from schemas.loading import ConfigError


def build_detectors(config: LoadedConfig) -> list[Detector]:
    """The configured detectors; file paths among their params are relative to the config file."""
    detectors = []
    for index, spec in enumerate(config.audit.detectors):
        params = dict(spec.params)
        try:
            for name in detector_class(spec.name).PATH_PARAMS:
                value = params.get(name)
                if isinstance(value, str):
                    params[name] = str(config.resolve(value))
                elif isinstance(value, list):
                    params[name] = [str(config.resolve(v)) if isinstance(v, str) else v for v in value]
            detectors.append(build_detector(spec.name, params))
        except ValueError as exc:
            raise ConfigError(f"{config.path}: detectors[{index}]: {exc}") from None
    return detectors


def map_fields(detectors: list[Detector]) -> list[pa.Field]:
    """Every column the map sides add, in config order."""
    return [field for detector in detectors for field in detector.output_fields()]
