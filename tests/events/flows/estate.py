"""A small Azure estate in ARM shapes: one VM behind an NSG that opens SSH to the internet."""

from __future__ import annotations

from typing import Any

from builders import NET, SUB, arm_nsg, arm_rule, scan
from clamp.model import Finding

VM = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web"
NIC = f"{NET}/networkInterfaces/web-nic"
NSG = f"{NET}/networkSecurityGroups/web-nsg"
PRIVATE_IP = "10.0.0.4"


def estate(*rules: dict[str, Any]) -> list[dict[str, Any]]:
    """The NSG (default: SSH from anywhere), the NIC with 10.0.0.4, and the VM."""
    nsg = arm_nsg("web-nsg", *(rules or (arm_rule("ssh", 100, "22", "*"),)))
    nic = {
        "id": NIC,
        "name": "web-nic",
        "type": "Microsoft.Network/networkInterfaces",
        "properties": {
            "networkSecurityGroup": {"id": NSG},
            "virtualMachine": {"id": VM},
            "ipConfigurations": [{"name": "c", "properties": {"privateIPAddress": PRIVATE_IP}}],
        },
    }
    vm = {
        "id": VM,
        "name": "web",
        "type": "Microsoft.Compute/virtualMachines",
        "properties": {"networkProfile": {"networkInterfaces": [{"id": NIC}]}},
    }
    nsg["properties"]["networkInterfaces"] = [{"id": NIC}]
    return [nsg, nic, vm]


def ssh_finding() -> Finding:
    """The exposed-admin-port finding the check raises on the estate."""
    [found] = [f for f in scan(azure=estate()) if f.check == "exposed-admin-port"]
    return found
