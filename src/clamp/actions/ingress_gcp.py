"""Where plugins written before ``clamp.providers.gcp.firewall_changes`` found the Compute
firewall change type and calls; import them from there instead."""

from clamp.providers.gcp.firewall_changes import FIREWALL_TYPE, INSERT, UPDATE

__all__ = ["FIREWALL_TYPE", "INSERT", "UPDATE"]
