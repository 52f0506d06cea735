"""The operator's piiguard_reconcile_total as a real Prometheus scrapes it: a policy
that applies counts ``ok``, one that cannot be used counts ``rejected``, and the
chart's PiiGuardReconcileFailures expression sees only the latter."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support.prometheus import Prometheus

from .conftest import OPERATOR_METRICS_PORT, Cluster, eventually, spec_for

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="prometheus missing: .ci/system-packages installs Debian's prometheus"),
]


async def test_reconciles_are_counted_by_result(cluster: Cluster, team: str, tmp_path: Path) -> None:
    from tests.chart.test_chart_metrics import rule_groups

    prometheus = Prometheus(tmp_path / "prometheus", {"operator": [f"127.0.0.1:{OPERATOR_METRICS_PORT}"]})
    await asyncio.to_thread(prometheus.start)
    try:
        async def value(promql: str) -> Any:
            return await asyncio.to_thread(prometheus.value, promql)

        # Scraped before this test's policies: every result has a series (born at 0 when
        # the operator started; other tests in this process may have counted some already).
        baseline = await eventually(
            lambda: value('count(piiguard_reconcile_total{result=~"ok|rejected|nats_unavailable|error"})'),
            30, "the operator's series scraped")
        assert baseline == 4
        before = {result: await value(f'sum(piiguard_reconcile_total{{result="{result}"}})')
                  for result in ("ok", "rejected")}
        cluster.add_secret()
        await cluster.create("good", spec_for(team))
        await cluster.wait_condition("good", "Ready", "True")
        await cluster.create("bad", spec_for(team[:-1] + "Z", detection={"customRecognizers": [{
            "name": "ticket", "entityType": "TICKET_ID", "patterns": [{"regex": "TCK-(\\d+"}]}]}))
        await cluster.wait_condition("bad", "Ready", "False", "InvalidPolicy")

        async def grew(result: str) -> bool:
            found = await value(f'sum(piiguard_reconcile_total{{result="{result}"}})')
            return found is not None and found >= before[result] + 1

        await eventually(lambda: grew("ok"), 30, "an ok reconcile scraped")
        await eventually(lambda: grew("rejected"), 30, "a rejected reconcile scraped")
        (rule,) = [r for g in rule_groups()["groups"] for r in g["rules"]
                   if r["alert"] == "PiiGuardReconcileFailures"]
        firing = await eventually(lambda: asyncio.to_thread(prometheus.query, rule["expr"]), 30,
                                  "the reconcile-failure alert expression")
        assert "rejected" in {s["metric"]["result"] for s in firing}
        assert "ok" not in {s["metric"]["result"] for s in firing}
    finally:
        await asyncio.to_thread(prometheus.stop)
