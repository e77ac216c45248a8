"""The deployment files stay in step with the code they deploy."""

from __future__ import annotations

import shutil
import subprocess

import pytest
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


def test_kubernetes_renders_one_deployment_service_and_autoscaler_per_service() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the kustomization is not rendered")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s")], check=True, capture_output=True, text=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    for info in SERVICES:
        name = f"parley-{info.name}"
        deployment = by_kind["Deployment"][name]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][:2] == ["serve", info.name]
        assert container["env"][0]["valueFrom"]["secretKeyRef"]["key"] == info.name
        labels = deployment["spec"]["selector"]["matchLabels"]
        assert labels["app.kubernetes.io/component"] == info.name
        assert by_kind["Service"][name]["spec"]["selector"] == labels
        assert by_kind["HorizontalPodAutoscaler"][name]["spec"]["scaleTargetRef"]["name"] == name
    assert "parley-topics" in by_kind["Job"]
