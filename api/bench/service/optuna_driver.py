"""Optuna's RDB storage under the same load as `npm run bench:service` gives meshtune.

N workers (processes, or threads sharing one storage) loop `trial = study.ask(space);
study.tell(trial, value)` on one study in PostgreSQL, RandomSampler (the counterpart of
meshtune's `random` algorithm). Cycles are counted when tell returns inside the measured window;
ask latencies are those of asks answered inside it, plus those still unanswered at its end,
counted at their age then (a lower bound). Prints one JSON object on stdout.

    optuna_driver.py --url postgresql+psycopg2://... --workers 16 --mode process \
        --prefill 1000 --warmup 2 --duration 10
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
import uuid

import optuna
import psycopg2
from optuna.distributions import FloatDistribution, IntDistribution, distribution_to_json

SPACE = {"x": FloatDistribution(-5.0, 5.0), "y": IntDistribution(-10, 10)}


def objective(params: dict) -> float:
    return params["x"] ** 2 + params["y"] ** 2


def storage_for(url: str, pool_size: int) -> optuna.storages.RDBStorage:
    return optuna.storages.RDBStorage(
        url, engine_kwargs={"pool_size": max(5, pool_size), "max_overflow": 10}, skip_compatibility_check=True
    )


def prefill(url: str, study_name: str, count: int) -> None:
    """Finished trials written straight into Optuna's tables, as add_trials would leave them."""
    if count == 0:
        return
    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    x_json = distribution_to_json(SPACE["x"])
    y_json = distribution_to_json(SPACE["y"])
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT study_id FROM studies WHERE study_name = %s", (study_name,))
        (study_id,) = cur.fetchone()
        cur.execute(
            """
            WITH n AS (SELECT generate_series(0, %(count)s - 1) AS i),
            t AS (
              INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete)
              SELECT i, %(study)s, 'COMPLETE', now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc' FROM n ORDER BY i
              RETURNING trial_id, number
            ),
            p AS (
              INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)
              SELECT trial_id, 'x', -5 + 10 * (number + 0.5) / %(count)s, %(xj)s FROM t
              UNION ALL
              SELECT trial_id, 'y', (number %% 21) - 10, %(yj)s FROM t
            )
            INSERT INTO trial_values (trial_id, objective, value, value_type)
            SELECT trial_id, 0, power(-5 + 10 * (number + 0.5) / %(count)s, 2) + power((number %% 21) - 10, 2), 'FINITE'
            FROM t
            """,
            {"count": count, "study": study_id, "xj": x_json, "yj": y_json},
        )
    with psycopg2.connect(dsn) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE trials; ANALYZE trial_params; ANALYZE trial_values")


class Shared:
    """Counters the parent reads at the end of the window, whatever the workers are doing then."""

    def __init__(self, ctx, workers: int) -> None:
        self.start_at = ctx.Value("d", 0.0, lock=False)
        self.cycles = ctx.Array("i", workers, lock=False)
        self.errors = ctx.Array("i", workers, lock=False)
        # Start time of each worker's ask in flight, 0 when none.
        self.asking = ctx.Array("d", workers, lock=False)
        # 1 while a worker is inside tell.
        self.telling = ctx.Array("i", workers, lock=False)


def work(index: int, study, shared, asks, warmup: float, duration: float) -> None:
    """Ask latencies of asks answered inside the window go to `asks` as they happen."""
    while shared.start_at.value == 0.0:
        time.sleep(0.001)
    t_from = shared.start_at.value + warmup
    t_to = t_from + duration
    while time.monotonic() < t_to:
        try:
            t0 = time.monotonic()
            shared.asking[index] = t0
            trial = study.ask(SPACE)
            t1 = time.monotonic()
            if t1 > t_to:
                return  # the parent counts this ask at its age when the window ended
            shared.asking[index] = 0.0
            if t1 >= t_from:
                asks.put((t1 - t0) * 1000)
            shared.telling[index] = 1
            study.tell(trial, objective(trial.params))
            t2 = time.monotonic()
            shared.telling[index] = 0
        except Exception:  # noqa: BLE001 - counted and reported
            shared.asking[index] = 0.0
            shared.errors[index] += 1
            if shared.errors[index] == 1:
                sys.stderr.write(traceback.format_exc(limit=3))
            continue
        if t_from <= t2 <= t_to:
            shared.cycles[index] += 1


def process_worker(index, storage, study, shared, ready, asks, warmup, duration) -> None:
    try:
        # SQLAlchemy's rule after fork: new connections, never the parent's.
        storage.engine.dispose(close=False)
        study.sampler.reseed_rng()
        ready.release()
        work(index, study, shared, asks, warmup, duration)
    except Exception:  # noqa: BLE001
        shared.errors[index] += 1
        sys.stderr.write(traceback.format_exc(limit=3))
        ready.release()


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, -(-int(p * len(ordered)) // 100) - 1))
    return ordered[rank]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--mode", choices=["process", "thread"], default="process")
    parser.add_argument("--prefill", type=int, default=0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)

    study_name = f"bench-{uuid.uuid4()}"
    setup = storage_for(args.url, 1)
    optuna.create_study(
        study_name=study_name, storage=setup, direction="minimize", sampler=optuna.samplers.RandomSampler(seed=1)
    )
    setup.engine.dispose()
    prefill(args.url, study_name, args.prefill)

    # Optuna wraps RDBStorage in _CachedStorage, which reads every trial of the study on a
    # process's first access (then only what changed). A long-running Optuna worker pays that
    # once, so it is paid here, before the window and before forking: the workers inherit the
    # warm cache (copy-on-write) and the first of them does not spend the window reading.
    storage = storage_for(args.url, args.workers if args.mode == "thread" else 1)
    study = optuna.load_study(
        study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    t_prime = time.monotonic()
    primed = study.ask(SPACE)
    study.tell(primed, objective(primed.params))
    prime_seconds = time.monotonic() - t_prime
    ctx = mp.get_context("fork")
    shared = Shared(ctx, args.workers)
    if args.mode == "process":
        ready = ctx.Semaphore(0)
        asks = ctx.SimpleQueue()
        procs = [
            ctx.Process(
                target=process_worker,
                args=(i, storage, study, shared, ready, asks, args.warmup, args.duration),
                daemon=True,
            )
            for i in range(args.workers)
        ]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.acquire()
    else:
        import queue as queue_module

        asks = queue_module.SimpleQueue()
        threads = [
            threading.Thread(
                target=work, args=(i, study, shared, asks, args.warmup, args.duration), daemon=True
            )
            for i in range(args.workers)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
    t_start = time.monotonic()
    shared.start_at.value = t_start
    t_from = t_start + args.warmup
    t_to = t_from + args.duration
    ask_ms: list[float] = []
    while time.monotonic() < t_to + 0.05:
        while not asks.empty():  # keeps the pipe from filling and blocking the workers
            ask_ms.append(asks.get())
        time.sleep(0.02)
    censored = [t_to - t0 for t0 in shared.asking if t0 > 0]
    in_ask = sum(1 for t0 in shared.asking if t0 > 0)
    in_tell = sum(shared.telling)
    cycles = sum(shared.cycles)
    errors = sum(shared.errors)
    # Workers still inside an ask or tell are abandoned: the driver ends their sessions.
    if args.mode == "process":
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.join()
    ask_ms += [ms * 1000 for ms in censored]
    while not asks.empty():
        ask_ms.append(asks.get())
    first_error = None
    json.dump(
        {
            "optuna": optuna.__version__,
            "python": sys.version.split()[0],
            "cycles": cycles,
            "seconds": args.duration,
            "askP50": percentile(ask_ms, 50),
            "askP99": percentile(ask_ms, 99),
            "asks": len(ask_ms),
            "primeSeconds": prime_seconds,
            "censoredAsks": len(censored),
            "inAskAtEnd": in_ask,
            "inTellAtEnd": in_tell,
            "errors": errors,
            "firstError": first_error,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)  # threads still inside an ask or tell are abandoned


if __name__ == "__main__":
    main()
