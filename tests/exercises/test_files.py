"""Exercise files (bundled and broken ones) and the surfaces around them:
`simulator up --exercise`, GET /api/exercise and /api/grade, `simulator grade`."""

from __future__ import annotations

import httpx
import pytest

from simulator import exercises
from simulator.cli import main
from tests.conftest import end_lab, start_lab

FIVE = {"fdm-failed-upgrade", "ftd-ha-upgrade", "ftd-ha-chassis-upgrade", "asa-active-active-upgrade",
        "unusable-reimage"}


def test_the_bundled_exercises_load():
    assert FIVE <= set(exercises.bundled())
    for name in exercises.bundled():
        exercise = exercises.load(name)
        assert exercise.title and exercise.goal and exercise.checks and exercise.profile.lab


@pytest.mark.parametrize("body, said", [
    ("profile: ftd-standalone\ncheck: []", ["goal: required key is missing", "checks: required key is missing",
                                            "check: unknown key"]),
    ("profile: ftd-standalone\nchecks:\n  - {name: a, description: d, versoins: {device: ftd-1, version: 7.6.0}}",
     ["checks[0].versoins: unknown check type; expected one of versions, state, traffic_lost_max"]),
    ("profile: ftd-standalone\nchecks:\n  - {name: a, description: d, state: {device: ftd-1, state: online}, "
     "absent: {kind: reimage}}", ["checks[0]: expected exactly one check type of versions, state, "
                                  "traffic_lost_max, never_upgraded_while_active, done_within, order, absent "
                                  "(got state, absent)"]),
    ("profile: ftd-ha\nchecks:\n  - {name: a, description: d, versions: {device: ftd-1, version: 7.6.0}}",
     ["checks[0].versions.device: no device 'ftd-1' in profile ftd-ha (devices: ftd-a, ftd-b)"]),
    ("profile: ftd-standalone\nchecks:\n  - {name: a, description: d, never_upgraded_while_active: ftd-ha}",
     ["checks[0].never_upgraded_while_active: no HA pair 'ftd-ha' in profile ftd-standalone (HA pairs: none)"]),
    ("profile: {base: ftd-ha, lab: x, devices: [{name: ftd-a, model: FTDz, version: 7.4.1-172}]}\n"
     "checks:\n  - {name: a, description: d, state: {device: ftd-a, state: online}}",
     ["profile: devices[0].model: expected one of FTDv,", "(got 'FTDz')"]),
    ("profile: ftd-standalone\nstart: [{upgrade: {device: ftd-1, auto_cancel: maybe}}]\n"
     "checks:\n  - {name: a, description: d, state: {device: ftd-1, state: online}}",
     ["start[0].upgrade.auto_cancel: Input should be a valid boolean"]),
    ("profile: ftd-standalone\nchecks: [{name: a, description: [d", ["not valid YAML"]),
])
def test_a_broken_exercise_names_the_file_the_key_and_what_was_expected(tmp_path, body, said):
    path = tmp_path / "broken.yaml"
    path.write_text(("title: t\n" if "title" not in body else "") + ("goal: g\n" if "check:" not in body else "")
                    + body)
    with pytest.raises(exercises.ExerciseError) as caught:
        exercises.load(path)
    for text in said:
        assert text in str(caught.value), str(caught.value)
    assert all(line.startswith(str(path)) for line in str(caught.value).splitlines()), str(caught.value)


def test_up_refuses_a_broken_exercise_before_anything_starts(tmp_path, capsys):
    assert main(["up", "--exercise", "no-such-exercise", "--state-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "no-such-exercise: no such exercise (bundled exercises: asa-active-active-upgrade," in err
    assert not (tmp_path / "s").exists()


async def test_grade_is_404_on_a_lab_that_is_no_exercise(lab):
    async with httpx.AsyncClient(base_url=lab.control.url) as client:
        for path in ("/api/grade", "/api/exercise"):
            response = await client.get(path)
            assert response.status_code == 404
            assert response.json() == {"error": "this lab is not an exercise (start one with `simulator up "
                                                "--exercise NAME`)"}


def test_up_with_an_exercise_starts_it_in_its_start_state(tmp_path, capsys):
    endpoints, proc = start_lab("--exercise=fdm-failed-upgrade", tmp_path)
    try:
        assert endpoints["devices"][0]["state"] == "upgrade_failed"      # prepared before the endpoints file
        control = endpoints["control"]["url"]
        described = httpx.get(control + "/api/exercise").json()
        assert described["title"] == "Finish an FDM upgrade that failed with auto-cancel off"
        assert [c["name"] for c in described["checks"]] == ["upgraded", "in-service", "no-reimage", "no-reboot",
                                                            "in-time"]
        assert main(["grade", "--url", control]) == 1
        out = capsys.readouterr().out
        assert "not passed yet" in out and "ftd-1 runs 7.4.1-172 (wanted 7.6.0)" in out
        assert "ftd-1 is upgrade_failed (wanted online)" in out and out.count("PASS") == 2
    finally:
        end_lab(proc)
