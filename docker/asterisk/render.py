"""Render dialplans/*.conf for the Asterisk container (the chroot path does this in
robot/devtools/asterisk/runtime.py; the placeholders are the same).

With SIP_TRUNK_HOST set, dialplans/trunk/pjsip.conf replaces the default pjsip.conf: a UDP
transport on SIP_PORT (5060), registration with digest auth at the carrier
(SIP_TRUNK_HOST:SIP_TRUNK_PORT, SIP_TRUNK_USER / SIP_TRUNK_SECRET) and the endpoints
``carrier`` (PCMA, PCMU) and ``carrier-pcmu``; the robot then dials with
DOZVON_DIAL_TEMPLATE="PJSIP/{digits}@carrier"."""

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
    # The AMI listens on the compose network (its port is not published); who may log in.
    "AMI_BIND": "0.0.0.0",
    "AMI_PERMIT": f"permit = {os.environ.get('AMI_PERMIT', '0.0.0.0/0.0.0.0')}",
}
templates = {t.name: t for t in src.glob("*.conf")}
if os.environ.get("SIP_TRUNK_HOST"):
    values.update(
        {
            "SIP_BIND": "0.0.0.0",
            "SIP_PORT": os.environ.get("SIP_PORT", "5060"),
            "CARRIER_HOST": os.environ["SIP_TRUNK_HOST"],
            "CARRIER_PORT": os.environ.get("SIP_TRUNK_PORT", "5060"),
            "TRUNK_USER": os.environ["SIP_TRUNK_USER"],
            "TRUNK_SECRET": os.environ["SIP_TRUNK_SECRET"],
        }
    )
    templates.update({t.name: t for t in (src / "trunk").glob("*.conf")})
dst.mkdir(parents=True, exist_ok=True)
for sub in ("lib", "spool", "run", "log", "cache"):
    (instance / sub).mkdir(parents=True, exist_ok=True)
data = instance / "data"
if not data.exists():
    shutil.copytree("/usr/share/asterisk", data, symlinks=True)
for template in templates.values():
    text = re.sub(r"@([A-Z][A-Z0-9_]*)@", lambda m: values[m.group(1)], template.read_text())
    (dst / template.name).write_text(text)
