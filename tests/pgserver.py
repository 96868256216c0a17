"""A real PostgreSQL server for the tests: ``TRENDCAST_TEST_PG_URL`` when set, else a
throw-away cluster started from the machine's PostgreSQL binaries (``initdb``/``pg_ctl``; as
the ``postgres`` user when the tests run as root). ``.ci/run`` installs the binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PASSWORD_USER, PASSWORD = "pw_user", "right-password"


class NoServer(RuntimeError):
    """No PostgreSQL server can be started here (the message says why)."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    raise NoServer(f"no `{name}` on PATH or in /usr/lib/postgresql/*/bin: install the server "
                   "(apt-get install postgresql) or set TRENDCAST_TEST_PG_URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server(folder: Path) -> Iterator[str]:
    """A running server's base URL (``postgresql://tc@127.0.0.1:PORT/postgres``)."""
    url = os.environ.get("TRENDCAST_TEST_PG_URL")
    if url:
        yield url
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    prefix: list[str] = []
    folder.mkdir(parents=True, exist_ok=True)
    if as_root:
        if shutil.which("runuser") is None:
            raise NoServer("running as root without `runuser`: cannot start PostgreSQL as its own user")
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        os.chmod(folder, 0o700)
    data, port = folder / "data", _free_port()
    run = lambda *args: subprocess.run([*prefix, *args], capture_output=True, text=True,  # noqa: E731
                                       timeout=120)
    done = run(initdb, "-D", str(data), "-A", "trust", "-U", "tc", "--no-sync")
    if done.returncode:
        raise NoServer(f"initdb failed: {done.stderr.strip()[-300:]}")
    # One role that must give a password (the others are trusted), for the wrong-password test.
    hba = data / "pg_hba.conf"
    hba.write_text(f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    done = run(pg_ctl, "-D", str(data), "-w", "-l", str(folder / "log"), "-o", opts, "start")
    if done.returncode:
        raise NoServer(f"pg_ctl start failed: {done.stderr.strip()[-300:]}")
    try:
        url = f"postgresql://tc@127.0.0.1:{port}/postgres"
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        yield url
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")


def fresh_schema_url(base: str) -> str:
    """``base`` with a new, unique workspace schema."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}schema=t_{uuid.uuid4().hex[:12]}"
