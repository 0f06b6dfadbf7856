"""The demo main job runs end to end against the local server and explains it."""

import json
import re

import pytest

from phee_sandbox.demo import main, plan


def test_demo_explains_each_step_and_prints_a_table(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    steps = [
        "1. Started a local PHEE at http://127.0.0.1:",
        "every file must be signed (JWS)",
        "2. Logged in to the operations app as mifos: got an access token",
        "3. Wrote the file: 20 payments, ",
        "(PHEE takes at most 100,000 bytes per file)",
        "4. Signed the file: X-SIGNATURE",
        "5. Sent the file: PHEE accepted it as batch ",
        "6. Waiting for PHEE to import the batch",
        "7. PHEE has imported the batch",
        "a job key, not our reference",
        "Progress: 0% (0 of 20 payments paid or failed",
        "1 on hold: PHEE reports an incident (EXCEPTION)",
        "Progress: 100% (20 of 20 payments paid or failed).",
        "8. Settled after ",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), "steps out of order"
    table = out.split("\n\n")[-1]
    assert re.search(r"Sent\s+20\s+3,900 USD", table)
    assert re.search(r"Paid\s+18\s+3,560 USD", table)
    assert re.search(r"Failed\s+2\s+340 USD", table)
    assert re.search(r"  Party not found\s+2\s+340 USD", table)
    assert re.search(r"On hold or unfinished\s+0\s+0 USD", table)


def test_demo_with_few_rows(capsys):
    assert main(["--rows", "3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"Paid\s+2\s", out) and re.search(r"Failed\s+1\s", out)
    assert "on hold:" not in out  # row 7, the one put on hold, is not there


def test_demo_json_for_scripts(capsys):
    assert main(["--json"]) == 0
    document = json.loads(capsys.readouterr().out)  # nothing but the JSON
    assert document["settled"] is True
    assert (document["tenant"], document["jws"], document["currency"]) == (
        "gorilla",
        True,
        "USD",
    )
    assert document["sent"] == {"payments": 20, "amount": 3900}
    assert document["paid"]["payments"] == 18
    assert document["failed"]["reasons"] == [
        {"reason": "Party not found", "payments": 2, "amount": 340}
    ]
    assert document["on_hold"] == {"payments": 0, "amount": 0}
    (file,) = document["files"]
    assert file["rows"] == 20 and file["bytes"] < 100_000


def test_demo_splits_large_batches_under_the_file_limit(capsys):
    assert main(["--rows", "2500", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    files = document["files"]
    assert len(files) >= 2
    assert all(f["bytes"] <= 100_000 for f in files)
    assert sum(f["rows"] for f in files) == 2500
    assert len({f["batch_id"] for f in files}) == len(files)
    assert document["paid"]["payments"] + document["failed"]["payments"] == 2500


def test_plan_of_odd_rows():
    assert plan(20) == ({3, 11}, {7})
    assert plan(3) == ({2}, set())
    assert plan(1) == ({0}, set())


def test_demo_rejects_a_non_positive_row_count():
    with pytest.raises(SystemExit) as exit_info:
        main(["--rows", "0"])
    assert exit_info.value.code == 2
