"""Render dialplans/*.conf for the Asterisk container (the chroot path does this in
robot/asterisk/runtime.py; the placeholders are the same)."""

import glob
import os
import re
import shutil
import sys
from pathlib import Path

src, dst = Path(sys.argv[1]), Path(sys.argv[2])
instance = Path("/var/lib/dozvon-asterisk")
modules = sorted(glob.glob("/usr/lib/*/asterisk/modules")) or ["/usr/lib/asterisk/modules"]
values = {
    "INSTANCE": "docker",
    "INSTANCE_DIR": str(instance),
    "MODULES_DIR": modules[0],
    "AMI_PORT": os.environ.get("AMI_PORT", "5038"),
    "AMI_USER": os.environ.get("AMI_USER", "dozvon"),
    "AMI_SECRET": os.environ["AMI_SECRET"],
    "AUDIOSOCKET_HOST": os.environ.get("AUDIOSOCKET_HOST", "robot"),
    "AUDIOSOCKET_PORT": os.environ.get("AUDIOSOCKET_PORT", "9092"),
}
dst.mkdir(parents=True, exist_ok=True)
for sub in ("lib", "spool", "run", "log", "cache"):
    (instance / sub).mkdir(parents=True, exist_ok=True)
data = instance / "data"
if not data.exists():
    shutil.copytree("/usr/share/asterisk", data, symlinks=True)
for template in src.glob("*.conf"):
    text = re.sub(r"@([A-Z][A-Z0-9_]*)@", lambda m: values[m.group(1)], template.read_text())
    (dst / template.name).write_text(text)
# The AMI must listen beyond loopback inside the compose network.
manager = dst / "manager.conf"
manager.write_text(manager.read_text().replace("bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0"))
