"""The `docverify` command line."""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import click
import redis
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from checks.catalog import CATALOG, input_error
from worker import config, report
from worker import queue as jobqueue
from worker.privacy import mask, mask_text
from worker.result import exit_status, verify
from worker.store import Store, safe_name

# Piped output gets a fixed, roomy width instead of rich's 80 columns, so reason codes are not cut.
out = Console(soft_wrap=True, width=None if Console().is_terminal else 160)
err = Console(stderr=True, soft_wrap=True, width=None if Console(stderr=True).is_terminal else 160)

_VERDICT_STYLE = {"pass": "green", "review": "dark_orange", "reject": "bold red"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="docverify")
def main() -> None:
    """Verify the authenticity of bank statements, employment proofs and social-insurance records."""


def _read(paths: tuple[str, ...]) -> list[tuple[str, bytes | Exception]]:
    files = []
    for path in paths:
        try:
            files.append((safe_name(path), Path(path).read_bytes()))
        except OSError as exc:
            files.append((safe_name(path), input_error("INPUT_NOT_FOUND", reason=exc.strerror or str(exc))))
    return files


def _print_summary(results: list[dict], console: Console) -> None:
    table = Table("file", "kind", "verdict", "score", "top reasons", title=None, show_lines=False)
    for result in results:
        for doc in result["documents"]:
            reasons = ", ".join(dict.fromkeys(f["code"] for f in doc["findings"]))
            table.add_row(mask_text(doc["file"]), doc["kind"],
                          f"[{_VERDICT_STYLE[doc['verdict']]}]{doc['verdict']}[/]", f"{doc['score']:.2f}",
                          reasons[:80] or "-")
        for e in result["errors"]:
            table.add_row(mask_text(e["file"]), "-", "[bold red]error[/]", "-", f"{e['code']}: {mask_text(e['message'])}")
        if "bundle" in result:
            codes = ", ".join(f["code"] for f in result["bundle"]["findings"]) or "-"
            v = result["bundle"]["verdict"]
            table.add_row("[bold](bundle)[/]", "-", f"[{_VERDICT_STYLE[v]}]{v}[/]", "-", codes)
    console.print(table)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--bundle", is_flag=True, help="The files are one applicant's application: add bundle-level checks.")
@click.option("--json", "json_out", metavar="OUT", help="Write the result JSON to OUT ('-' for stdout).")
@click.option("--report", "report_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Write an HTML report into DIR.")
@click.option("--no-mask", is_flag=True, help="Show ID, account and phone numbers unmasked (authorised use).")
def check(files, bundle, json_out, report_dir, no_mask):
    """Verify FILES inline, without Redis. Exit 0 all pass, 1 something flagged, 2 input error."""
    settings = config.load()
    masked = settings.mask and not no_mask
    table_console = err if json_out == "-" else out
    with Progress(console=err, transient=True, disable=len(files) < 2 or not err.is_terminal) as progress:
        task = progress.add_task("checking", total=len(files))
        files_read = _read(files)
        result = verify(files_read, bundle=bundle, limits=settings.limits, policy=settings.policy,
                        rules=settings.bundle, masked=masked,
                        ocr_engine=settings.ocr_engine, ocr_threads=config.ocr_threads(settings),
                        on_document=lambda i, n, name: progress.update(task, completed=i, description=name))
    _emit_json(result, json_out)
    if report_dir:
        # The directory keeps each run's result as a store does (DIR/results/), so its index lists every run.
        out_dir = Path(report_dir)
        runs = Store(out_dir)
        runs.put_result(result["job_id"], result)
        uploads = {hashlib.sha256(data).hexdigest(): data for _, data in files_read if isinstance(data, bytes)}
        err.print(f"report: {report.write(result, out_dir, uploads.get, masked=masked)}")
        err.print(f"index: {_write_index(runs, out_dir, uploads.get, masked)}")
    _print_summary([result], table_console)
    sys.exit(exit_status([result]))


def _emit_json(result: dict, json_out: str | None) -> None:
    if not json_out:
        return
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if json_out == "-":
        click.echo(text)
    else:
        Path(json_out).write_text(text + "\n", encoding="utf-8")


def _connect(settings):
    try:
        return jobqueue.connect(settings)
    except jobqueue.RedisUnavailable as exc:
        err.print(f"docverify: {exc}", markup=False, highlight=False)
        sys.exit(2)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--bundle", is_flag=True, help="One job for all FILES as one applicant's application.")
@click.option("--wait", is_flag=True, help="Wait for the jobs to finish and print their verdicts.")
@click.option("--timeout", type=int, default=None, help="Seconds to wait with --wait (default: job timeout + 60).")
@click.option("--json", "as_json", is_flag=True, help="Print the job ids (and results with --wait) as JSON.")
@click.option("--applicant", metavar="ID", help="Your id for the applicant, for reuse across applicants "
                                               "(default: the ID number the bundle shows).")
def enqueue(files, bundle, wait, timeout, as_json, applicant):
    """Store FILES and queue verification jobs; prints one job id per line."""
    settings = config.load()
    conn = _connect(settings)
    store = Store(settings.data_dir)
    read = _read(files)
    unreadable = [(name, data) for name, data in read if isinstance(data, Exception)]
    for name, exc in unreadable:
        err.print(f"docverify: {name}: {exc}", markup=False)
    uploads = [store.put_upload(data, name) for name, data in read if not isinstance(data, Exception)]
    if not uploads:
        sys.exit(2)
    ids = jobqueue.submit(settings, conn, uploads, bundle=bundle, store=store, applicant=applicant)
    if not as_json:
        for job_id in ids:
            click.echo(job_id)
    err.print(f"queued {len(ids)} job(s) for {len(uploads)} file(s) on '{settings.queue}'")
    if not wait:
        if as_json:
            click.echo(json.dumps({"jobs": ids}))
        sys.exit(2 if unreadable else 0)
    results = _wait(settings, store, ids, timeout or settings.job_timeout + 60)
    if as_json:
        click.echo(json.dumps({"jobs": ids, "results": results}, ensure_ascii=False, indent=2))
    finished = [r for r in results if r is not None]
    _print_summary(finished, err if as_json else out)
    if len(finished) < len(ids):
        err.print(f"docverify: {len(ids) - len(finished)} job(s) failed or did not finish; see `docverify status`")
        sys.exit(2)
    sys.exit(max(exit_status(finished), 2 if unreadable else 0))


def _wait(settings, store: Store, ids: list[str], timeout: float) -> list[dict | None]:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            if jobqueue.state(settings, store, job_id)["status"] in ("finished", "failed", "stopped", "canceled"):
                pending.discard(job_id)
        if pending:
            time.sleep(0.2)
    return [store.get_result(job_id) for job_id in ids]


@main.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.option("--queues", "queues", multiple=True, metavar="NAME", help="Queues to listen on (default: docverify).")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Also run RQ's scheduler, which enqueues retries when their interval is up.")
def worker_cmd(burst, queues, with_scheduler):
    """Run an RQ worker that processes docverify jobs.

    If Redis goes away (a restart, a failover), the worker waits for it to come back and goes on; SIGTERM is a
    warm shutdown (the running job finishes first)."""
    from worker.jobs import warm_up

    warm_up()  # once here, so every forked work horse inherits loaded modules and filled caches
    settings = config.load()
    store = Store(settings.data_dir)
    while True:
        conn = _connect(settings)
        w = jobqueue.Worker(list(queues) or [settings.queue], settings, store, connection=conn)
        try:
            w.work(burst=burst, with_scheduler=with_scheduler, logging_level="INFO")
        except (redis.ConnectionError, redis.TimeoutError):
            pass  # RQ's own clean-up on the way out needs the Redis that is gone
        if burst or w._stop_requested or _reachable(conn):
            return
        err.print("docverify worker: lost Redis; waiting for it to come back")
        while not _reachable(conn):
            time.sleep(1)


def _reachable(conn) -> bool:
    try:
        return bool(conn.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False


@main.command()
def reconcile():
    """Enqueue again every accepted submission whose RQ job is gone (workers also do this on their own)."""
    settings = config.load()
    for job_id in jobqueue.reconcile(settings, _connect(settings), Store(settings.data_dir)):
        click.echo(job_id)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def serve(host, port):
    """Run the HTTP job service (OpenAPI spec at /openapi.json)."""
    import uvicorn

    from worker.api import create_app

    settings = config.load()
    if not settings.api_keys:
        err.print("docverify: no API keys; set DOCVERIFY_API_KEYS (comma-separated) or api_keys in the config file")
        sys.exit(2)
    uvicorn.run(create_app(settings), host=host, port=port)


@main.command()
@click.argument("job_id")
def status(job_id):
    """Show a job's state (queued, started, finished, failed) and progress."""
    settings = config.load()
    click.echo(json.dumps(mask(jobqueue.state(settings, Store(settings.data_dir), job_id)), ensure_ascii=False, indent=2))


@main.command()
@click.argument("job_ids", nargs=-1, required=True, metavar="JOB_ID...")
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON (a list when several JOB_IDs).")
def result(job_ids, as_json):
    """Show finished jobs' stored results. Exit status as for `check`."""
    settings = config.load()
    store = Store(settings.data_dir)
    found, missing = [], False
    for job_id in job_ids:
        stored = store.get_result(job_id)
        if stored is None:
            missing = True
            state = jobqueue.state(settings, store, job_id)
            err.print(f"docverify: no result for job {job_id} (status: {state['status']}"
                      f"{'; ' + state['failure']['reason'] if 'failure' in state else ''})", markup=False)
        else:
            found.append(stored)
    if as_json:
        click.echo(json.dumps(found[0] if len(job_ids) == 1 and found else found, ensure_ascii=False, indent=2))
    elif found:
        _print_summary(found, out)
    sys.exit(2 if missing else exit_status(found))


@main.command("report")
@click.argument("job_ids", nargs=-1, metavar="[JOB_ID]...")
@click.option("--index", is_flag=True,
              help="Write index.html over every stored result, and the reports it links to that DIR lacks.")
@click.option("--out", "out_dir", default="reports", show_default=True, type=click.Path(file_okay=False),
              help="Directory to write the HTML into.")
@click.option("--no-mask", is_flag=True, help="Show ID, account and phone numbers unmasked (authorised use).")
def report_cmd(job_ids, index, out_dir, no_mask):
    """Write the HTML reports of finished jobs, and with --index the index page over all results."""
    if not job_ids and not index:
        raise click.UsageError("give JOB_ID(s), --index, or both")
    settings = config.load()
    store = Store(settings.data_dir)
    masked = settings.mask and not no_mask
    missing = False
    for job_id in job_ids:
        stored = store.get_result(job_id)
        if stored is None:
            err.print(f"docverify: no result for job {job_id}", markup=False)
            missing = True
        else:
            click.echo(report.write(stored, Path(out_dir), store.upload_if_kept, masked=masked))
    if index:
        click.echo(_write_index(store, Path(out_dir), store.upload_if_kept, masked))
    sys.exit(2 if missing else 0)


def _write_index(store: Store, out_dir: Path, load, masked: bool) -> Path:
    """index.html over every result in `store`, after writing the report of each result that `out_dir` lacks."""
    results = [r for job_id in store.result_ids() if (r := store.get_result(job_id)) is not None]
    for r in results:
        if not (out_dir / f"{r['job_id']}.html").exists():
            report.write(r, out_dir, load, masked=masked)
    return report.write_index(results, out_dir, masked=masked)


@main.command("extract")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--no-mask", is_flag=True, help="Show ID, account and phone numbers unmasked (authorised use).")
def extract_cmd(file, fmt, no_mask):
    """Print the fields and transactions read from FILE."""
    import csv

    settings = config.load()
    result = verify(_read((file,)), bundle=False, limits=settings.limits, policy=settings.policy,
                    masked=settings.mask and not no_mask, ocr_engine=settings.ocr_engine,
                    ocr_threads=config.ocr_threads(settings))
    if result["errors"]:
        e = result["errors"][0]
        err.print(f"docverify: {e['file']}: {e['code']}: {e['message']}", markup=False)
        sys.exit(2)
    doc = result["documents"][0]
    extracted = doc["extracted"]
    rows = extracted.get("transactions") or extracted.get("contributions") or extracted.get("deposits") or []
    if fmt == "json":
        click.echo(json.dumps({"file": doc["file"], "kind": doc["kind"], **extracted}, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        columns = [k for k in (rows[0] if rows else {}) if k not in ("bbox", "cells")]
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    else:
        fields = Table("field", "value", "page", title=f"{doc['file']} ({doc['kind']})")
        for name, f in extracted["fields"].items():
            fields.add_row(name, str(f["value"]), str(f["page"]))
        out.print(fields)
        if rows:
            columns = [k for k in rows[0] if k not in ("bbox", "cells")]
            listing = Table(*columns)
            for r in rows:
                listing.add_row(*("" if r[c] is None else str(r[c]) for c in columns))
            out.print(listing)


@main.command()
@click.argument("code", required=False)
def explain(code):
    """Explain a reason CODE: why it matters, what a genuine document looks like. Without CODE, list all."""
    if code is None:
        for entry in CATALOG.values():
            click.echo(f"{entry.code:32} {entry.severity:7} {entry.message}")
        return
    entry = CATALOG.get(code.upper())
    if entry is None:
        err.print(f"docverify: unknown code {code}; `docverify explain` lists them")
        sys.exit(2)
    click.echo(f"{entry.code} ({entry.severity})\n\n  {entry.message}\n\n"
               f"Why it matters:\n  {entry.why}\n\nWhat a genuine document looks like:\n  {entry.genuine}\n\n"
               f"Known false-positive causes:\n  {entry.false_positives}")


@main.command()
@click.argument("target", metavar="JOB_ID|FILE")
@click.option("--top", default=10, show_default=True, type=int, help="How many earlier documents to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def similar(target, top, as_json):
    """List the earlier documents nearest to a finished job's documents, or to FILE, with their similarities."""
    from checks import fingerprint, pipeline
    from checks.ingest import open_document
    from checks.model import InputError
    from worker import reuse

    settings = config.load()
    store = Store(settings.data_dir)
    index = reuse.Index(_connect(settings), store)
    if Path(target).is_file():
        exclude, name = None, safe_name(target)
        try:
            doc = open_document(name, Path(target).read_bytes(), settings.limits)
        except InputError as exc:
            err.print(f"docverify: {name}: {exc.code}: {exc.message}", markup=False)
            sys.exit(2)
        try:
            pipeline.verify_document(doc, settings.policy, settings.ocr_engine, config.ocr_threads(settings))
            documents = [(name, fingerprint.compute(doc))]
        finally:
            doc.close()
    else:
        try:
            entry = store.get_fingerprints(target)
        except ValueError:
            entry = None
        if entry is None:
            err.print(f"docverify: {target} is neither a file nor a job with stored fingerprints", markup=False)
            sys.exit(2)
        exclude = target
        documents = [(d["file"], fingerprint.Fingerprints.from_dict(d["fingerprints"])) for d in entry["documents"]]
    found = [{"file": name, "nearest": index.nearest(fp, exclude_job=exclude, top=top)} for name, fp in documents]
    if as_json:
        click.echo(json.dumps(mask(found), ensure_ascii=False, indent=2))
        return
    for doc in found:
        table = Table("earlier job", "file", "applicant", "score", "file=", "page", "content", "rows", "seal",
                      "template", "layout", title=mask_text(doc["file"]))
        for m in doc["nearest"]:
            s = m["scores"]
            table.add_row(m["job_id"], mask_text(m["file"]), mask_text(m["applicant"]), f"{m['score']:.3f}",
                          *("—" if s[k] is None else f"{s[k]:.3f}"
                            for k in ("file", "page", "content", "rows", "seal", "template", "layout")))
        out.print(table if doc["nearest"] else f"{mask_text(doc['file'])}: no earlier document shares a fingerprint")


@main.command()
def reindex():
    """Rebuild the reuse index in Redis from the fingerprints kept in the store."""
    from worker import reuse

    settings = config.load()
    count = reuse.Index(_connect(settings), Store(settings.data_dir)).reindex()
    click.echo(f"indexed {count} document(s)")
