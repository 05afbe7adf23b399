"""What the network resource provider does with NSGs that the sandbox copies: one etag per
NSG shared by all its rules, security-rule validation, and refusing to delete an NSG in use.

Sources:

- **Etags.** In every recorded NSG (``shared/data/custodian/azure-cassettes/
  NetworkSecurityGroupTest.*``: 245 custom and 480 default rules) and in the REST spec's
  example ``NetworkSecurityGroupGet``, each rule carries its NSG's etag; after one rule PUT
  (``NetworkSecurityGroupTest.test_open_ports``, interactions 1-2) the NSG and *all* its
  rules, custom and default, carry one new etag. NIC IP configurations likewise carry their
  NIC's etag (``NetworkInterfaceTest.*``). The recordings hold no virtual network, so a
  subnet keeps an etag of its own here (unknown: see the README).
- **Error codes and messages** of security-rule validation, as ARM returns them in public
  reports: ``SecurityRuleConflict`` (hashicorp/terraform-provider-azurerm#11137,
  Azure/aks-engine#2106), ``SecurityRuleInvalidPortRange`` (Azure/azure-cli#23499),
  ``SecurityRuleInvalidAddressPrefix`` (hashicorp/terraform-provider-azurerm#16761,
  Azure/azure-powershell#4557), ``InUseNetworkSecurityGroupCannotBeDeleted``
  (pulumi/pulumi-azure-native#3051, DataBiosphere/terraform-workspace-manager#502). The
  priority range 100-4096 and the protocol, access and direction values are the REST spec's
  (``SecurityRulePropertiesFormat``); the codes for those three are not in any source found
  (``SecurityRuleInvalidPriority``, ``InvalidRequestFormat`` are the sandbox's best guess).
"""

from __future__ import annotations

import ipaddress
import re

from starlette.responses import JSONResponse

from clamp.sandbox.arm import NSG_TYPE, Json, arm_error, id_of, type_of

NIC = "microsoft.network/networkinterfaces"
VNET = "microsoft.network/virtualnetworks"
NSG = NSG_TYPE.lower()

# Children that carry their parent's etag: every write to the parent or to one of them gives
# the parent and all of them one new etag.
SHARED_ETAG: dict[str, tuple[str, ...]] = {
    NSG: ("securityRules", "defaultSecurityRules"),
    NIC: ("ipConfigurations",),
}

# SecurityRulePropertiesFormat (Microsoft.Network REST spec): the values ARM accepts, in
# any case (a recorded rule says "TCP": NetworkSecurityGroupTest.test_open_ports).
PROTOCOLS = frozenset({"tcp", "udp", "icmp", "esp", "ah", "*"})
ACCESS = frozenset({"allow", "deny"})
DIRECTIONS = frozenset({"inbound", "outbound"})
_PORT = re.compile(r"^(\d{1,5})(?:-(\d{1,5}))?$")
_SERVICE_TAG = re.compile(
    r"^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*$"
)  # Internet, Storage.WestEurope


def restamp(obj: Json, etag: str) -> None:
    """Give a resource and every child that shares its etag the one new ``etag``."""
    obj["etag"] = etag
    for key in SHARED_ETAG.get(type_of(obj), ()):
        for child in (obj.get("properties") or {}).get(key) or []:
            if isinstance(child, dict):
                child["etag"] = etag


def _port_ok(value: object) -> bool:
    if value == "*":
        return True
    match = _PORT.match(str(value)) if isinstance(value, str) else None
    if match is None:
        return False
    low, high = int(match[1]), int(match[2] or match[1])
    return low <= high <= 65535


def _prefix_ok(value: object) -> bool:
    if not isinstance(value, str) or not value:
        return False
    if value == "*" or _SERVICE_TAG.match(value):
        return True
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _invalid(code: str, message: str) -> JSONResponse:
    return arm_error(400, code, message)


def check_security_rule(rule_id: str, props: Json, siblings: list[Json]) -> JSONResponse | None:
    """ARM's 400 for a security rule it would refuse (None if it would accept it):
    ``siblings`` are the NSG's other rules, for the priority-and-direction conflict."""
    name = rule_id.rsplit("/", 1)[-1]
    for key in ("protocol", "access", "direction", "priority"):
        if props.get(key) in (None, ""):
            return _invalid(
                "InvalidRequestFormat",
                f"Security rule {rule_id} is missing the required property '{key}'.",
            )
    priority = props["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or not 100 <= priority <= 4096:
        return _invalid(
            "SecurityRuleInvalidPriority",
            f"Security rule has invalid Priority. Value provided: {priority}. "
            "Allowed values are from 100 to 4096.",
        )
    for key, allowed in (("protocol", PROTOCOLS), ("access", ACCESS), ("direction", DIRECTIONS)):
        if str(props[key]).lower() not in allowed:
            return _invalid(
                "InvalidRequestFormat",
                f"Security rule {rule_id} has an invalid value '{props[key]}' for '{key}'.",
            )
    for side in ("source", "destination"):
        for singular, plural, valid, code, what in (
            (
                f"{side}PortRange",
                f"{side}PortRanges",
                _port_ok,
                "SecurityRuleInvalidPortRange",
                "Port range",
            ),
            (
                f"{side}AddressPrefix",
                f"{side}AddressPrefixes",
                _prefix_ok,
                "SecurityRuleInvalidAddressPrefix",
                "Address prefix",
            ),
        ):
            one, many = props.get(singular), props.get(plural) or []
            if one and many:
                return _invalid(
                    "SecurityRuleInvalid",
                    f"Security rule {rule_id} sets both {singular} and {plural}.",
                )
            if not isinstance(many, list):
                return _invalid("InvalidRequestFormat", f"{plural} must be a list.")
            for value in [one] if one else many:
                if not valid(value):
                    hint = (
                        " Value should be an integer OR integer range with '-' delimiter. "
                        "Valid range 0-65535."
                        if what == "Port range"
                        else ""
                    )
                    return _invalid(
                        code,
                        f"Security rule {rule_id} has invalid {what}. Value provided: {value}."
                        + hint,
                    )
    for other in siblings:
        other_props = other.get("properties") or {}
        if (
            str(other.get("name", "")).lower() != name.lower()
            and other_props.get("priority") == priority
            and str(other_props.get("direction", "")).lower() == str(props["direction"]).lower()
        ):
            return _invalid(
                "SecurityRuleConflict",
                f"Security rule {other.get('name')} conflicts with rule {name}. Rules cannot "
                "have the same Priority and Direction. To learn more, see aka.ms/nsgrules.",
            )
    return None


def check_inline_rules(nsg_id: str, props: Json) -> JSONResponse | None:
    """An NSG PUT's inline ``securityRules``, validated as a PUT of each rule would be."""
    rules = props.get("securityRules") or []
    if not isinstance(rules, list):
        return _invalid("InvalidRequestFormat", "securityRules must be a list.")
    seen: list[Json] = []
    for rule in rules:
        if not isinstance(rule, dict) or not rule.get("name"):
            return _invalid("InvalidRequestFormat", "Every security rule needs a name.")
        rule_id = f"{nsg_id}/securityRules/{rule['name']}"
        if refusal := check_security_rule(rule_id, rule.get("properties") or {}, seen):
            return refusal
        seen.append(rule)
    return None


def stamp_inline_rules(nsg: Json) -> None:
    """What ARM gives the rules written inside an NSG: id, type and provisioning state."""
    for rule in (nsg.get("properties") or {}).get("securityRules") or []:
        rule["id"] = f"{nsg['id']}/securityRules/{rule['name']}"
        rule["type"] = f"{NSG_TYPE}/securityRules"
        rule.setdefault("properties", {})["provisioningState"] = "Succeeded"


def nsg_in_use(nsg: Json, objects: list[Json]) -> JSONResponse | None:
    """ARM's 400 for deleting an NSG that a NIC or a subnet still points at."""
    wanted = id_of(nsg)
    users: list[str] = []
    for obj in objects:
        props = obj.get("properties") or {}
        if type_of(obj) == NIC and _points_at(props, wanted):
            users.append(str(obj["id"]))
        if type_of(obj) == VNET:
            users += [
                str(s.get("id"))
                for s in props.get("subnets") or []
                if _points_at(s.get("properties") or {}, wanted)
            ]
    if not users:
        return None
    return arm_error(
        400,
        "InUseNetworkSecurityGroupCannotBeDeleted",
        f"Network security group {nsg['id']} cannot be deleted because it is in use by the "
        f"following resources: {', '.join(users)}. In order to delete the Network security "
        "group, remove the association with the resource(s).",
    )


def _points_at(props: Json, nsg_id: str) -> bool:
    ref = props.get("networkSecurityGroup")
    return isinstance(ref, dict) and str(ref.get("id", "")).lower() == nsg_id
