#!/usr/bin/env bash
# The main job on the bundled samples: private Redis, enqueue through the CLI, a burst worker, JSON and
# HTML reports under ./demo-output/, a summary at the end. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

OUT=demo-output
SAMPLES=fixtures/samples
rm -rf "$OUT"
mkdir -p "$OUT/reports"
DV=.venv/bin/docverify

port=$(.venv/bin/python -c 'from worker.localredis import free_port; print(free_port())')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$PWD/$OUT/redis.pid" --logfile "$PWD/$OUT/redis.log" --dir "$PWD/$OUT"
trap 'kill "$(cat "$OUT/redis.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
export DOCVERIFY_REDIS_URL="redis://127.0.0.1:$port/0" DOCVERIFY_DATA_DIR="$OUT/store"
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# One job per document, then one job per applicant: statement, proof and social-insurance record as a bundle.
# Each names its applicant, so that one applicant's documents are not taken for reuse across applicants.
: > "$OUT/jobs.tsv"
for dir in "$SAMPLES"/*/; do
  applicant=$(basename "$dir")
  for file in "$dir"*.pdf "$dir"*.jpg; do
    [ -e "$file" ] || continue
    name=$(basename "$file")
    printf '%s\t%s\n' "$($DV enqueue --applicant "$applicant" "$file" 2>/dev/null)" "${applicant}_${name%.*}" >> "$OUT/jobs.tsv"
  done
  bundle=()
  for name in statement.pdf proof.pdf social_insurance.pdf; do
    [ -e "$dir$name" ] && bundle+=("$dir$name")
  done
  [ ${#bundle[@]} -gt 1 ] && printf '%s\t%s\n' "$($DV enqueue --applicant "$applicant" --bundle "${bundle[@]}" 2>/dev/null)" \
    "${applicant}_bundle" >> "$OUT/jobs.tsv"
done
echo "demo: queued $(wc -l < "$OUT/jobs.tsv") jobs; running a burst worker" >&2
$DV worker --burst > "$OUT/worker.log" 2>&1

ids=()
while IFS=$'\t' read -r id name; do
  ids+=("$id")
  $DV result "$id" --json > "$OUT/$name.json" || [ $? -eq 1 ]
done < "$OUT/jobs.tsv"
# Every job's report, named by job id as the index links them, and the index page over all of them.
$DV report --index --out "$OUT/reports" > /dev/null

$DV result "${ids[@]}" || [ $? -eq 1 ]
echo "demo: ${#ids[@]} results in $OUT/*.json, reports in $OUT/reports/ (open index.html; ${SECONDS} s)" >&2
