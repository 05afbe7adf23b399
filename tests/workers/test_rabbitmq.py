"""RabbitMQ as the broker (results in Redis): the same fan-out, the same findings."""

from __future__ import annotations

from clamp.model import Provider
from clamp.providers.factory import driver_factory
from clamp.workers.app import make_app
from clamp.workers.fanout import scan_on_workers
from worker_cluster import Cluster, canonical, in_process


def test_a_scan_on_a_rabbitmq_broker_gives_the_in_process_findings(
    rabbit_cluster: Cluster,
) -> None:
    settings = rabbit_cluster.settings
    expected = in_process(rabbit_cluster)
    result = scan_on_workers(
        rabbit_cluster.store,
        make_app(settings),
        driver_factory(settings),
        list(Provider),
        {},
        timeout=60,
    )
    assert result.errors == []
    assert sorted(result.scopes) == sorted(expected.scopes)
    assert canonical(result.findings) == canonical(expected.findings)
