"""The demo main job runs end to end against the local server."""

import pytest

from phee_sandbox.demo import main


def test_demo_settles_a_signed_batch_and_reports_it(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "Batch id:" in out
    assert "Correlation id:  demo-" in out
    assert "CSV header:      id,request_id,payment_mode," in out
    assert "Rows:            20" in out
    assert "paid 18, failed 2" in out
    assert out.count("Party not found") == 2


def test_demo_with_few_rows(capsys):
    assert main(["--rows", "3"]) == 0
    assert "paid 2, failed 1" in capsys.readouterr().out


def test_demo_rejects_a_non_positive_row_count():
    with pytest.raises(SystemExit) as exit_info:
        main(["--rows", "0"])
    assert exit_info.value.code == 2
