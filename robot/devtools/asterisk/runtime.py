"""Run an Asterisk instance from the chrooted Debian root (demo, integration tests, CI).

Facts relied on:

- Asterisk 22 (Debian sid package, 22.10 when written) in a ``debootstrap`` root built by
  scripts/setup_asterisk.sh; started as ``chroot ROOT /usr/sbin/asterisk -C CONF -f``
  (foreground, no console). It shares the host network namespace, so AMI and the
  AudioSocket client are on loopback. We run as root (chroot and mount need it).
- ``-C`` points at our own asterisk.conf whose directories all sit under one instance
  directory inside the root (``/run/dozvon/<instance>``), so several instances can run at
  once as long as their AMI ports differ. ``-rx`` with the same ``-C`` talks to the right
  instance through the control socket in its astrundir.
- AMI greets every TCP client with one line ``Asterisk Call Manager/<version>\\r\\n``
  (version 11.x for Asterisk 22). The banner appears before all modules are loaded, so
  start() then runs ``core waitfullybooted``, which returns once the dialplan is live.
- SIGTERM makes Asterisk shut down at once (like ``core stop now``).
- Templates in ``dialplans/`` carry ``@NAME@`` placeholders; a leftover one is an error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from robot.devtools.asterisk.chroot import STATE_DIR, ChrootProc, prepare_data_dir

if TYPE_CHECKING:
    from robot.config import Settings

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[3] / "dialplans"
ASTERISK_BIN = "/usr/sbin/asterisk"
AMI_BANNER_PREFIX = b"Asterisk Call Manager/"
_PLACEHOLDER = re.compile(r"@[A-Z][A-Z0-9_]*@")
_INSTANCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}


class AsteriskError(RuntimeError):
    """The chrooted Asterisk could not be prepared, started or queried."""


class AsteriskNotInstalled(AsteriskError):
    """The root has no Asterisk; run scripts/setup_asterisk.sh."""


class AsteriskRuntime:
    """One Asterisk process in the chroot, configured from ``dialplans/``."""

    def __init__(
        self,
        root: Path,
        ami_port: int,
        ami_user: str,
        ami_secret: str,
        audiosocket_host: str,
        audiosocket_port: int,
        audio_dir: Path | None,
        instance: str = "default",
        *,
        templates_dir: Path = TEMPLATES_DIR,
        overlay_dirs: Sequence[Path] = (),
        extra_placeholders: Mapping[str, str] | None = None,
        netns: str | None = None,
        ami_host: str = "127.0.0.1",
    ) -> None:
        if not _INSTANCE_NAME.match(instance):
            raise ValueError(f"bad instance name {instance!r}")
        for name, value in (("ami_user", ami_user), ("ami_secret", ami_secret)):
            if not value or any(c in value for c in "\r\n[];"):
                raise ValueError(f"{name} must be non-empty without newlines, [, ] or ;")
        self.root = Path(root)
        self.ami_port = ami_port
        self.ami_user = ami_user
        self.ami_secret = ami_secret
        # The dialplan connects *to* the robot: a wildcard bind address is reached on loopback.
        self.audiosocket_host = (
            "127.0.0.1" if audiosocket_host in _ANY_ADDRESS else audiosocket_host
        )
        self.audiosocket_port = audiosocket_port
        self.audio_dir = Path(audio_dir) if audio_dir is not None else None
        self.instance = instance
        self.templates_dir = templates_dir
        # Templates that replace (same name) or add to those in templates_dir, in order: a
        # SIP trunk, the loopback carrier (robot/devtools/asterisk/carrier.py).
        self.overlay_dirs = [Path(d) for d in overlay_dirs]
        self.extra_placeholders = dict(extra_placeholders or {})
        # Run inside this network namespace (``ip netns exec``); AMI then listens on ami_host,
        # an address of the namespace the host can reach.
        self.netns = netns
        self.ami_host = ami_host
        # Inside the chroot (what Asterisk sees) and the same directory seen from the host.
        self.chroot_dir = f"/{STATE_DIR}/{instance}"
        self.instance_dir = self.root / STATE_DIR / instance
        self.config_file = f"{self.chroot_dir}/etc/asterisk.conf"
        self.output_log = self.instance_dir / "asterisk.out"
        self.messages_log = self.instance_dir / "log" / "messages.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._chroot_proc = ChrootProc(self.root)
        self._holds_proc_mount = False

    @classmethod
    def from_settings(cls, settings: Settings, instance: str = "default") -> Self:
        return cls(
            root=settings.asterisk_root,
            ami_port=settings.ami_port,
            ami_user=settings.ami_user,
            ami_secret=settings.ami_secret,
            audiosocket_host=settings.audiosocket_host,
            audiosocket_port=settings.audiosocket_port,
            audio_dir=settings.audio_dir,
            instance=instance,
        )

    # -- configuration -------------------------------------------------------------------

    def _check_root(self) -> None:
        if not (self.root / ASTERISK_BIN.lstrip("/")).exists():
            raise AsteriskNotInstalled(
                f"no Asterisk in {self.root}; build it with scripts/setup_asterisk.sh"
            )

    def _modules_dir(self) -> str:
        found = sorted(self.root.glob("usr/lib/*/asterisk/modules"))
        if not found:
            raise AsteriskNotInstalled(f"no Asterisk modules directory in {self.root}")
        return "/" + str(found[0].relative_to(self.root))

    def placeholders(self) -> dict[str, str]:
        return {
            "INSTANCE": self.instance,
            "INSTANCE_DIR": self.chroot_dir,
            "MODULES_DIR": self._modules_dir(),
            "AMI_PORT": str(self.ami_port),
            "AMI_BIND": self.ami_host,
            "AMI_PERMIT": "",  # another "permit = addr/mask" line (a network namespace)
            "AMI_USER": self.ami_user,
            "AMI_SECRET": self.ami_secret,
            "AUDIOSOCKET_HOST": self.audiosocket_host,
            "AUDIOSOCKET_PORT": str(self.audiosocket_port),
            **self.extra_placeholders,
        }

    def templates(self) -> list[Path]:
        """The templates to render: ``templates_dir``, each overlay replacing by name."""
        chosen = {t.name: t for t in sorted(self.templates_dir.glob("*.conf"))}
        for overlay in self.overlay_dirs:
            if not overlay.is_dir():
                raise AsteriskError(f"no template overlay directory {overlay}")
            chosen.update({t.name: t for t in sorted(overlay.glob("*.conf"))})
        return [chosen[name] for name in sorted(chosen)]

    def render_configs(self) -> Path:
        """Write the instance directory (configs, data, empty state dirs); return the host
        path of its ``etc`` directory."""
        self._check_root()
        values = self.placeholders()
        etc = self.instance_dir / "etc"
        if etc.exists():
            shutil.rmtree(etc)
        etc.mkdir(parents=True)
        for sub in ("lib", "spool", "run", "log", "cache"):
            (self.instance_dir / sub).mkdir(exist_ok=True)
        templates = self.templates()
        if not templates:
            raise AsteriskError(f"no *.conf templates in {self.templates_dir}")
        for template in templates:
            text = _PLACEHOLDER.sub(
                lambda m: values.get(m.group(0)[1:-1], m.group(0)),
                template.read_text(encoding="utf-8"),
            )
            leftover = _PLACEHOLDER.search(text)
            if leftover:
                raise AsteriskError(f"{template.name}: unknown placeholder {leftover.group(0)}")
            (etc / template.name).write_text(text, encoding="utf-8")
        customer = self.audio_dir / "customer" if self.audio_dir is not None else None
        copied = prepare_data_dir(self.root, self.instance_dir / "data", customer)
        logger.debug("rendered %d configs and %d prompts into %s", len(templates), copied, etc)
        return etc

    # -- process -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def is_ami_up(self, timeout: float = 1.0) -> bool:
        """True if the AMI port answers with the Asterisk Call Manager banner."""
        return self._read_banner(timeout) is not None

    def _read_banner(self, timeout: float) -> str | None:
        try:
            with socket.create_connection((self.ami_host, self.ami_port), timeout=timeout) as s:
                line = s.makefile("rb").readline(200)
        except OSError:
            return None
        if not line.startswith(AMI_BANNER_PREFIX):
            return None
        return line.decode("ascii", errors="replace").strip()

    def start(self, timeout: float = 30.0) -> None:
        """Render configs, start Asterisk and return once AMI is up and it is fully booted."""
        if self.is_running():
            return
        self.stop()  # a previous process that died on its own: release what it held
        self._check_root()
        if self._port_taken():
            raise AsteriskError(
                f"{self.ami_host}:{self.ami_port} is already in use; is another Asterisk running?"
            )
        self.render_configs()
        if self.messages_log.exists():
            # Keep one previous run; log_tail() then shows only this run.
            self.messages_log.replace(self.messages_log.with_suffix(".log.1"))
        started = time.monotonic()
        self._chroot_proc.acquire(self.instance)
        self._holds_proc_mount = True
        try:
            self._spawn()
            banner = self._wait_for_ami(started + timeout)
            self._wait_fully_booted(started + timeout)
        except BaseException:
            self.stop()
            raise
        logger.info(
            "asterisk %s up in %.2fs: pid %s, %s on %s:%d, audiosocket -> %s:%d",
            self.instance,
            time.monotonic() - started,
            self.pid,
            banner,
            self.ami_host,
            self.ami_port,
            self.audiosocket_host,
            self.audiosocket_port,
        )

    def _port_taken(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            return s.connect_ex((self.ami_host, self.ami_port)) == 0

    def _spawn(self) -> None:
        self._output = open(self.output_log, "wb")  # closed in stop()
        argv = ["chroot", str(self.root), ASTERISK_BIN, "-C", self.config_file, "-f"]
        self._proc = subprocess.Popen(
            [*self._netns_prefix(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"},
            # Ctrl-C in the terminal goes to us; we decide when Asterisk stops.
            start_new_session=True,
        )

    def _netns_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def _wait_for_ami(self, deadline: float) -> str:
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise AsteriskError(
                    f"asterisk {self.instance} exited with {self._proc.returncode} "
                    f"during startup\n{self.log_tail()}"
                )
            banner = self._read_banner(0.5)
            if banner is not None:
                return banner
            if time.monotonic() > deadline:
                raise AsteriskError(
                    f"asterisk {self.instance}: no AMI banner on {self.ami_host}:{self.ami_port}"
                    f"\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _wait_fully_booted(self, deadline: float) -> None:
        remaining = max(deadline - time.monotonic(), 1.0)
        try:
            self.cli("core waitfullybooted", timeout=remaining)
        except (AsteriskError, subprocess.TimeoutExpired) as e:
            raise AsteriskError(
                f"asterisk {self.instance} did not finish booting: {e}\n{self.log_tail()}"
            ) from e

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process we started (SIGTERM, then SIGKILL) and release /proc."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    logger.warning("asterisk %s ignored SIGTERM, killing", self.instance)
                    proc.kill()
                    proc.wait(5)
            logger.info("asterisk %s stopped (exit %s)", self.instance, proc.returncode)
        if self._holds_proc_mount:
            self._holds_proc_mount = False
            self._chroot_proc.release(self.instance)
        if self._output is not None:
            self._output.close()
            self._output = None

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)

    def remove_files(self) -> None:
        """Delete this instance's directory (configs, logs, astdb); only while stopped."""
        if self.is_running():
            raise AsteriskError(f"asterisk {self.instance} is running; stop() it first")
        shutil.rmtree(self.instance_dir, ignore_errors=True)

    # -- diagnostics ---------------------------------------------------------------------

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command in this instance (``asterisk -rx``) and return its output."""
        done = subprocess.run(
            ["chroot", str(self.root), ASTERISK_BIN, "-C", self.config_file, "-rx", command],
            capture_output=True,
            timeout=timeout,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"},
        )
        out = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()
            raise AsteriskError(f"asterisk -rx {command!r} failed ({done.returncode}): {err}")
        return out

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in (self.output_log, self.messages_log):
            with contextlib.suppress(OSError):
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(tail))
        return "\n".join(parts) or "(no Asterisk logs yet)"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"AsteriskRuntime(instance={self.instance!r}, root={str(self.root)!r}, "
            f"ami_port={self.ami_port}, pid={self.pid})"
        )


def environment_problem(root: Path) -> str | None:
    """Why this host cannot run the chrooted Asterisk, or None if it can (for test skips)."""
    if os.geteuid() != 0:
        return "needs root (chroot and mount)"
    if not (Path(root) / ASTERISK_BIN.lstrip("/")).exists():
        return f"no Asterisk root at {root}; run scripts/setup_asterisk.sh"
    return None
