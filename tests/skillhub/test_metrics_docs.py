"""Every metric the scrape exposes is documented in the README, and the Grafana dashboard asks only for those."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `(skillhub_[a-z_]+)` \|", readme, flags=re.MULTILINE))


@pytest.mark.django_db
def test_every_exposed_metric_is_documented_and_every_documented_one_exposed(client, settings):
    settings.SKILLHUB_METRICS_TOKEN = "t"
    client.get("/healthz")
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()

    exposed = {family.name for family in text_string_to_metric_families(text) if family.name.startswith("skillhub_")}
    # The parser names counters without their _total suffix.
    exposed_names = {name if name in _documented() else f"{name}_total" for name in exposed}

    assert exposed_names == _documented()


def test_the_grafana_dashboard_is_importable_json_over_documented_metrics():
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())

    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    used = {re.sub(r"_(bucket|count|sum)$", "", name) for expr in expressions for name in re.findall(r"skillhub_[a-z_]+", expr)}
    assert dashboard["title"] and dashboard["uid"] and expressions
    assert used <= _documented()
    assert len(used) >= 15
