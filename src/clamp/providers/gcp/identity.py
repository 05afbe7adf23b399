"""GCP identities: a project's IAM policy (Resource Manager v3) and the service account an
instance runs as (Compute ``setServiceAccount``).

A policy write carries the etag it was planned from, so a concurrent grant is never lost
(the write is refused). Changing an instance's service account needs the instance stopped:
the driver stops it, sets the account and starts it again if it was running; if setting the
account fails, it starts the instance again with its original identity and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.cloud import compute_v1
from google.iam.v1 import policy_pb2
from google.protobuf import json_format

from clamp.errors import ClampError, CloudError, ConflictError, InputError
from clamp.model import Change, ChangeOp, ChangeType
from clamp.providers.gcp.clients import GcpClients
from clamp.providers.gcp.errors import call
from clamp.providers.gcp.instance import InstanceService, instance_ref
from clamp.providers.gcp.normalize import PROJECTS
from clamp.providers.interface import ProgressCallback

POLICY_TYPE = ChangeType.GCP_PROJECT_POLICY
ACCOUNTS_TYPE = ChangeType.GCP_INSTANCE_ACCOUNTS


class IdentityService:
    """Project IAM policies and instance service accounts."""

    change_types = frozenset({POLICY_TYPE, ACCOUNTS_TYPE, *InstanceService.change_types})

    def __init__(self, clients: GcpClients) -> None:
        self.clients = clients
        self.instances = InstanceService(clients)

    def collect(self, scope: str, progress: ProgressCallback | None) -> list[dict[str, Any]]:
        """The project's IAM policy."""
        if progress:
            progress(f"gcp {scope}: IAM policy")
        return [self.policy(scope)]

    def owns(self, resource_id: str) -> bool:
        """Whether ``resource_id`` is a project (its IAM policy)."""
        return resource_id.startswith(PROJECTS + "/")

    def read(self, resource_id: str) -> tuple[str, list[dict[str, Any]]]:
        """One project's IAM policy."""
        project = resource_id.removeprefix(PROJECTS + "/")
        return project, [self.policy(project)]

    def context(self, resource_id: str) -> list[dict[str, Any]]:
        """An instance's checks need its project's IAM policy."""
        if (
            not resource_id.startswith("//compute.googleapis.com/")
            or "/instances/" not in resource_id
        ):
            return []
        return [self.policy(instance_ref(resource_id)[0])]

    def policy(self, project: str) -> dict[str, Any]:
        """The project's IAM policy as the API returns it, with its kind and resource."""
        policy = call(
            f"read the IAM policy of project {project}",
            "resourcemanager.projects.getIamPolicy",
            lambda: self.clients.projects.get_iam_policy(
                request={"resource": f"projects/{project}"}
            ),
        )
        data: dict[str, Any] = json_format.MessageToDict(policy)
        return {"kind": POLICY_TYPE, "resource": f"projects/{project}", **data}

    # -- changes --------------------------------------------------------------------------
    def current(self, change: Change) -> dict[str, Any] | None:
        """The policy, or the instance's status and service accounts, as GCP has them now."""
        if change.type in InstanceService.change_types:
            return self.instances.current(change)
        if change.type == POLICY_TYPE:
            return self.policy(change.target.removeprefix(PROJECTS + "/"))
        instance = self.instances.instance(change.target)
        return {
            "status": instance.status,
            "serviceAccounts": [
                {"email": sa.email, "scopes": list(sa.scopes)} for sa in instance.service_accounts
            ],
        }

    def apply(self, change: Change) -> None:
        """Set the project's IAM policy, the instance's service account, status or labels."""
        if change.type in InstanceService.change_types:
            self.instances.apply(change)
            return
        if change.op != ChangeOp.UPDATE or change.before is None or change.after is None:
            raise InputError(f"Clamp only updates {change.type} objects")
        if change.type == POLICY_TYPE:
            self._set_policy(change.target, change.before, change.after)
        else:
            self._set_accounts(change.target, change.before, change.after)

    def _set_policy(self, target: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        project = target.removeprefix(PROJECTS + "/")
        body = {k: v for k, v in after.items() if k in ("bindings", "version", "auditConfigs")}
        # The etag read before the change: the API refuses the write if it moved.
        policy = json_format.ParseDict(
            {**body, "etag": before.get("etag", "")}, policy_pb2.Policy()
        )
        call(
            f"set the IAM policy of project {project}",
            "resourcemanager.projects.setIamPolicy",
            lambda: self.clients.projects.set_iam_policy(
                request={"resource": f"projects/{project}", "policy": policy}
            ),
        )

    def _set_accounts(
        self, target: str, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> None:
        now = self.current(Change(ChangeOp.UPDATE, target, ACCOUNTS_TYPE, None, None, ""))
        assert now is not None
        if now["serviceAccounts"] != before.get("serviceAccounts"):
            raise ConflictError(
                f"the service account of {target} changed since it was read; nothing was changed",
                hint="re-run the plan",
            )
        project, zone, name = instance_ref(target)
        was_running = now["status"] == "RUNNING"
        accounts = after.get("serviceAccounts") or []
        request = compute_v1.InstancesSetServiceAccountRequest(
            email=accounts[0]["email"] if accounts else "",
            scopes=list(accounts[0].get("scopes") or []) if accounts else [],
        )
        if was_running:
            self.instances.lifecycle(project, zone, name, "stop")
        try:
            op = call(
                f"set the service account of instance {name}",
                "compute.instances.setServiceAccount",
                lambda: self.clients.instances.set_service_account_unary(
                    project=project,
                    zone=zone,
                    instance=name,
                    instances_set_service_account_request_resource=request,
                ),
            )
            self.instances.wait(project, zone, op)
        except ClampError as exc:
            if not was_running:
                raise
            self.instances.lifecycle(project, zone, name, "start")
            raise CloudError(
                f"{exc.message}; recovery: instance {name} was started again with its original "
                "service account"
            ) from exc
        if was_running:
            self.instances.lifecycle(project, zone, name, "start")
