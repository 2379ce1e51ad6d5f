"""The metric fixture shared with the Java evaluator still matches the current Python metric code.

Java's MetricsAgreementTest (module cli) checks its metrics against the same committed expected.json, so together the
two tests fail when either implementation drifts. Regenerate after an intended change with
`/usr/bin/python3 model/merit/metrics_fixture.py`.
"""
import json
import os
import shutil

from merit.metrics_fixture import EXPECTED, FIXTURE_DIR, PAIRS, label_cases, stale


def test_committed_fixture_matches_the_current_metric_code():
    problems = stale(FIXTURE_DIR)
    assert problems == [], "stale metric fixture (rerun model/merit/metrics_fixture.py):\n" + "\n".join(problems)


def test_fixture_covers_every_metric_and_case():
    with open(os.path.join(FIXTURE_DIR, EXPECTED)) as f:
        expected = json.load(f)
    assert [(p["reference"], p["estimate"]) for p in expected["se"]] == PAIRS
    assert [c["name"] for c in expected["ser"]] == [c["name"] for c in label_cases()]
    summary = expected["summary"]["expected"]
    assert set(summary) >= {"ser", "se", "by_snr", "by_noise", "by_condition", "items"}
    # Degenerate branches are part of the contract: the 35 dB clamp, STOI's too-short convention, a real STOI value
    # after silent-frame removal.
    by_pair = {(p["reference"], p["estimate"]): p for p in expected["se"]}
    assert by_pair[("a_clean", "a_clean")]["ssnr_db"] == 35.0
    assert by_pair[("short_clean", "short_noisy")]["stoi"] == 1e-5
    assert 0.5 < by_pair[("b_clean", "b_noisy_0db")]["stoi"] < 1


def test_check_notices_a_changed_value(tmp_path):
    copy = tmp_path / "metrics"
    shutil.copytree(FIXTURE_DIR, copy)
    with open(copy / EXPECTED) as f:
        expected = json.load(f)
    expected["se"][1]["stoi"] += 1e-6
    with open(copy / EXPECTED, "w") as f:
        json.dump(expected, f)
    problems = stale(str(copy))
    assert len(problems) == 1 and "se[1].stoi" in problems[0]
