"""The CRD and the policy model cannot drift: same fields, same limits, same
examples accepted, and the committed YAML and docs are what the generator makes."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from piiguard.policy import Policy, PolicyError, policy_from_mapping
from piiguard_operator import crd

EXAMPLES = sorted((crd.REPO_ROOT / "docs" / "examples").glob("*.yaml"))


def load_crd() -> dict[str, Any]:
    return yaml.safe_load(crd.CRD_PATH.read_text(encoding="utf-8"))


def root_schema() -> dict[str, Any]:
    return load_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def as_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 structural schema as plain JSON Schema, strict about unknown
    fields (as ``kubectl apply --validate=strict`` is)."""
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if out.get(bound) is True:
            out[bound] = out.pop(limit)
    if "properties" in node:
        out["properties"] = {k: as_json_schema(v) for k, v in node["properties"].items()}
        out.setdefault("additionalProperties", False)
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = as_json_schema(node["additionalProperties"])
    if isinstance(node.get("items"), dict):
        out["items"] = as_json_schema(node["items"])
    return out


def crd_accepts(spec: dict[str, Any]) -> bool:
    schema = as_json_schema(crd.crd_spec_schema(load_crd()))
    return not list(jsonschema.Draft202012Validator(schema).iter_errors(spec))


def model_accepts(spec: dict[str, Any]) -> bool:
    try:
        policy_from_mapping(spec)
    except PolicyError:
        return False
    return True


def model_paths(model: type[BaseModel], prefix: str = "spec") -> Iterator[str]:
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}"
        yield path
        for sub, repeated in _nested_models(field.annotation):
            yield from model_paths(sub, path + ("[]" if repeated else ""))


def _nested_models(annotation: Any, repeated: bool = False) -> Iterator[tuple[type[BaseModel], bool]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, repeated
        return
    origin = typing.get_origin(annotation)
    is_list = origin in (tuple, list)
    for arg in typing.get_args(annotation):
        if arg is not Ellipsis and arg is not types.NoneType:
            yield from _nested_models(arg, repeated or is_list)


def minimal_spec(**overrides: Any) -> dict[str, Any]:
    ref = {"name": "creds", "key": "k"}
    spec: dict[str, Any] = {
        "workspace": {"teamId": "T1"},
        "secrets": {"signingSecret": ref, "botToken": ref, "adminToken": ref},
    }
    spec.update(overrides)
    return spec


def test_the_committed_crd_is_what_the_model_generates() -> None:
    assert crd.CRD_PATH.read_text(encoding="utf-8") == crd.render_crd(), (
        "charts/piiguard/files/crds/piipolicies.yaml is stale: run python -m piiguard_operator.crd --write"
    )


def test_every_model_field_is_in_the_crd_and_no_other() -> None:
    in_model = set(model_paths(Policy))
    in_crd = {path for path, _ in crd.walk(crd.crd_spec_schema(load_crd()))}
    assert in_model - in_crd == set(), "model fields missing from the CRD"
    assert in_crd - in_model == set(), "CRD fields the model does not know"


def test_every_field_has_a_description_for_kubectl_explain() -> None:
    schema = root_schema()
    for part in ("spec", "status"):
        for path, node in crd.walk(schema["properties"][part], part):
            assert node.get("description"), f"{path} has no description"


def test_the_schema_is_structural() -> None:
    def check(node: dict[str, Any], path: str) -> None:
        assert "$ref" not in node and "anyOf" not in node and "title" not in node, path
        if "properties" in node:
            assert node.get("type") == "object" and "additionalProperties" not in node, path
        for name, sub in node.get("properties", {}).items():
            check(sub, f"{path}.{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                check(node[key], f"{path}.{key}")
        if not node.get("x-kubernetes-int-or-string") and path != "root.properties.metadata":
            assert "type" in node or "properties" in node, f"{path} has no type"

    check(root_schema(), "root")


def test_status_has_standard_conditions_and_printer_columns() -> None:
    version = load_crd()["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    conditions = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    required = {"type", "status", "reason", "message", "lastTransitionTime"}
    assert set(conditions["items"]["required"]) == required
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
    assert {"Workspace", "Paused", "Pending", "Dead-lettered"} <= set(columns)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_documented_examples_are_valid_for_both_crd_and_model(example: Path) -> None:
    obj = yaml.safe_load(example.read_text(encoding="utf-8"))
    assert obj["apiVersion"] == "piiguard.io/v1alpha1" and obj["kind"] == "PiiPolicy"
    assert crd_accepts(obj["spec"])
    assert model_accepts(obj["spec"])
    assert example.read_text(encoding="utf-8") in (crd.DOC_PATH.read_text(encoding="utf-8")), (
        f"docs/policy.md should show {example.name} verbatim"
    )


def test_there_are_a_healthcare_and_an_engineering_example() -> None:
    assert {p.stem for p in EXAMPLES} >= {"healthcare", "engineering"}
    healthcare = policy_from_mapping(yaml.safe_load((EXAMPLES[0].parent / "healthcare.yaml").read_text()))
    assert healthcare.action_for("MEDICAL_CONDITION") == "delete"
    assert healthcare.action_for("EMAIL_ADDRESS") == "notify"
    engineering = policy_from_mapping(yaml.safe_load((EXAMPLES[0].parent / "engineering.yaml").read_text()))
    assert engineering.action_for("AWS_SECRET_KEY") == "delete"
    assert not engineering.watches("C0STAGING1")


@pytest.mark.parametrize(
    ("case", "spec"),
    [
        ("minimal", minimal_spec()),
        ("durations as strings",
         minimal_spec(queues={"action": {"backoff": ["500ms", "2s"], "maxAge": "6h"}})),
        ("durations as seconds", minimal_spec(queues={"detection": {"ackWait": 45, "backoff": [1, 2]}})),
        ("rules", minimal_spec(actions={"rules": {"*_TOKEN": "delete"}, "default": "notify"})),
    ],
)
def test_both_accept_the_same_valid_specs(case: str, spec: dict[str, Any]) -> None:
    assert crd_accepts(spec), case
    assert model_accepts(spec), case


@pytest.mark.parametrize(
    ("case", "spec"),
    [
        ("concurrency 0", minimal_spec(queues={"action": {"concurrency": 0}})),
        ("concurrency too high", minimal_spec(queues={"action": {"concurrency": 257}})),
        ("unknown action", minimal_spec(actions={"rules": {"US_SSN": "shred"}})),
        ("unknown quote mode", minimal_spec(actions={"message": {"quote": "some"}})),
        ("score above 1", minimal_spec(detection={"scoreThreshold": 1.5})),
        ("lower-case entity type", minimal_spec(detection={"customRecognizers": [
            {"name": "x", "entityType": "lower", "patterns": [{"regex": "x"}]}]})),
        ("recognizer without patterns", minimal_spec(detection={"customRecognizers": [
            {"name": "x", "entityType": "X", "patterns": []}]})),
        ("unknown field", minimal_spec(detection={"scoreTreshold": 0.4})),
        ("secret ref without key", minimal_spec(secrets={
            "signingSecret": {"name": "a"}, "botToken": {"name": "a", "key": "b"},
            "adminToken": {"name": "a", "key": "b"}})),
    ],
)
def test_both_reject_the_same_invalid_specs(case: str, spec: dict[str, Any]) -> None:
    assert not crd_accepts(spec), case
    assert not model_accepts(spec), case


def test_what_only_the_validation_handler_catches() -> None:
    """A schema cannot compile a regex: the CRD admits it, the model (and so the
    webhook and the reconcile) rejects it with the reason."""
    spec = minimal_spec(detection={"allowPatterns": ["(unclosed"]})
    assert crd_accepts(spec)
    with pytest.raises(PolicyError, match="regex does not compile"):
        policy_from_mapping(spec)


def test_a_cluster_policy_must_name_workspace_and_secrets() -> None:
    assert not crd_accepts({"workspace": {"teamId": "T1"}})
    assert not crd_accepts(minimal_spec(workspace={"teamId": ""}))
    assert not crd_accepts(minimal_spec(workspace={"name": "no id"}))


def test_the_docs_field_reference_is_current() -> None:
    document = crd.DOC_PATH.read_text(encoding="utf-8")
    assert crd.document_with_reference(document) == document, (
        "docs/policy.md field reference is stale: run python -m piiguard_operator.crd --write"
    )
    for path in set(model_paths(Policy)):
        assert f"`{path}`" in document
