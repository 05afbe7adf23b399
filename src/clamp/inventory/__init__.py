"""Inventories Clamp reads without a cloud connection: offline exports."""
