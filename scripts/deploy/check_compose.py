"""Checks docker-compose.yml for what a GPU runner needs (run by scripts/check-deploy.sh).

No Docker here, so this reads the file as data: every named volume a service mounts is declared,
the runner has enough shared memory, and its stop_grace_period leaves the drain timeout to finish.
"""

import re
import sys

import yaml

UNITS = {"s": 1, "m": 60, "h": 3600}


def seconds(duration: str) -> int:
    """Compose durations as used here: 90s, 15m, 1h30m."""
    parts = re.findall(r"(\d+)([hms])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"unsupported duration {duration!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        compose = yaml.safe_load(handle)
    errors: list[str] = []
    declared = set((compose.get("volumes") or {}).keys())
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith(("/", ".", "$")) and source not in declared:
                errors.append(f"service {name}: volume {source!r} is not declared under volumes:")
    runner = compose["services"]["runner"]
    if "shm_size" not in runner:
        errors.append("runner: no shm_size (Docker's 64 MB default is too small for DataLoader/NCCL)")
    drain = int(runner.get("environment", {}).get("MESHTUNE_DRAIN_TIMEOUT", 0))
    grace = seconds(str(runner.get("stop_grace_period", "10s")))
    if drain <= 0 or grace <= drain:
        errors.append(
            f"runner: stop_grace_period ({grace}s) must exceed MESHTUNE_DRAIN_TIMEOUT ({drain}s)"
        )
    if not any(v.split(":", 1)[1] == "/var/lib/meshtune-runner" for v in runner.get("volumes", [])):
        errors.append("runner: no volume for its state (/var/lib/meshtune-runner)")
    for message in errors:
        print(f"{path}: {message}", file=sys.stderr)
    if not errors:
        print(f"{path}: ok (runner: shm_size {runner['shm_size']}, grace {grace}s > drain {drain}s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docker-compose.yml"))
