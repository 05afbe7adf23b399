"""Azure Resource Graph: the resources Clamp evaluates, over a batch of subscriptions, in few
queries (azure-mgmt-resourcegraph ``ResourceGraphClient.resources``).

Two queries per batch, each ordered by id and read in 1,000-row pages (the pages after the
first at once, by ``$skip``; by ``$skipToken`` one after the other when there is no room):
``resources`` for NSGs, NICs, VNets (with their subnets), public IPs, VMs and storage
accounts, and ``authorizationresources`` for role assignments. Each row is turned back into
the ARM object the per-type list call returns (``arm_object``), so ``resources_from_arm``
normalizes both alike. The Resource Graph quota (``x-ms-user-quota-*``) is honoured by the
pipeline's ``PacedCalls`` (``clients``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.pipeline import PipelineResponse
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions, QueryResponse

from clamp.errors import CloudError
from clamp.providers.azure.clients import AzureClients
from clamp.providers.azure.errors import Api, translated
from clamp.providers.azure.normalize import ARM_TOP_LEVEL, LISTED_COLUMNS
from clamp.providers.interface import ProgressCallback

RESOURCE_GRAPH = Api(
    "Azure Resource Graph",
    "assign a role with Microsoft.ResourceGraph/resources/read (Reader has it), or set "
    '[azure] inventory = "arm"',
)
PERMISSION = "Microsoft.ResourceGraph/resources/read"
RowsCallback = Callable[[list[dict[str, Any]]], None]
"""Told each page's rows as the page arrives (from the thread that read it)."""
PAGE = 1000
"""Rows per page: the most Resource Graph returns (``$top`` 1,000)."""
MAX_PAGES = 10_000
"""A bound on pages per query (a server that keeps answering a ``$skipToken`` is wrong)."""

CANONICAL = {
    name.lower(): name
    for name in (
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/networkInterfaces",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/loadBalancers",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Authorization/roleAssignments",
    )
}
"""The types Clamp reads from Resource Graph, as ARM spells them (Resource Graph lower-cases)."""
TABLES: Mapping[str, tuple[str, ...]] = {
    "resources": tuple(t for t in CANONICAL if not t.startswith("microsoft.authorization/")),
    "authorizationresources": ("microsoft.authorization/roleassignments",),
}
ARM_FIELDS = tuple(sorted(ARM_TOP_LEVEL - LISTED_COLUMNS))
"""What an ARM GET returns of a resource; Resource Graph adds tenantId, resourceGroup and
subscriptionId columns beside these."""


def query_text(table: str, types: Sequence[str]) -> str:
    """The query Clamp sends for ``types`` of ``table``: a filter on type, ordered by id."""
    quoted = ", ".join(f"'{t}'" for t in types)
    return f"{table} | where type in~ ({quoted}) | order by id asc"


def arm_object(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Resource Graph row as the ARM object a per-type list returns: ARM's fields only,
    the type as ARM spells it, and a VM's power state (Resource Graph's
    ``properties.extended.instanceView.powerState``) as the instance view's status."""
    obj = {k: row[k] for k in ARM_FIELDS if row.get(k) not in (None, "", [], {})}
    kind = str(obj.get("type", "")).lower()
    obj["type"] = CANONICAL.get(kind, obj.get("type", ""))
    props = obj.get("properties")
    if kind == "microsoft.compute/virtualmachines" and isinstance(props, Mapping):
        props = dict(props)
        extended = props.pop("extended", None) or {}
        power = (extended.get("instanceView") or {}).get("powerState") or {}
        if power.get("code"):
            props["instanceView"] = {"statuses": [dict(power)]}
        obj["properties"] = props
    return obj


def by_subscription(
    rows: Sequence[Mapping[str, Any]], subscriptions: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Rows as ARM objects, by subscription (lower-cased id; rows of others dropped)."""
    out: dict[str, list[dict[str, Any]]] = {s.lower(): [] for s in subscriptions}
    for row in rows:
        subscription = str(row.get("subscriptionId") or "").lower()
        if subscription in out:
            out[subscription].append(arm_object(row))
    return out


class ResourceGraph:
    """Runs Clamp's queries over batches of subscriptions."""

    def __init__(self, clients: AzureClients, page: int = PAGE, concurrency: int = 1) -> None:
        self.clients, self.page, self.concurrency = clients, page, max(1, concurrency)

    def rows(
        self,
        subscriptions: Sequence[str],
        query: str,
        progress: ProgressCallback | None = None,
        on_rows: RowsCallback | None = None,
    ) -> list[dict[str, Any]]:
        """Every row ``query`` gives over ``subscriptions``, in id order; ``on_rows`` is
        told each page's rows as it arrives, so what they name can be read meanwhile (a page
        read again after the estate changed is told again).

        The first page says how many rows there are (``totalRecords``); with
        ``concurrency`` above 1 the other pages are read at once by ``$skip`` (the ordered
        paging of Microsoft's "Guidance for pagination" in Resource Graph), else one after
        the other by ``$skipToken``. Should the total change between pages (the estate
        changed meanwhile), the pages after the first are read again by ``$skipToken``."""

        def page(number: int, **at: Any) -> QueryResponse:
            answer = self._page(subscriptions, query, progress, number, **at)
            if on_rows:
                on_rows(_rows(answer))
            return answer

        first = page(1)
        rows, token, total = _rows(first), first.skip_token, first.total_records or 0
        pages = math.ceil(total / self.page)
        if token and self.concurrency > 1 and 1 < pages <= MAX_PAGES:
            with ThreadPoolExecutor(min(self.concurrency, pages - 1)) as pool:
                rest = list(pool.map(lambda n: page(n + 1, skip=n), range(1, pages)))
            if all(answer.total_records == total for answer in rest):
                return rows + [row for answer in rest for row in _rows(answer)]
        for number in range(2, MAX_PAGES + 1):
            if not token:
                return rows
            answer = page(number, token=token)
            rows += _rows(answer)
            token = answer.skip_token
        raise CloudError(f"Azure Resource Graph kept paging past {MAX_PAGES} pages")

    def _page(
        self,
        subscriptions: Sequence[str],
        query: str,
        progress: ProgressCallback | None,
        number: int,
        *,
        token: str | None = None,
        skip: int = 0,
    ) -> QueryResponse:
        """One page: the first, the one after ``token``, or page ``skip`` + 1."""
        what = f"query Resource Graph over {len(subscriptions)} subscription(s)"
        if progress:
            progress(f"azure resource graph: {len(subscriptions)} subscription(s), page {number}")
        options = QueryRequestOptions(result_format="objectArray", top=self.page)
        if token:
            options.skip_token = token
        if skip:
            options.skip = skip * self.page
        request = QueryRequest(subscriptions=list(subscriptions), query=query, options=options)
        with translated(what, PERMISSION, RESOURCE_GRAPH):
            answer: QueryResponse = self.clients.resource_graph.resources(
                request, raw_response_hook=_parsed_once
            )
        if not isinstance(answer.data, list):
            raise CloudError(f"Azure Resource Graph answered a page without rows to {what}")
        if not answer.skip_token and str(answer.result_truncated).lower() == "true":
            raise CloudError(f"Azure Resource Graph truncated its answer to {what}")
        return answer


def _parsed_once(response: PipelineResponse) -> None:  # type: ignore[type-arg]
    """A page answered 200 is parsed by the generated deserializer only: azure-core's
    ``ContentDecodePolicy`` parses every response that was not asked as a stream, and
    ``resources()`` then parses the same body again (``self._deserialize(...,
    http_response)``), twice per 2.5 MB page. The body is already read; the mark only tells
    that policy (which runs after this hook) to leave it. An error keeps both parses (its
    model is read from the policy's)."""
    if response.http_response.status_code == 200:
        response.context.options["stream"] = True


def _rows(answer: QueryResponse) -> list[dict[str, Any]]:
    data: Any = answer.data
    return [row for row in data if isinstance(row, dict)]
