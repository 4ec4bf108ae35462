"""Real mail servers for the e-mail channel tests: Debian's dovecot (IMAP) in a temporary
directory, the Ventanilla SMTP/LMTP receiver on a free port, and an aiosmtpd sink for
what the outbox sends."""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.notifications.conftest import SmtpServer, free_port, running_outbox_sink  # noqa: F401

DOVECOT = "/usr/sbin/dovecot"
IMAP_USER = "oirs"
IMAP_PASSWORD = "clave-de-prueba"
DOVECOT_MISSING = "dovecot (dovecot-imapd) is not installed"


def wait_for_port(port: int, *, process: subprocess.Popen | None = None,
                  attempts: int = 200) -> None:
    for _ in range(attempts):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Dovecot:
    """A throw-away dovecot serving one user's maildir over plain IMAP on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = free_port()
        # Not pytest's tmp_path: under root that lives in a 0700 directory the mail
        # processes (which never run as root) could not enter.
        self.root = Path(tempfile.mkdtemp(prefix="ventanilla-dovecot-"))
        self.root.chmod(0o755)
        self.process: subprocess.Popen | None = None

    def _users(self) -> tuple[str, str, int, int]:
        """(internal user, login user, mail uid, mail gid)."""
        if os.geteuid() == 0:
            internal = pwd.getpwnam("dovecot")
            login = "dovenull" if _user_exists("dovenull") else "dovecot"
            return "dovecot", login, internal.pw_uid, internal.pw_gid
        me = getpass.getuser()
        return me, me, os.getuid(), os.getgid()

    def write_config(self) -> Path:
        internal, login, uid, gid = self._users()
        home = self.root / "home" / IMAP_USER
        home.mkdir(parents=True)
        if os.geteuid() == 0:
            os.chown(home.parent, uid, gid)
            os.chown(home, uid, gid)
        users = self.root / "users"
        users.write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}:{uid}:{gid}::{home}\n")
        not_root = os.geteuid() != 0
        # Chroots need root; as another user every service runs unchrooted.
        chroot = "  chroot =\n" if not_root else ""
        # Unix sockets are chowned to this group; only root may pick another one.
        group = f"default_internal_group = {grp.getgrgid(gid).gr_name}\n" if not_root else ""
        config = self.root / "dovecot.conf"
        config.write_text(f"""
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
info_log_path = {self.root}/dovecot.log
default_internal_user = {internal}
default_login_user = {login}
{group}first_valid_uid = {min(uid, 500) or 1}
first_valid_gid = {min(gid, 500) or 1}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {users}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {users}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{chroot}}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {internal}
  }}
  unix_listener stats-writer {{
    user = {internal}
  }}
}}
""")
        return config

    def start(self) -> None:
        config = self.write_config()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.port, process=self.process)
        except RuntimeError as exc:
            output = (self.process.stdout.read().decode(errors="replace")
                      if self.process.stdout else "")
            self.stop()
            raise RuntimeError(f"dovecot did not start: {exc}\n{output}\n{self.log()}") from exc

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            if self.process.stdout:
                self.process.stdout.close()
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(IMAP_USER, IMAP_PASSWORD)
        return client

    def append(self, raw: bytes, *, flags: str = "") -> None:
        client = self.client()
        try:
            status, detail = client.append("INBOX", f"({flags})" if flags else None, None, raw)
            assert status == "OK", detail
        finally:
            client.logout()

    def flags(self) -> dict[str, set[str]]:
        """Message-ID → flags of every message in INBOX."""
        client = self.client()
        try:
            client.select("INBOX", readonly=True)
            status, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            assert status == "OK", data
            found = {}
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = set(re.findall(rb"\\\w+", item[0].split(b"BODY")[0]))
                message_id = item[1].decode().split(":", 1)[1].strip()
                found[message_id] = {flag.decode() for flag in flags}
            return found
        finally:
            client.logout()


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def running_dovecot(settings) -> Iterator[Dovecot]:
    """A running dovecot and the IMAP_* settings pointing at it (skips when missing)."""
    if not Path(DOVECOT).exists():
        pytest.skip(DOVECOT_MISSING)
    if os.geteuid() == 0 and not _user_exists("dovecot"):
        pytest.skip("the dovecot system user is missing (dovecot-core not configured)")
    server = Dovecot()
    server.start()
    settings.IMAP_HOST = "127.0.0.1"
    settings.IMAP_PORT = server.port
    settings.IMAP_SSL = False
    settings.IMAP_USER = IMAP_USER
    settings.IMAP_PASSWORD = IMAP_PASSWORD
    settings.IMAP_MAILBOX = "INBOX"
    try:
        yield server
    finally:
        server.stop()


class Receiver:
    """The Ventanilla SMTP or LMTP receiver (``channels.email_receive``) on a free port."""

    def __init__(self, *, lmtp: bool) -> None:
        from ventanilla.channels.email_receive import mail_receiver

        self.port = free_port()
        self.lmtp = lmtp
        self.controller = mail_receiver(host="127.0.0.1", port=self.port, lmtp=lmtp)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@contextmanager
def running_receiver(*, lmtp: bool) -> Iterator[Receiver]:
    receiver = Receiver(lmtp=lmtp)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
