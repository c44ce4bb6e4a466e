"""Detector families and the registry that builds them from a job config.

Families are imported when first named, not with this package: some load heavy libraries
(spaCy and Presidio for ``pii``), and a process that needs one family, or only the provenance
snapshot store, should not pay for the others.
"""

from __future__ import annotations

import importlib
from typing import Any

from detectors.base import Detector

REGISTRY: dict[str, str] = {
    "quality.language": "detectors.quality.language:LanguageDetector",
    "quality.classifier": "detectors.quality.classifier:QualityClassifier",
    "quality.gopher": "detectors.quality.gopher:GopherQuality",
    "quality.repetition": "detectors.quality.repetition:GopherRepetition",
    "quality.c4": "detectors.quality.c4:C4Quality",
    "quality.fineweb": "detectors.quality.fineweb:FineWebQuality",
    "quality.chinese": "detectors.quality.chinese:ChineseQuality",
    "dedup.exact": "detectors.dedup.exact:ExactDedup",
    "dedup.minhash": "detectors.dedup.minhash:MinHashDetector",
    "pii": "detectors.pii.detector:PiiDetector",
    "provenance": "detectors.provenance.detector:ProvenanceDetector",
    "harm": "detectors.harm.detector:HarmDetector",
    "bias": "detectors.bias.detector:BiasDetector",
    "decontamination": "detectors.decontamination.detector:DecontaminationDetector",
    "synthetic": "detectors.synthetic.detector:SyntheticDetector",
}
"""Detector name -> ``module:class``."""


def detector_class(name: str) -> type[Detector]:
    """The class registered under ``name``; ValueError naming the known detectors otherwise."""
    try:
        module, _, attribute = REGISTRY[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; available: {', '.join(sorted(REGISTRY))}") from None
    return getattr(importlib.import_module(module), attribute)


def build_detector(name: str, params: dict[str, Any] | None = None) -> Detector:
    """Instantiate a registered detector; unknown names and bad params raise ValueError."""
    return detector_class(name)(params)


__all__ = ["REGISTRY", "Detector", "build_detector", "detector_class"]
