"""Self-contained HTML reports, built from the result object alone."""
from __future__ import annotations

from html import escape
from pathlib import Path

from worker.privacy import mask
from worker.result import overall
from worker.store import atomic_write

_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
.v{display:inline-block;padding:.1em .6em;border-radius:.3em;color:#fff;font-weight:bold}
.pass{background:#2e7d32}.review{background:#ef6c00}.reject{background:#c62828}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f4f4f4}.high{color:#c62828}.medium{color:#ef6c00}
.low{color:#555}code{font-size:.9em}.muted{color:#777}
"""


def render(result: dict, *, masked: bool = True) -> str:
    r = mask(result) if masked else result
    parts = [f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>docverify {escape(r['job_id'])}"
             f"</title><style>{_CSS}</style></head><body>",
             f"<h1>docverify report <span class='v {overall(r)}'>{overall(r)}</span></h1>",
             f"<p class='muted'>job {escape(r['job_id'])} · {escape(r['created_at'])} · engine "
             f"{escape(r['engine_version'])}</p>"]
    if "bundle" in r:
        parts.append(f"<h2>Bundle <span class='v {r['bundle']['verdict']}'>{r['bundle']['verdict']}</span></h2>")
        parts.append(_findings_table(r["bundle"]["findings"]))
    for doc in r["documents"]:
        parts.append(f"<h2>{escape(doc['file'])} <span class='v {doc['verdict']}'>{doc['verdict']}</span></h2>")
        parts.append(f"<p>{escape(doc['kind'])} · {doc['format']} · {doc['pages']} page(s) · score {doc['score']}"
                     f" · <code>{doc['sha256'][:16]}…</code></p>")
        parts.append(_findings_table(doc["findings"]))
        ran = ", ".join(f"{escape(c['name'])} ({c['status']})" for c in doc.get("checks", []))
        parts.append(f"<p class='muted'>checks: {ran}</p>")
    if r["errors"]:
        parts.append("<h2>Files that could not be checked</h2><table><tr><th>file</th><th>code</th><th>problem</th></tr>")
        parts += [f"<tr><td>{escape(e['file'])}</td><td><code>{e['code']}</code></td><td>{escape(e['message'])}</td></tr>"
                  for e in r["errors"]]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _findings_table(findings: list[dict]) -> str:
    if not findings:
        return "<p class='muted'>No findings.</p>"
    rows = ["<table><tr><th>severity</th><th>code</th><th>what</th><th>where</th><th>evidence</th></tr>"]
    for f in findings:
        where = f"page {f['page']}" if "page" in f else ""
        if "bbox" in f:
            where += f" [{', '.join(str(v) for v in f['bbox'])}] {f['units']}"
        evidence = "<br>".join(f"{escape(str(k))}: {escape(str(v))}" for k, v in f["evidence"].items())
        rows.append(f"<tr><td class='{f['severity']}'>{f['severity']}</td><td><code>{f['code']}</code></td>"
                    f"<td>{escape(f['message'])}</td><td>{escape(where)}</td><td>{evidence}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def write(result: dict, out_dir: Path, *, masked: bool = True) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result['job_id']}.html"
    atomic_write(path, render(result, masked=masked).encode("utf-8"))
    return path
