"""Stands in for the training child in agent tests: events, a pause, then a result.

FAKE_WORKER_MODE: complete (default) | fail | crash | crash-skipped | crash-leaky | chatty |
slow | oom-rank1 | mismatch | broken
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from meshtune_runner.trial_files import EventWriter, TrialResult, TrialSpec


def main() -> int:
    spec = TrialSpec.load(Path(sys.argv[1]))
    mode = os.environ.get("FAKE_WORKER_MODE", "complete")
    events = EventWriter(spec.events_path, min_interval=0.0)
    steps = 40 if mode == "slow" else 4
    if spec.checkpoint_dir:
        (Path(spec.checkpoint_dir) / "checkpoint-2").mkdir(parents=True, exist_ok=True)
    for step in range(1, steps + 1):
        if spec.stop_path.exists():  # the agent relays the API's early stop
            spec.adapter_path.mkdir()
            (spec.adapter_path / "adapter_model.safetensors").write_bytes(b"stopped")
            TrialResult(
                "stopped",
                {"last_val_loss": 2.5 - (step - 1) // 2 * 2 * 0.01},
                effective_config={"stoppedAtStep": step - 1, "plannedSteps": steps},
                adapter_dir=str(spec.adapter_path),
            ).save(spec.result_path)
            return 0
        events.progress(step / steps, step, steps)
        events.metric("train_loss", step, 2.0 - step * 0.01)
        if step % 2 == 0:
            events.metric("val_loss", step, 2.5 - step * 0.01)
        time.sleep(0.25)
    if mode == "crash":
        print("Traceback: something exploded", flush=True)
        return 3
    if mode in ("crash-skipped", "crash-resaved"):
        # Checkpoint saves skipped under the disk floor, the last kept one of step 2, (resaved:
        # then one saved at step 6, when there was room again), then a crash.
        events.checkpoint_skipped(4, 2)
        if mode == "crash-resaved":
            events.checkpoint_saved(6)
        time.sleep(0.5)  # the agent reads events every half second
        print("Traceback: something exploded", flush=True)
        return 3
    if mode == "crash-leaky":
        # What a crashed child's log may hold: its environment's secrets, a presigned URL,
        # a huge line, bytes that are not UTF-8, control characters, a progress bar.
        out = sys.stdout.buffer
        out.write(b"z" * 1_000_000 + b"\n")
        out.write(b"y" * 20_000 + b"\n")
        out.write(f"token={os.environ['HF_TOKEN']} loaded\n".encode())
        out.write(
            b"GET https://b.s3.amazonaws.com/k?X-Amz-Signature=deadbeefcafe0123&X-Amz-Date=1\n"
        )
        out.write(b"bad bytes \xff\xfe\x00 and \x1b[31mred\x1b[0m\n")
        out.write(b" 10%|#  | 1/10\r 90%|#########  | 9/10\r\n")
        out.write(b"Traceback: something exploded\n")
        out.flush()
        return 3
    if mode == "chatty":
        # A child that logs far more than the runner keeps: 8 MiB in numbered lines.
        out = sys.stdout.buffer
        for line in range(8 * 2**20 // 32):
            out.write(f"chatty line {line:019d}\n".encode())
        out.flush()
    if mode == "fail":
        TrialResult("failed", error="CUDA out of memory (fake)", kind="resource").save(
            spec.result_path
        )
        return 1
    if mode == "diverged":
        TrialResult("failed", error="loss is nan (fake)").save(spec.result_path)
        return 1
    if mode in ("mismatch", "broken"):
        # What the real worker writes (worker.main) when the child finds that this machine
        # lacks what the study needs, or that it is broken (worker.check_gpus_usable).
        from meshtune_runner.errors import RunnerFaultError, RunnerMismatchError, refusal_of
        from meshtune_runner.worker import classify_failure, describe_failure

        exc: Exception = (
            RunnerMismatchError("model 'org/name' is not in this runner's hub cache (fake)")
            if mode == "mismatch"
            else RunnerFaultError("this runner was given GPU(s) 0 (--gpus) but CUDA can use 0")
        )
        TrialResult(
            "failed",
            error=describe_failure(exc),
            kind=classify_failure(exc),
            refusal=refusal_of(exc),
        ).save(spec.result_path)
        return 1
    if mode == "oom-rank1":
        # What torchrun leaves when rank 1 runs out of memory: rank 0 lost its peer.
        TrialResult(
            "failed", error="RuntimeError: Connection closed by peer", kind="runner", rank=1
        ).save(spec.result_path)
        TrialResult(
            "failed", error="CUDA out of memory (fake, rank 1)", kind="resource", rank=1
        ).save(spec.rank_failure_path(1))
        return 1
    r = float(spec.hyperparameters["r"])
    spec.adapter_path.mkdir()
    (spec.adapter_path / "adapter_model.safetensors").write_bytes(b"fake")
    TrialResult(
        "completed",
        {"val_loss": 1.0 + 1.0 / r, "eval_runtime": 0.5, "train_loss": 0.9, "train_runtime": 1.0},
        effective_config={"regimeHash": "sha256:fake", "gpuCount": 0},
        adapter_dir=str(spec.adapter_path),
    ).save(spec.result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
