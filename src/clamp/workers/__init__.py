"""Fan-out on Celery workers: scans, fixes, undos, rule runs and events as tasks.

The job functions (``clamp.workers.jobs``) are what a task runs and what runs in-process
when no ``[workers]`` are configured: one machine needs no broker. ``clamp worker`` starts a
worker; ``clamp scan --workers`` sends one task per subscription/project and waits. Workers
share a per-account call budget in Redis (``clamp.workers.budget``) and never run two
actions on one resource at once (``clamp.workers.leases``).
"""
