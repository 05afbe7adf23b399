"""The containment plug-point: what incident response needs from a cloud about one VM.

The containment intents (``clamp.actions.containment``, ``evidence``, ``isolation``) say
what they want in Clamp's terms — mark the VM, take it to a power state, snapshot its
disks, delete it, quarantine it — and a ``VmChanges`` of the VM's cloud answers with the
facts (its marks, its power state, its disks) and the ``Change`` records in the cloud's
raw shape (ARM tags vs Compute labels and their fingerprint, ``PowerState/…`` codes vs
instance ``status``, snapshot, NSG and firewall bodies). Every method is pure: it reads
the ``Resource`` as read just now, and never calls the cloud. One implementation per cloud
(``providers/azure/vm_changes.py``, ``providers/gcp/instance_changes.py``);
``clamp.providers.factory.vm_changes(provider)`` returns the one for a provider.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from clamp.model import Change, Provider, Resource

QUARANTINE = "clamp-quarantine"
"""The prefix of a VM's quarantine (its NSG on Azure, its network tag on GCP)."""


class PowerState(StrEnum):
    """A VM's power state in Clamp's terms."""

    RUNNING = "running"
    STOPPED = "stopped"
    """Not running. Azure: powered off, the host still allocated (and billed); GCP:
    ``TERMINATED`` (stopped, the host released)."""
    DEALLOCATED = "deallocated"
    """Azure only: stopped and the host released."""
    SUSPENDED = "suspended"
    """GCP only: stopped with its memory kept."""
    OTHER = "other"
    """Starting, stopping, or a state Clamp does not know."""


@dataclass(frozen=True, slots=True)
class Power:
    """A VM's power state, and the word its cloud uses for it (for messages)."""

    state: PowerState
    shown: str


@dataclass(frozen=True, slots=True)
class Disks:
    """A VM's disks Clamp can snapshot (their cloud ids, boot/OS first), and a note for
    each one it cannot."""

    sources: tuple[str, ...]
    skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Quarantine:
    """The changes that cut one VM off the network, and what the plan says about them."""

    changes: tuple[Change, ...]
    summary: str
    restores: str
    """What undo puts back, in order."""
    public_ips: str
    """What taking the VM's public IPs off means for getting them back."""


class VmChanges(ABC):
    """One cloud's facts and changes for a VM, in Clamp's terms. Pure: no I/O.

    Methods raise ``NothingToDo`` or ``PlanRefused`` (``clamp.errors``) only where the
    cloud's objects say so (a VM already in its quarantine, a VM without a NIC)."""

    provider: ClassVar[Provider]
    cloud: ClassVar[str]
    """The cloud's name in messages: ``Azure``, ``GCP``."""
    noun: ClassVar[str]
    """What the cloud calls a VM, in messages: ``VM``, ``instance``."""
    power_states: ClassVar[frozenset[PowerState]]
    """The power states a change can take a running VM to."""

    @abstractmethod
    def marks(self, vm: Resource) -> dict[str, str]:
        """The VM's marks: its tags (Azure) or labels (GCP)."""

    @abstractmethod
    def mark_value(self, value: str) -> str:
        """``value`` as the cloud stores it in a mark (GCP label values are restricted)."""

    @abstractmethod
    def mark(self, vm: Resource, key: str, value: str) -> Change:
        """The change that sets the mark ``key`` to ``value``, keeping every other one."""

    @abstractmethod
    def power(self, vm: Resource) -> Power:
        """The VM's power state as read."""

    @abstractmethod
    def power_change(self, vm: Resource, wanted: PowerState) -> Change:
        """The change that takes the VM from its power state to ``wanted`` (one of
        ``power_states``, or running again)."""

    @abstractmethod
    def power_effects(self, wanted: PowerState) -> str:
        """What else happens when a VM goes to ``wanted`` (billing, addresses), or ""."""

    @abstractmethod
    def disks(self, vm: Resource) -> Disks:
        """The VM's disks, and those that cannot be snapshotted."""

    @abstractmethod
    def snapshot_name(self, disk: str, incident: str, stamp: str) -> str:
        """``<disk>-<incident>-<stamp>`` within the cloud's naming rules for snapshots."""

    @abstractmethod
    def snapshot(self, vm: Resource, source: str, key: str, value: str, stamp: str) -> Change:
        """The CREATE of a snapshot of disk ``source`` (one of ``disks(vm).sources``),
        marked ``key: value`` and named for the disk, ``value`` and ``stamp``."""

    @abstractmethod
    def deletion(self, vm: Resource) -> Change:
        """The VM's DELETE, its raw object as the before-image (for the record)."""

    @abstractmethod
    def deletion_losses(self, vm: Resource) -> str:
        """What is deleted with the VM and what stays (disks, NICs, addresses)."""

    @abstractmethod
    def quarantine(
        self,
        vm: Resource,
        context: Sequence[Resource],
        forensics: Sequence[str],
        drop_ips: bool,
    ) -> Quarantine:
        """A quarantine of the VM's own (deny all in and out, except SSH/RDP from the
        ``forensics`` ranges) and the VM put into it; with ``drop_ips`` its public IPs
        taken off. ``context``: the resources read with the VM (its NICs)."""


def stamped_name(base: str, stamp: str, limit: int, seed: str) -> str:
    """``<base>-<stamp>`` in at most ``limit`` characters: when ``base`` must be shortened,
    a hash of ``seed`` keeps two shortened names apart."""
    room = limit - len(stamp) - 1
    if len(base) > room:
        digest = hashlib.sha256(seed.encode()).hexdigest()[:8]
        base = f"{base[: room - len(digest) - 1].rstrip('-_.')}-{digest}"
    return f"{base}-{stamp}" if base else stamp


def quarantine_name(vm: Resource, limit: int) -> str:
    """The name of the VM's quarantine (NSG, network tag) in at most ``limit`` characters."""
    return f"{QUARANTINE}-{vm.name}"[:limit].rstrip("-")
