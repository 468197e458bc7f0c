"""Validation of the files users bring: strict on what the diagnosis depends on, lenient elsewhere.

``validate(kind, paths)`` answers a :class:`~data.report.Loaded`: typed tables and a French report.
"""

from data.report import Loaded
from data.validation.rules import (map_columns, validate, validate_communes, validate_facilitateurs,
                                   validate_indicateurs, validate_marches, validate_qpv)

__all__ = ["Loaded", "validate", "validate_communes", "validate_qpv", "validate_facilitateurs",
           "validate_marches", "validate_indicateurs", "map_columns"]
