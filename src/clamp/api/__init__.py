"""Clamp as a service: the REST API under ``/api/v1``, its authentication, the console and
the scheduler (``clamp serve``)."""
