"""Detection keeps one engine per policy in use, and drops the engines of policies no
workspace uses any more (a cluster's policies change while detection runs)."""

from __future__ import annotations

from piiguard.detection.handler import EngineCache
from piiguard.policy import DEFAULT_POLICY, DetectionSettings, Policy, WorkspaceRef


def policy(team: str, threshold: float = 0.5) -> Policy:
    return DEFAULT_POLICY.model_copy(update={"workspace": WorkspaceRef(team_id=team),
                                             "detection": DetectionSettings(score_threshold=threshold)})


def test_an_engine_is_built_once_per_policy_and_evicted_when_no_policy_uses_it() -> None:
    cache = EngineCache()
    a, b, b_changed = policy("TA"), policy("TB"), policy("TB", threshold=0.7)
    engine_a, engine_b = cache.engine_for(a), cache.engine_for(b)
    assert cache.engine_for(a) is engine_a and cache.engine_for(policy("TA")) is engine_a
    cache.engine_for(b_changed)  # TB's policy changed: a new engine for new messages
    assert len(cache._engines) == 3
    cache.retain([a, b_changed])  # what the store holds now
    assert len(cache._engines) == 2
    assert cache.engine_for(a) is engine_a, "an engine still in use is kept"
    assert cache.engine_for(b) is not engine_b, "an evicted engine is rebuilt only if asked for again"
    cache.retain([])
    assert cache._engines == {}


def test_a_changed_copy_of_a_policy_has_its_own_fingerprint() -> None:
    original = DEFAULT_POLICY.fingerprint  # cached on the original first
    changed = policy("TC")
    assert changed.fingerprint != original
    assert DEFAULT_POLICY.model_copy().fingerprint == original
