"""Settings: environment first, then an optional TOML file, then defaults that work with nothing set."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from checks.bundle import Rules
from checks.ingest import Limits
from checks.verdict import Policy


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    data_dir: Path = Path(".docverify")
    queue: str = "docverify"
    job_timeout: int = 600  # seconds; a job past it is killed and recorded as failed
    result_ttl: int = 7 * 24 * 3600  # how long Redis keeps job records; the store keeps results for good
    mask: bool = True
    ocr_engine: str = "rapidocr"  # or "tesseract"; see scripts/ocr_bench.py for why
    ocr_threads: int = 0  # cores the OCR of one page may use; 0: the machine's shared among its workers (ocr_threads())
    api_keys: tuple[str, ...] = ()  # keys `docverify serve` accepts in X-API-Key; none means it refuses to start
    max_request_bytes: int = 100 * 1024 * 1024  # one HTTP submission, all its files together
    callback_secret: str = ""  # signs completion callbacks (worker/callback.py); none: callbacks are refused
    retries: int = 3  # further attempts after a transient failure (a killed work horse, a lost worker, I/O)
    retry_intervals: tuple[int, ...] = (10, 30, 60)  # seconds before each further attempt
    memory_limit_mb: int = 4096  # address space of one work horse; a job over it fails; 0 = no limit
    horse_jobs: int = 100  # jobs one work horse runs before a fresh one is forked (worker/horse.py); 1 = one each
    heartbeat_interval: int = 15  # a running job's heartbeat; a dead host's job is given up 60 s after the last
    maintenance_interval: int = 15  # how often a worker looks for abandoned jobs and lost submissions
    worker_ttl: int = 60  # how long a silent worker stays registered
    reconcile_after: int = 60  # an accepted submission with no RQ job for this long is enqueued again
    limits: Limits = field(default_factory=Limits)
    policy: Policy = field(default_factory=Policy)
    bundle: Rules = field(default_factory=Rules)  # thresholds of the bundle checks


def load(env: dict[str, str] | None = None) -> Settings:
    """Settings from DOCVERIFY_* variables and the TOML file named by DOCVERIFY_CONFIG (if any).

    TOML layout: top-level keys as in Settings, tables [limits], [verdict] (weights, review_at) and [bundle]
    (income_fluctuation, stated_income_tolerance). Each limit can also be set as DOCVERIFY_<LIMIT>
    (DOCVERIFY_MAX_PAGES, …), which wins over the file like every other variable.
    """
    env = dict(os.environ if env is None else env)
    conf: dict = {}
    if env.get("DOCVERIFY_CONFIG"):
        path = Path(env["DOCVERIFY_CONFIG"])
        try:
            conf = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SystemExit(f"docverify: cannot read config {path}: {exc}") from None
    limits = _limits(env, conf.get("limits", {}))
    verdict_conf = conf.get("verdict", {})
    policy = Policy(weights={**Policy().weights, **verdict_conf.get("weights", {})},
                    review_at=verdict_conf.get("review_at", Policy().review_at))
    rules = Rules(**{**Rules().__dict__, **conf.get("bundle", {})})

    def pick(key: str, default, cast=str):
        value = env.get(f"DOCVERIFY_{key.upper()}", conf.get(key))
        return default if value is None else cast(value)

    defaults = Settings()
    return Settings(
        redis_url=pick("redis_url", defaults.redis_url),
        data_dir=pick("data_dir", defaults.data_dir, Path),
        queue=pick("queue", defaults.queue),
        job_timeout=pick("job_timeout", defaults.job_timeout, int),
        result_ttl=pick("result_ttl", defaults.result_ttl, int),
        mask=pick("mask", defaults.mask, _truthy),
        ocr_engine=pick("ocr_engine", defaults.ocr_engine),
        ocr_threads=pick("ocr_threads", defaults.ocr_threads, _threads),
        api_keys=pick("api_keys", defaults.api_keys, _keys),
        max_request_bytes=pick("max_request_bytes", defaults.max_request_bytes, int),
        callback_secret=pick("callback_secret", defaults.callback_secret),
        retries=pick("retries", defaults.retries, int),
        retry_intervals=pick("retry_intervals", defaults.retry_intervals, _ints),
        memory_limit_mb=pick("memory_limit_mb", defaults.memory_limit_mb, int),
        horse_jobs=pick("horse_jobs", defaults.horse_jobs, _horse_jobs),
        heartbeat_interval=pick("heartbeat_interval", defaults.heartbeat_interval, int),
        maintenance_interval=pick("maintenance_interval", defaults.maintenance_interval, int),
        worker_ttl=pick("worker_ttl", defaults.worker_ttl, int),
        reconcile_after=pick("reconcile_after", defaults.reconcile_after, int),
        limits=limits,
        policy=policy,
        bundle=rules,
    )


def ocr_threads(settings: Settings, workers: int = 1) -> int:
    """Threads for the OCR of one page: the setting, or else the cores this process may run on shared among the
    `workers` processes that read pages on this machine. A lone worker's page then uses both cores of a
    two-core machine; two workers there read with one thread each, so their threads never fight."""
    return settings.ocr_threads or max(1, len(os.sched_getaffinity(0)) // max(workers, 1))


def _limits(env: dict[str, str], table: dict) -> Limits:
    known = Limits().__dict__
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise SystemExit(f"docverify: unknown key(s) in [limits]: {', '.join(unknown)}; known: {', '.join(known)}")
    values = {}
    for key, default in known.items():
        value = env.get(f"DOCVERIFY_{key.upper()}", table.get(key, default))
        try:
            values[key] = int(value)
        except (TypeError, ValueError):
            raise SystemExit(f"docverify: limit {key} must be a whole number, not {value!r}") from None
    return Limits(**values)


def _items(value) -> list[str]:
    """A TOML list, or a comma-separated variable such as DOCVERIFY_API_KEYS=a,b."""
    items = value.split(",") if isinstance(value, str) else value
    return [str(i).strip() for i in items if str(i).strip()]


def _keys(value) -> tuple[str, ...]:
    return tuple(_items(value))


def _ints(value) -> tuple[int, ...]:
    return tuple(int(i) for i in _items(value))


def _threads(value) -> int:
    threads = int(value)
    if threads < 0:
        raise SystemExit(f"docverify: ocr_threads must be 0 (automatic) or more, not {threads}")
    return threads


def _horse_jobs(value) -> int:
    jobs = int(value)
    if jobs < 1:
        raise SystemExit(f"docverify: horse_jobs must be 1 (a fresh work horse per job) or more, not {jobs}")
    return jobs


def _truthy(value) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
