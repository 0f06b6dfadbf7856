"""Every README command that needs no Odoo works as written.

The test command is CI's; the main job's demo runs; ``--help`` documents every
option; the hand walkthrough is what the server prints, and runs: with bash and
curl when the machine has them, and as the same requests from Python always.
"""

from __future__ import annotations

import atexit
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import requests

from phee_sandbox.cli import OAUTH_CLIENT_HEADER, SAMPLE_CSV_LINES, build_parser
from phee_sandbox.cli import walkthrough as server_walkthrough

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETUP = (
    "python3 -m venv .venv && . .venv/bin/activate && "
    "python -m pip install -q -r requirements-test.txt"
)
README_BASE = "http://127.0.0.1:8089"


def code_blocks() -> list[str]:
    """The ``sh`` blocks of the README, dedented."""
    blocks = re.findall(r"^( *)```sh\n(.*?)^\1```", README, re.S | re.M)
    return [
        "\n".join(line[len(indent) :] for line in body.rstrip("\n").split("\n"))
        for indent, body in blocks
    ]


def block_with(text: str) -> str:
    (block,) = [b for b in code_blocks() if text in b]
    return block


_BIN = Path(tempfile.mkdtemp(prefix="readme-bin-"))
(_BIN / "python").symlink_to(sys.executable)
atexit.register(shutil.rmtree, _BIN, True)


def python_env() -> dict:
    """This interpreter first on PATH (as ``python``) and the repo importable."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(_BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    return env


def run(command: list[str], **kw) -> subprocess.CompletedProcess:
    kw.setdefault("cwd", ROOT)
    kw.setdefault("env", python_env())
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, check=False, **kw
    )


# ------------------------------------------------------------ the two commands


def test_test_command_is_exactly_the_ci_command():
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.startswith("python3 -m venv")
    ]
    assert block_with("python -m pytest") in ci
    assert (
        block_with("python -m pytest") == f"{SETUP} && ruff check . && python -m pytest"
    )


def test_main_job_command_runs_the_demo():
    command = block_with("phee_sandbox.demo")
    assert command == f"{SETUP} && python -m phee_sandbox.demo"
    result = run([sys.executable, "-m", "phee_sandbox.demo"])
    assert result.returncode == 0, result.stderr
    assert "1. Started a local PHEE" in result.stdout
    assert re.search(r"Settled after \d+ checks", result.stdout)
    assert re.search(r"Sent\s+20\s+3,900 USD", result.stdout)


@pytest.mark.parametrize(
    "module", ["phee_sandbox", "phee_sandbox.demo", "phee_sandbox.sign"]
)
def test_help_of_every_command(module):
    result = run([sys.executable, "-m", module, "--help"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m {module}")


def test_server_help_documents_every_option_with_its_default():
    text = " ".join(
        run([sys.executable, "-m", "phee_sandbox", "--help"]).stdout.split()
    )
    for action in build_parser()._actions:
        for flag in action.option_strings:
            assert flag in text
        if action.option_strings and action.help != "show this help message and exit":
            assert action.help, action.option_strings
            shown = " ".join(action.help.split())
            assert shown.split("%")[0][:40] in text
            if action.nargs != 0 and action.default not in (None, []):
                assert f"(default: {action.default})" in text, action.option_strings
            elif action.nargs != 0:  # the help says what happens without it
                assert "default" in action.help or action.dest in (
                    "public_key",
                    "never_start",
                ), action.option_strings


# ------------------------------------------------------------ the walkthrough


def test_readme_walkthrough_is_what_the_server_prints():
    readme = block_with("phee_sandbox.sign")
    printed = server_walkthrough(
        README_BASE, "gorilla", "sandbox-key.pem", "mifos", "password"
    )
    assert readme == "\n".join(printed)
    start = block_with("--private-key-out")
    assert start == "python -m phee_sandbox --private-key-out sandbox-key.pem"


class Server:
    """``python -m phee_sandbox`` as the README starts it, on a free port."""

    def __init__(self, folder: Path):
        start = block_with("--private-key-out").split()
        key = folder / start[-1]
        self.process = subprocess.Popen(
            [sys.executable, *start[1:-1], str(key), "--port", "0"],
            cwd=ROOT,
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.banner = self._banner()
        self.base = re.search(r"on (http://[\d.]+:\d+) ", self.banner).group(1)
        self.key = key

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)

    def _banner(self) -> str:
        lines, finals = [], 0
        while finals < 3:
            try:
                line = self.lines.get(timeout=20)
            except queue.Empty:
                self.process.kill()
                raise AssertionError(
                    "no banner: " + self.process.stderr.read()
                ) from None
            lines.append(line)
            finals += line.rstrip().endswith('Bearer $TOKEN"; echo')
        return "".join(lines)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path):
    started = Server(tmp_path)
    yield started
    started.stop()


def test_banner_says_what_a_client_needs(server):
    banner = server.banner
    assert f"POST {server.base}/batchtransactions" in banner
    assert f"{server.base}/oauth/token" in banner
    assert "Tenants          gorilla" in banner
    assert "mifos / password" in banner
    assert OAUTH_CLIENT_HEADER in banner
    assert (
        f"JWS              on: sign with the demo private key written to {server.key}"
        in banner
    )
    assert "correlationId is a job key" in banner
    assert "sub-batches" in banner
    assert server.key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert oct(server.key.stat().st_mode & 0o777) == "0o600"
    printed = server_walkthrough(
        server.base, "gorilla", str(server.key), "mifos", "password"
    )
    for line in printed:
        assert f"  {line}" in banner


@pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("curl")), reason="needs bash and curl"
)
def test_readme_walkthrough_runs_in_bash_with_curl(server, tmp_path):
    script = block_with("phee_sandbox.sign").replace(README_BASE, server.base)
    result = run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer, first, detail, last = result.stdout.strip().split("\n")
    assert '"PollingPath": "/batch/Summary/' in answer
    assert '"total": 2' in first
    assert "Party not found" in detail and '"COMPLETED"' in detail
    assert (
        '"ongoing": 0' in last and '"successful": 1' in last and '"failed": 1' in last
    )
    assert (tmp_path / "sandbox-batch.csv").read_text().splitlines() == list(
        SAMPLE_CSV_LINES
    )


def test_readme_walkthrough_as_python_requests(server, tmp_path):
    """The same calls, made with requests; the signature from the sign command."""
    base, tenant = server.base, "gorilla"
    token = requests.post(
        f"{base}/oauth/token",
        params={"username": "mifos", "password": "password", "grant_type": "password"},
        headers={"Platform-TenantId": tenant, "Authorization": OAUTH_CLIENT_HEADER},
        timeout=10,
    ).json()["access_token"]
    csv_file = tmp_path / "sandbox-batch.csv"
    csv_file.write_text("\n".join(SAMPLE_CSV_LINES) + "\n")
    signed = run(
        [
            sys.executable,
            "-m",
            "phee_sandbox.sign",
            "--key",
            str(server.key),
            "--tenant",
            tenant,
            "--correlation-id",
            "trial-1",
            str(csv_file),
        ]
    )
    assert signed.returncode == 0, signed.stderr
    answer = requests.post(
        f"{base}/batchtransactions",
        headers={
            "Platform-TenantId": tenant,
            "X-CorrelationID": "trial-1",
            "Purpose": "Trial",
            "Type": "csv",
            "filename": "sandbox-batch.csv",
            "X-SIGNATURE": signed.stdout.strip(),
        },
        files={"data": ("sandbox-batch.csv", csv_file.read_bytes())},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    batch = answer.json()["PollingPath"].rsplit("/", 1)[1]
    ops = {"Platform-TenantId": tenant, "Authorization": f"Bearer {token}"}
    summary = requests.get(f"{base}/api/v1/batch/{batch}", headers=ops, timeout=10)
    assert summary.json()["total"] == 2
    detail = requests.get(
        f"{base}/api/v1/batch/detail",
        params={"batchId": batch, "pageNo": 0, "pageSize": 100, "status": "ALL"},
        headers=ops,
        timeout=10,
    ).json()
    reasons = {
        t["clientCorrelationId"]: t["errorInformation"] for t in detail["content"]
    }
    assert reasons["trial-0001"] is None
    assert "Party not found" in reasons["trial-0002"]
    final = requests.get(f"{base}/api/v1/batch/{batch}", headers=ops, timeout=10).json()
    assert (final["ongoing"], final["successful"], final["failed"]) == (0, 1, 1)


# ------------------------------------------------------------ clean failures


def test_a_busy_port_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(
            [sys.executable, "-m", "phee_sandbox", "--port", str(port), "--no-jws"]
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"python -m phee_sandbox: port {port} on 127.0.0.1 is already in use: stop "
        "what uses it or pick another with --port (0 picks a free one)"
    )


def test_an_old_python_is_one_line():
    code = "import sys; sys.version_info = (3, 9, 7, 'final', 0); import phee_sandbox"
    result = run([sys.executable, "-c", code])
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "phee_sandbox needs Python 3.10 or newer; this is Python 3.9"
    )
