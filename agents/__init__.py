"""Firm agents of the lithium chain and their decision rules."""

from agents.firm import FIRM_TYPES, SEGMENTS, UNITS, CathodeMaker, CellMaker, Firm, FirmBook, SaltMaker

__all__ = ["FIRM_TYPES", "SEGMENTS", "UNITS", "CathodeMaker", "CellMaker", "Firm", "FirmBook", "SaltMaker"]
