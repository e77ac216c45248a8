"""The deployment files stay in step with the code they deploy."""

from __future__ import annotations

import yaml

from shared.bus.kafka import all_topics
from shared.catalog import SERVICES
from shared.stack.bootstrap import INIT_SQL, PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"


def test_topic_list_matches_the_contracts() -> None:
    listed = yaml.safe_load((DEPLOY / "kafka" / "topics.yaml").read_text())
    assert listed["topics"] == all_topics()


def test_init_sql_creates_every_service_schema() -> None:
    sql = INIT_SQL.read_text()
    names = sql[sql.index("ARRAY[") : sql.index("]", sql.index("ARRAY["))]
    assert [s.name for s in SERVICES] == [n.strip(" '") for n in names.removeprefix("ARRAY[").split(",")]
    assert all(s.role == f"parley_{s.name}" for s in SERVICES)


def test_compose_runs_each_service_as_its_own_role() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    for info in SERVICES:
        service = compose["services"][info.name]
        assert service["command"][:2] == ["serve", info.name]
        assert f"//{info.role}:" in service["environment"]["PARLEY_DATABASE_URL"]


def test_kubernetes_has_an_overlay_per_service() -> None:
    root = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    for info in SERVICES:
        assert f"services/{info.name}" in root["resources"]
        overlay = (DEPLOY / "k8s" / "services" / info.name / "kustomization.yaml").read_text()
        assert f"value: {info.name}" in overlay
