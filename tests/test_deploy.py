"""deploy/kubernetes: the manifests are valid Kubernetes objects (schemas bundled by
kubernetes-validate, no cluster needed) and agree with each other on the shards."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from simulator import profile as profiles
from simulator import shards

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
MANIFESTS = sorted(DEPLOY.glob("*.yaml"))


def _objects() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_validate_against_the_kubernetes_schemas(path):
    version = kubernetes_validate.latest_version()
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, version, strict=True)


def test_manifests_agree_on_shards_names_and_profile():
    objects = {(o["kind"], o["metadata"]["name"]): o for o in _objects()}
    statefulset = objects["StatefulSet", "lab"]
    headless = objects["Service", statefulset["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    count = statefulset["spec"]["replicas"]
    shard = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "SHARDS", "value": str(count)} in shard["env"]
    assert "--shard \"auto/$SHARDS\"" in shard["args"][0]
    router = objects["Deployment", "lab-control"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert router[router.index("--shards") + 1] == str(count)
    assert router[router.index("--shard-url") + 1] == f"http://lab-{{i}}.{headless['metadata']['name']}:9000"
    assert objects["Service", "lab-control"]["spec"]["ports"][0]["port"] == 9000
    profile = profiles.validate(yaml.safe_load(objects["ConfigMap", "lab-profile"]["data"]["profile.yaml"]), "cm")
    parts = shards.partition(profile, count)
    assert len(profile.expanded()) == 50_000 and {len(p) for p in parts} == {5000}
    containerfile = (DEPLOY / "Containerfile").read_text()
    assert "COPY simulator" in containerfile and "COPY profiles" in containerfile
