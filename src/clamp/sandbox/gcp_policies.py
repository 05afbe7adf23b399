"""Firewall policies on the Google side of the sandbox: hierarchical policies (organization
level, ``state.gcp_organizations``), global and regional network firewall policies (each
project's ``compute#firewallPolicy`` objects; a regional one has a ``region``), and what
``networks.getEffectiveFirewalls`` / ``regionNetworkFirewallPolicies.getEffectiveFirewalls``
answer for a network.

Sources: compute.v1.json (google-api-python-client) for the paths, parameters and shapes
(``FirewallPolicy``, ``FirewallPolicyRule``, ``NetworksGetEffectiveFirewallsResponse``,
``RegionNetworkFirewallPoliciesGetEffectiveFirewallsResponse``: "Effective firewalls from
firewall policy. It applies to Regional Network Firewall Policies in the specified region,
Global Network Firewall Policies and Hierachial Firewall Policies which are associated
with the network"); the Cloud NGFW docs for what applies: a hierarchical policy applies
through an association with the organization or a folder above the project, a network
policy through an association with the network, and a rule whose ``targetResources`` name
other networks does not apply to this one. Every sandbox project's parent is organization
``123456789012`` (``projects_search``); folders are not modelled. ``patchRule`` has no
fingerprint condition in the API (its only query parameters are ``priority`` and
``requestId``), so the sandbox applies it unconditionally; the policy's ``fingerprint``
changes with every write. Refusal messages follow Compute's style, not Google's words.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clamp.sandbox.gcp import ComputeApi
from clamp.sandbox.gcp_errors import google_error
from clamp.sandbox.state import Json

ORGANIZATION = "123456789012"
"""The organization ``projects_search`` names as every sandbox project's parent."""
ACTIONS = frozenset({"allow", "deny", "goto_next", "apply_security_profile_group"})
POLICY = "compute#firewallPolicy"


def _network_key(url: str) -> str:
    index = url.find("projects/")
    return url[index:] if index >= 0 else url


def _applies(rule: Json, network: str) -> bool:
    targets = rule.get("targetResources") or []
    return not targets or any(_network_key(t) == _network_key(network) for t in targets)


def _entry(policy: Json, kind: str, network: str, priority: int | None, regional: bool) -> Json:
    """A policy as an effective-firewalls response lists it: its rules that apply. The
    regional response's entries have a ``displayName`` and no ``shortName``."""
    entry: Json = {"name": policy["name"], "type": kind}
    label = policy.get("shortName") or policy.get("displayName")
    if label:
        entry["displayName" if regional else "shortName"] = label
    entry["rules"] = [copy.deepcopy(r) for r in policy.get("rules") or [] if _applies(r, network)]
    if priority is not None:
        entry["priority"] = priority
    return entry


def _rule_problem(rule: Json) -> str | None:
    """Why Compute would refuse this rule (the FirewallPolicyRule schema), or None."""
    if rule.get("action") not in ACTIONS:
        return f"Invalid value for field 'resource.action': '{rule.get('action')}'."
    if rule.get("direction", "INGRESS") not in ("INGRESS", "EGRESS"):
        return f"Invalid value for field 'resource.direction': '{rule.get('direction')}'."
    match = rule.get("match")
    if not isinstance(match, dict) or not match.get("layer4Configs"):
        return "Required field 'resource.match.layer4Configs' not specified"
    for field in ("srcIpRanges", "destIpRanges"):
        for text in match.get(field) or []:
            try:
                ipaddress.ip_network(str(text), strict=False)
            except ValueError:
                return f"Invalid value for field 'resource.match.{field}': '{text}'."
    for config in match["layer4Configs"]:
        if not isinstance(config, dict) or not config.get("ipProtocol"):
            return "Required field 'resource.match.layer4Configs.ipProtocol' not specified"
    return None


class FirewallPolicies:
    """Request handlers for firewall policies over the sandbox's Compute state."""

    def __init__(self, api: ComputeApi) -> None:
        self.api = api
        self.state = api.state

    def _project_policies(self, project: str, region: str | None) -> list[Json]:
        return [
            o
            for o in self.state.gcp.get(project) or []
            if o.get("kind") == POLICY
            and (str(o.get("region", "")).rsplit("/", 1)[-1] or None) == region
        ]

    def _hierarchical(self) -> list[Json]:
        """The organization's policies associated with the organization itself."""
        target = f"organizations/{ORGANIZATION}"
        return [
            p
            for p in self.state.gcp_organizations.get(ORGANIZATION) or []
            if any(a.get("attachmentTarget") == target for a in p.get("associations") or [])
        ]

    def _effective(self, project: str, network: Json, region: str | None) -> Json:
        link = str(network["selfLink"])
        regional = region is not None
        policies = [_entry(p, "HIERARCHY", link, None, regional) for p in self._hierarchical()]
        scopes = [(None, "NETWORK")] + ([(region, "NETWORK_REGIONAL")] if region else [])
        for where, kind in scopes:
            for policy in self._project_policies(project, where):
                for association in policy.get("associations") or []:
                    if _network_key(str(association.get("attachmentTarget"))) == _network_key(link):
                        priority = association.get("priority")
                        policies.append(_entry(policy, kind, link, priority, regional))
        firewalls = [
            o
            for o in self.state.gcp.get(project) or []
            if o.get("kind") == "compute#firewall"
            and _network_key(str(o.get("network"))) == _network_key(link)
        ]
        return {"firewalls": copy.deepcopy(firewalls), "firewallPolicys": policies}

    def _network(self, project: str, name: str) -> Json | None:
        name = name.rstrip("/").rsplit("/", 1)[-1]
        return next(
            (
                o
                for o in self.state.gcp.get(project) or []
                if o.get("kind") == "compute#network" and o.get("name") == name
            ),
            None,
        )

    async def effective(self, request: Request) -> Response:
        """``networks.getEffectiveFirewalls`` and, with a region in the path,
        ``regionNetworkFirewallPolicies.getEffectiveFirewalls`` (``?network=``)."""
        project = request.path_params["project"]
        region = request.path_params.get("region")
        name = request.path_params.get("network") or request.query_params.get("network", "")
        with self.state.lock:
            if project not in self.state.gcp:
                return google_error(404, f"The resource 'projects/{project}' was not found")
            if not name:
                return google_error(400, "Required field 'network' not specified", "required")
            network = self._network(project, name)
            if network is None:
                where = name.rsplit("/", 1)[-1]
                return google_error(
                    404, f"The resource 'projects/{project}/global/networks/{where}' was not found"
                )
            return JSONResponse(self._effective(project, network, region))

    def _policy(self, request: Request) -> Json | Response:
        params = request.path_params
        name = params["policy"]
        if "project" not in params:
            found = next(
                (
                    p
                    for org in self.state.gcp_organizations.values()
                    for p in org
                    if p.get("name") == name
                ),
                None,
            )
            where = f"locations/global/firewallPolicies/{name}"
        else:
            project, region = params["project"], params.get("region")
            found = next(
                (p for p in self._project_policies(project, region) if p.get("name") == name), None
            )
            scope = f"regions/{region}" if region else "global"
            where = f"projects/{project}/{scope}/firewallPolicies/{name}"
        if found is None:
            return google_error(404, f"The resource '{where}' was not found")
        return found

    async def listing(self, request: Request) -> Response:
        """``firewallPolicies.list`` (``?parentId=organizations/ID``) and the network
        policies of a project (global, or of one region)."""
        params = request.path_params
        with self.state.lock:
            if "project" in params:
                if params["project"] not in self.state.gcp:
                    return google_error(
                        404, f"The resource 'projects/{params['project']}' was not found"
                    )
                items = self._project_policies(params["project"], params.get("region"))
                scope = f"regions/{params['region']}" if params.get("region") else "global"
                listed = f"projects/{params['project']}/{scope}/firewallPolicies"
            else:
                parent = request.query_params.get("parentId", "")
                org = parent.removeprefix("organizations/")
                if not parent.startswith("organizations/"):
                    return google_error(400, f"Invalid value for field 'parentId': '{parent}'.")
                items = self.state.gcp_organizations.get(org) or []
                listed = "locations/global/firewallPolicies"
            body = {
                "kind": "compute#firewallPolicyList",
                "id": listed,
                "items": copy.deepcopy(items),
            }
            return JSONResponse(body)

    async def item(self, request: Request) -> Response:
        """``get`` of one policy."""
        with self.state.lock:
            found = self._policy(request)
            return found if isinstance(found, Response) else JSONResponse(found)

    def _rule_at(self, request: Request, policy: Json) -> Json | Response:
        text = request.query_params.get("priority")
        if text is None or not text.isdigit():
            return google_error(400, f"Invalid value for field 'priority': '{text}'.")
        rules: list[Json] = policy.get("rules") or []
        rule = next((r for r in rules if r.get("priority") == int(text)), None)
        if rule is None:
            return google_error(
                400,
                f"Invalid value for field 'priority': '{text}'. "
                "The firewall policy does not contain a rule at the given priority.",
            )
        return rule

    async def get_rule(self, request: Request) -> Response:
        """``getRule?priority=N``."""
        with self.state.lock:
            policy = self._policy(request)
            if isinstance(policy, Response):
                return policy
            rule = self._rule_at(request, policy)
            return rule if isinstance(rule, Response) else JSONResponse(rule)

    async def patch_rule(self, request: Request) -> Response:
        """``patchRule?priority=N`` of a global or regional network policy: the fields the
        body carries replace the rule's (the priority stays); the operation is global or
        regional like the policy (compute.v1.json: the regional method's path and its
        ``regionOperations``)."""
        return await self._rule_write(request, "patchRule")

    async def add_rule(self, request: Request) -> Response:
        """``addRule`` of a global or regional network policy: the body is a
        ``FirewallPolicyRule`` at the priority it names (compute.v1.json; an unused priority
        chosen from ``minPriority``/``maxPriority`` when it names none is not modelled);
        a priority already taken is refused, as the rule's priority is its key in the
        policy (``getRule`` / ``patchRule`` / ``removeRule`` address it by priority)."""
        return await self._rule_write(request, "addRule")

    async def remove_rule(self, request: Request) -> Response:
        """``removeRule?priority=N`` of a global or regional network policy."""
        return await self._rule_write(request, "removeRule")

    async def _rule_write(self, request: Request, method: str) -> Response:
        project = request.path_params["project"]
        region = request.path_params.get("region")
        with self.state.lock:
            if replayed := self.api._replayed(request, project):
                return replayed
            policy = self._policy(request)
            if isinstance(policy, Response):
                return policy
            if (refused := await self._rule_change(request, method, policy)) is not None:
                return refused
            policy["fingerprint"] = base64.b64encode(uuid.uuid4().bytes[:8]).decode()
            return self.api._operation(
                project,
                method,
                str(policy["id"]),
                str(policy["name"]),
                "firewallPolicies",
                None,
                request.query_params.get("requestId"),
                f"regions/{region}" if region else "global",
            )

    async def _rule_change(self, request: Request, method: str, policy: Json) -> Response | None:
        """Make ``method``'s change to ``policy``'s rules; the error when it is refused."""
        rules: list[Json] = policy.setdefault("rules", [])
        body: Json = {} if method == "removeRule" else await request.json()
        if method == "addRule":
            priority = body.get("priority")
            if not isinstance(priority, int) or not 0 <= priority <= 2147483647:
                return google_error(
                    400, f"Invalid value for field 'resource.priority': '{priority}'."
                )
            if any(r.get("priority") == priority for r in rules):
                return google_error(
                    400,
                    f"Invalid value for field 'resource.priority': '{priority}'. "
                    "A rule with this priority already exists in the firewall policy.",
                )
            added = {**body, "kind": "compute#firewallPolicyRule"}
            if (problem := _rule_problem(added)) is not None:
                return google_error(400, problem, "invalid")
            rules.append(added)
            rules.sort(key=lambda r: int(r.get("priority", 0)))
            return None
        rule = self._rule_at(request, policy)
        if isinstance(rule, Response):
            return rule
        if method == "removeRule":
            rules.remove(rule)
            return None
        merged = {**rule, **body, "priority": rule["priority"], "kind": rule.get("kind")}
        if (problem := _rule_problem(merged)) is not None:
            return google_error(400, problem, "invalid")
        rule.clear()
        rule.update({k: v for k, v in merged.items() if v is not None})
        return None


def policy_routes(api: ComputeApi) -> list[Route]:
    """Routes for firewall policies and effective firewalls (before ``global/{collection}``)."""
    handlers = FirewallPolicies(api)
    project = "/compute/v1/projects/{project}"
    regional = project + "/regions/{region}/firewallPolicies"
    hierarchical = "/compute/v1/locations/global/firewallPolicies"
    routes = [
        Route(project + "/global/networks/{network}/getEffectiveFirewalls", handlers.effective),
        Route(regional + "/getEffectiveFirewalls", handlers.effective),
        Route(
            project + "/global/firewallPolicies/{policy}/patchRule",
            handlers.patch_rule,
            methods=["POST"],
        ),
        Route(regional + "/{policy}/patchRule", handlers.patch_rule, methods=["POST"]),
    ]
    for base in (project + "/global/firewallPolicies", regional):
        routes += [
            Route(base + "/{policy}/addRule", handlers.add_rule, methods=["POST"]),
            Route(base + "/{policy}/removeRule", handlers.remove_rule, methods=["POST"]),
        ]
    for base in (project + "/global/firewallPolicies", regional, hierarchical):
        routes += [
            Route(base, handlers.listing),
            Route(base + "/{policy}", handlers.item),
            Route(base + "/{policy}/getRule", handlers.get_rule),
        ]
    return routes
