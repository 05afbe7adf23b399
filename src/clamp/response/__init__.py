"""Incident response: incidents, playbooks of containment steps, runs, approvals.

``Responder`` opens and closes incidents, runs a playbook against a target VM step by step
through the action engine (each step planned, applied, verified, journaled), undoes a
whole run in reverse, queues runs that need a second person's approval, and reconciles a
run a crash left behind.
"""

from clamp.response.playbook import Playbook, Step, load_playbook, shipped_playbooks
from clamp.response.responder import Responder

__all__ = ["Playbook", "Responder", "Step", "load_playbook", "shipped_playbooks"]
