"""How a Security Command Center finding names its resource, as Clamp names it (no SDK:
the import and the Pub/Sub intake both use it)."""

from __future__ import annotations


def clamp_resource(resource_name: str, display_name: str) -> str:
    """SCC's ``resourceName`` (a full resource name) as Clamp's id: the same, except that a
    Compute resource named by its numeric id takes its display name (Clamp names Compute
    resources by name)."""
    head, _, last = resource_name.rpartition("/")
    if last.isdigit() and display_name and resource_name.startswith("//compute.googleapis.com/"):
        return f"{head}/{display_name}"
    return resource_name
