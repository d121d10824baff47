"""docker/compose.sentinel.yaml (not run here: no Docker engine in CI) points the robot at a
Sentinel set that exists in the same file and monitors the service the URL names."""

import re
from pathlib import Path

import yaml

from robot.adapters.redis_connect import parse_redis_url

ROOT = Path(__file__).resolve().parents[2]


def test_sentinel_overlay_wires_the_robot_to_its_sentinels():
    base = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    overlay = yaml.safe_load((ROOT / "docker" / "compose.sentinel.yaml").read_text())
    services = overlay["services"]
    assert set(services) - set(base["services"]) >= {"redis-replica"}
    sentinels = {n for n in services if n.startswith("sentinel-")}
    assert len(sentinels) == 3
    for robot in ("api", "worker"):
        assert robot in base["services"]  # the overlay only changes what compose.yaml runs
        target = parse_redis_url(services[robot]["environment"]["DOZVON_REDIS_URL"])
        assert target is not None
        assert {h for h, _ in target.sentinels} == sentinels
        assert {p for _, p in target.sentinels} == {26379}
        assert sentinels <= set(services[robot]["depends_on"])
    replica = " ".join(services["redis-replica"]["command"])
    assert "--replicaof redis 6379" in replica and "--appendfsync always" in replica
    script = services["sentinel-1"]["command"][-1]
    monitor = re.search(r"sentinel monitor (\S+) redis 6379 (\d+)", script)
    assert monitor is not None and monitor.group(1) == target.service
    assert int(monitor.group(2)) == 2  # a majority of three
    assert "--sentinel" in script and "port 26379" in script
