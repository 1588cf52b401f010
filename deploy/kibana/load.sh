#!/bin/sh
# Import newswatch's Kibana saved objects; used by the compose file's one-shot `kibana-setup` service.
#
#   KIBANA_URL=http://kibana:5601 [NEWSWATCH_INDEX_PREFIX=newswatch] [KIBANA_SPACE=id]
#   [KIBANA_API_KEY=... | KIBANA_USERNAME=... KIBANA_PASSWORD=...] deploy/kibana/load.sh [file.ndjson]
#
# Waits up to KIBANA_WAIT_S (default 300) for Kibana to report "available", then posts the NDJSON to
# /api/saved_objects/_import?overwrite=true with kbn-xsrf. Exits non-zero unless Kibana answers
# "success":true. Same request as `newswatch kibana install`, for images without Python.
set -eu

KIBANA_URL="${KIBANA_URL:-http://localhost:5601}"
PREFIX="${NEWSWATCH_INDEX_PREFIX:-newswatch}"
WAIT_S="${KIBANA_WAIT_S:-300}"
FILE="${1:-$(dirname "$0")/newswatch.ndjson}"
BASE="$KIBANA_URL"
[ -n "${KIBANA_SPACE:-}" ] && BASE="$KIBANA_URL/s/$KIBANA_SPACE"

set -- -sS
if [ -n "${KIBANA_API_KEY:-}" ]; then
  set -- "$@" -H "Authorization: ApiKey $KIBANA_API_KEY"
elif [ -n "${KIBANA_USERNAME:-}" ]; then
  set -- "$@" -u "$KIBANA_USERNAME:${KIBANA_PASSWORD:-}"
fi

[ -f "$FILE" ] || { echo "load.sh: no saved objects at $FILE" >&2; exit 1; }

echo "load.sh: waiting for Kibana at $KIBANA_URL (up to ${WAIT_S}s)" >&2
elapsed=0
until curl "$@" "$KIBANA_URL/api/status" 2>/dev/null | grep -Eq '"level": ?"available"'; do
  if [ "$elapsed" -ge "$WAIT_S" ]; then
    echo "load.sh: Kibana at $KIBANA_URL was not available after ${WAIT_S}s; check its log" >&2
    exit 1
  fi
  sleep 5
  elapsed=$((elapsed + 5))
done

tmp="$(mktemp)"
trap 'rm -f "$tmp" "$tmp.out"' EXIT
# Point the data views at <prefix>-articles / <prefix>-alerts (their titles are the only such strings).
sed -e "s/\"title\": \"newswatch-articles\"/\"title\": \"$PREFIX-articles\"/" \
    -e "s/\"title\": \"newswatch-alerts\"/\"title\": \"$PREFIX-alerts\"/" "$FILE" >"$tmp"

status="$(curl "$@" -o "$tmp.out" -w '%{http_code}' -X POST -H 'kbn-xsrf: newswatch' \
  --form "file=@$tmp;filename=newswatch.ndjson;type=application/ndjson" \
  "$BASE/api/saved_objects/_import?overwrite=true")"
if [ "$status" != "200" ] || ! grep -Eq '"success": ?true' "$tmp.out"; then
  echo "load.sh: import failed (HTTP $status): $(head -c 2000 "$tmp.out")" >&2
  exit 1
fi
echo "load.sh: imported into $BASE: $(grep -Eo '"successCount": ?[0-9]+' "$tmp.out")" >&2
