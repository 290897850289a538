"""A real IMAP server on loopback for tests: a throwaway Dovecot with all its state in a tmp dir.

``running_dovecot()`` starts ``dovecot -c FILE`` on a free loopback port with one passwd-file
user, and stops it when the block ends. Tests that need it call ``require_dovecot()`` first:
without the ``dovecot`` command (Debian package ``dovecot-imapd``) they are skipped with that
reason; CI installs it (``.ci/run``).
"""

from __future__ import annotations

import imaplib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from loket.core.tests.processes import free_port

USER = "support@toko.test"
PASSWORD = "secret-imap-password"


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None
    )


def require_dovecot() -> str:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("needs Dovecot for a real IMAP server: apt-get install dovecot-imapd")
    try:
        pwd.getpwnam("dovecot")
        pwd.getpwnam("dovenull")
    except KeyError:
        pytest.skip("needs the dovecot and dovenull system users (Debian package dovecot-core)")
    if os.geteuid() != 0:
        pytest.skip("the throwaway Dovecot needs root (it switches to the dovecot user)")
    return binary


@dataclass
class Dovecot:
    """A running Dovecot: where it listens, who may log in, and helpers to shape its mailbox."""

    host: str
    port: int
    user: str
    password: str
    base: Path

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> int:
        """Put a raw mail into ``folder``; returns its UID (from APPENDUID)."""
        imap = self.client()
        try:
            if folder != "INBOX":
                imap.create(folder)  # NO when it exists: fine
            typ, data = imap.append(folder, flags or None, None, raw)
            assert typ == "OK", data
            # The tagged answer reads "[APPENDUID <uidvalidity> <uid>] Append completed."
            found = re.search(
                rb"APPENDUID \d+ (\d+)", data[0] if isinstance(data[0], bytes) else b""
            )
            assert found, data
            return int(found.group(1))
        finally:
            imap.logout()

    def uids(self, folder: str = "INBOX") -> list[int]:
        imap = self.client()
        try:
            imap.select(folder, readonly=True)
            typ, data = imap.uid("SEARCH", "ALL")
            assert typ == "OK", data
            return [int(uid) for uid in (data[0] or b"").split()]
        finally:
            imap.logout()

    def flags(self, uid: int, folder: str = "INBOX") -> str:
        imap = self.client()
        try:
            imap.select(folder, readonly=True)
            typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
            assert typ == "OK", data
            return b" ".join(part for part in data if isinstance(part, bytes)).decode()
        finally:
            imap.logout()

    def uidvalidity(self, folder: str = "INBOX") -> int:
        imap = self.client()
        try:
            typ, data = imap.status(folder, "(UIDVALIDITY)")
            assert typ == "OK", data
            return int(data[0].decode().split("UIDVALIDITY", 1)[1].strip(" )"))
        finally:
            imap.logout()

    def recreate(self, folder: str = "INBOX", mails: list[bytes] | None = None) -> int:
        """Give ``folder`` a new UIDVALIDITY: delete its maildir and put ``mails`` back.

        Returns the new UIDVALIDITY. (Dovecot derives UIDVALIDITY from the clock in seconds,
        so this waits until a new second has begun.)
        """
        old = self.uidvalidity(folder)
        maildir = self.base / "mail" / self.user
        target = maildir if folder == "INBOX" else maildir / f".{folder}"
        for name in ("cur", "new", "tmp"):
            shutil.rmtree(target / name, ignore_errors=True)
        for path in target.glob("dovecot*"):
            if path.is_file():
                path.unlink()
        while int(time.time()) <= old:
            time.sleep(0.05)
        for raw in mails or []:
            self.append(raw, folder)
        new = self.uidvalidity(folder)
        assert new != old, (old, new)
        return new


CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = 100
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={base}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _wait_for_port(host: str, port: int, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            imaplib.IMAP4(host, port, timeout=2).logout()
            return
        except OSError:
            if time.monotonic() > deadline:
                detail = log.read_text(errors="replace") if log.exists() else ""
                raise RuntimeError(f"Dovecot did not answer on {host}:{port}\n{detail}") from None
            time.sleep(0.05)


@contextmanager
def running_dovecot(user: str = USER, password: str = PASSWORD) -> Iterator[Dovecot]:
    """A Dovecot listening on a free loopback port until the block ends (skips without one)."""
    binary = require_dovecot()
    base = Path(tempfile.mkdtemp(prefix="loket-dovecot-"))
    base.chmod(0o755)
    dovecot = pwd.getpwnam("dovecot")
    try:
        for name in ("run", "state", "mail"):
            (base / name).mkdir()
        os.chown(base / "mail", dovecot.pw_uid, dovecot.pw_gid)
        (base / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
        (base / "passwd").chmod(0o644)
        for _attempt in range(5):
            port = free_port()
            (base / "dovecot.conf").write_text(CONFIG.format(base=base, port=port))
            # The daemon keeps its standard streams open: write them to a file, not a pipe.
            with (base / "start.log").open("w+") as out:
                started = subprocess.run(
                    [binary, "-c", str(base / "dovecot.conf")],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=30,
                    check=False,
                )
                out.seek(0)
                output = out.read()
            if started.returncode == 0:
                break
            log = (
                (base / "dovecot.log").read_text(errors="replace")
                if (base / "dovecot.log").exists()
                else ""
            )
            if "Address already in use" not in output + log:
                raise RuntimeError(f"Dovecot did not start: {output}\n{log}")
        else:
            raise RuntimeError("no free port for Dovecot")
        try:
            _wait_for_port("127.0.0.1", port, base / "dovecot.log")
            yield Dovecot("127.0.0.1", port, user, password, base)
        finally:
            _stop(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _stop(base: Path) -> None:
    pid_file = base / "run" / "master.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
