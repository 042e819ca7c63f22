"""``staff add NAME`` and ``console`` through the real command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.intake.conftest import World
from worker.staff.login import login


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
        stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False, input=stdin,
                          env={**os.environ, **(env or {})})


def test_staff_add_from_env_and_refuses_twice(world: World) -> None:
    cfg = world.config_file()
    env = {"STAFF_PW": "a good long password"}
    done = cli("--config", str(cfg), "staff", "add", "王老师", "--password-env", "STAFF_PW",
               cwd=world.root, env=env)
    assert done.returncode == 0 and "王老师" in done.stdout, done.stderr
    assert "a good long password" not in done.stdout + done.stderr
    assert login(world.app.sessions, "王老师", "a good long password", "127.0.0.1").actor
    again = cli("--config", str(cfg), "staff", "add", "王老师", "--password-env", "STAFF_PW",
                cwd=world.root, env=env)
    assert again.returncode == 1 and "已存在" in again.stderr
    unset = cli("--config", str(cfg), "staff", "add", "赵老师", "--password-env", "NOPE_PW",
                cwd=world.root)
    assert unset.returncode == 1 and "NOPE_PW" in unset.stderr


def test_staff_add_prompts_twice(world: World) -> None:
    cfg = world.config_file()
    differ = cli("--config", str(cfg), "staff", "add", "钱老师", cwd=world.root,
                 stdin="first password\nsecond password\n")
    assert differ.returncode == 1 and "differ" in differ.stderr
    same = cli("--config", str(cfg), "staff", "add", "钱老师", cwd=world.root,
               stdin="same password 1\nsame password 1\n")
    assert same.returncode == 0, same.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_console_serves_on_the_given_port(world: World) -> None:
    cfg = world.config_file()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "worker", "--config", str(cfg), "console",
                             "--host", "127.0.0.1", "--port", str(port)], cwd=world.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:  # noqa: S310
                    assert r.status == 200 and "发票申请处理台" in r.read().decode()
                    break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(10)
