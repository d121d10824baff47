"""The Debian root Asterisk runs in: its ``/proc`` mount and each instance's data directory.

Facts relied on:

- The root is a ``debootstrap --variant=minbase --include=asterisk sid`` tree
  (scripts/setup_asterisk.sh). It ships static device nodes in ``/dev`` (null, zero,
  random, urandom, ptmx, tty), which is all Asterisk needs; ``/sys`` and ``/dev/pts`` are
  not needed.
- Asterisk wants ``/proc`` (thread ids, ``/proc/self``). Several instances, in this process
  or others, may share one root, so the mount is reference-counted on disk: one file per
  user under ``<root>/run/dozvon/proc-users/`` holding the owning Python pid, guarded by an
  ``flock``. We unmount only if a marker says we mounted it and no live user is left.
- The packaged data directory is ``/usr/share/asterisk`` (documentation XML, keys, sounds).
  Each instance gets its own data directory of symlinks to it, so that instance-specific
  prompts (``sounds/dozvon-customer``) never touch the shared tree.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

STATE_DIR = "run/dozvon"  # relative to the root; instance directories live here too
PACKAGED_DATA_DIR = "/usr/share/asterisk"
CUSTOMER_SOUNDS = "dozvon-customer"
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def is_mountpoint(path: Path) -> bool:
    """True if ``path`` is a mount point according to /proc/self/mountinfo."""
    target = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            # Field 5 is the mount point, with spaces and friends escaped as octal.
            mount_point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
            if mount_point == target:
                return True
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChrootProc:
    """Reference-counted ``/proc`` mount inside the root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc_dir = root / "proc"
        self.state_dir = root / STATE_DIR
        self.users_dir = self.state_dir / "proc-users"
        self.marker = self.state_dir / "proc.mounted-by-dozvon"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.users_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "proc.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _live_users(self) -> list[str]:
        users = []
        for entry in self.users_dir.iterdir():
            try:
                pid = int(entry.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid):
                users.append(entry.name)
            else:
                logger.debug("dropping stale /proc user %s (pid %s)", entry.name, pid)
                entry.unlink(missing_ok=True)
        return users

    def acquire(self, user: str) -> None:
        with self._locked():
            if not is_mountpoint(self.proc_dir):
                self.proc_dir.mkdir(exist_ok=True)
                subprocess.run(
                    ["mount", "-t", "proc", "proc", str(self.proc_dir)],
                    check=True,
                    capture_output=True,
                )
                self.marker.touch()
                logger.info("mounted %s", self.proc_dir)
            (self.users_dir / user).write_text(f"{os.getpid()}\n")

    def release(self, user: str) -> None:
        with self._locked():
            (self.users_dir / user).unlink(missing_ok=True)
            if self._live_users():
                return
            if not self.marker.exists():
                return  # someone else mounted it: not ours to take away
            if is_mountpoint(self.proc_dir):
                done = subprocess.run(["umount", str(self.proc_dir)], capture_output=True)
                if done.returncode != 0:
                    # A foreign process still sits in the root; detach rather than fail stop().
                    logger.warning(
                        "umount %s failed (%s), detaching lazily",
                        self.proc_dir,
                        done.stderr.decode(errors="replace").strip(),
                    )
                    subprocess.run(["umount", "-l", str(self.proc_dir)], capture_output=True)
                logger.info("unmounted %s", self.proc_dir)
            self.marker.unlink(missing_ok=True)


def prepare_data_dir(root: Path, data_dir: Path, customer_sounds: Path | None) -> int:
    """Fill ``data_dir`` (a host path inside the root) with symlinks to the packaged data
    directory plus a copy of ``customer_sounds``; returns how many prompt files were copied."""
    packaged = root / PACKAGED_DATA_DIR.lstrip("/")
    if data_dir.exists():
        shutil.rmtree(data_dir)
    sounds = data_dir / "sounds"
    sounds.mkdir(parents=True)
    for entry in sorted(packaged.iterdir()):
        if entry.name != "sounds":
            # Absolute targets: they resolve inside the chroot, where Asterisk reads them.
            (data_dir / entry.name).symlink_to(f"{PACKAGED_DATA_DIR}/{entry.name}")
    for entry in sorted((packaged / "sounds").iterdir()):
        (sounds / entry.name).symlink_to(f"{PACKAGED_DATA_DIR}/sounds/{entry.name}")

    target = sounds / CUSTOMER_SOUNDS
    if customer_sounds is None or not customer_sounds.is_dir():
        target.mkdir()
        if customer_sounds is not None:
            logger.warning(
                "no customer prompts in %s: the simulated customer cannot speak",
                customer_sounds,
            )
        return 0
    shutil.copytree(customer_sounds, target)
    return sum(1 for p in target.rglob("*") if p.is_file())
