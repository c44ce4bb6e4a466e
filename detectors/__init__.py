"""Detector families and the registry that builds them from a job config."""

from __future__ import annotations

from typing import Any

from detectors.base import Detector, GlobalDetector
from detectors.dedup.exact import ExactDedup
from detectors.dedup.minhash import MinHashDetector
from detectors.pii import PiiDetector
from detectors.quality.language import LanguageDetector

REGISTRY: dict[str, type[Detector]] = {
    cls.name: cls for cls in (LanguageDetector, ExactDedup, MinHashDetector, PiiDetector)
}


def build_detector(name: str, params: dict[str, Any] | None = None) -> Detector:
    """Instantiate a registered detector; unknown names and bad params raise ValueError."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; available: {', '.join(sorted(REGISTRY))}") from None
    return cls(params)


__all__ = ["REGISTRY", "Detector", "GlobalDetector", "build_detector"]
