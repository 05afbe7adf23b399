"""Clamp: find, fix, verify and undo dangerous cloud misconfigurations."""

__version__ = "0.1.0"
