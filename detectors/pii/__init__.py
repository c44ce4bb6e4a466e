"""Personal information in English and Chinese text: Presidio recognisers with validation."""

from detectors.pii.analysis import PiiEntity
from detectors.pii.detector import ENTITY_TYPES, PiiDetector

__all__ = ["ENTITY_TYPES", "PiiDetector", "PiiEntity"]
