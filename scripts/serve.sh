#!/usr/bin/env bash
# Start the action server and the Rasa server (`serve.sh`), or the action server and a terminal
# chat (`serve.sh shell`). Ctrl-C or SIGTERM stops everything it started: each server runs in a
# process group of its own, and the whole group is stopped, so nothing is left behind.
set -u
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
RASA="$VENV/bin/rasa"
# Ports can be moved (tests and benchmarks run a second stack beside `make run`).
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
WEBCHAT_PORT=${WEBCHAT_PORT:-8080}
ACTIONS_URL=http://localhost:$ACTIONS_PORT
RASA_URL=http://localhost:$RASA_PORT
WEBCHAT_URL=http://localhost:$WEBCHAT_PORT
ENDPOINTS=build/endpoints-$RASA_PORT.yml
mode=${1:-server}

groups=()
announcer=
chat=
watcher=
stop() {
  trap - INT TERM HUP EXIT
  for pid in $announcer $chat $watcher; do kill "$pid" 2>/dev/null; done
  [ ${#groups[@]} -eq 0 ] && return
  for group in "${groups[@]}"; do kill -TERM -- "-$group" 2>/dev/null; done
  for _ in $(seq 50); do
    alive=0
    for group in "${groups[@]}"; do kill -0 -- "-$group" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return
    sleep 0.2
  done
  for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null; done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop; exit 129' HUP
trap stop EXIT

# If whoever started us dies without signalling us (make killed with SIGKILL, say), stop too.
( while kill -0 "$PPID" 2>/dev/null; do sleep 1; done; kill -TERM $$ ) &
watcher=$!

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$ACTIONS_PORT" "$RASA_PORT" "$WEBCHAT_PORT"; do
  if port_busy "$port"; then
    echo "Port $port is already in use: is the assistant already running? Stop it first." >&2
    exit 1
  fi
done

# A broken knowledge file stops us here, with every problem named.
"$VENV/bin/python" -m pain_assistant.check_knowledge || exit 1
# So does a conversation database that cannot be reached (Rasa's own store would wait forever).
"$VENV/bin/python" -m stores.database || exit 1
"$VENV/bin/python" -m stores.endpoints --actions-port "$ACTIONS_PORT" --out "$ENDPOINTS" || exit 1

# The action server listens on loopback only: only the Rasa server talks to it. If it stops, it is
# started again; meanwhile Rasa still answers, red-flag warnings included, and tells people to try
# again in a minute (rasa_fixes/action_server_down.py).
SANIC_HOST=127.0.0.1 setsid scripts/keep-running.sh "The action server" \
  "$RASA" run actions --actions actions --port "$ACTIONS_PORT" &
groups+=($!)

if [ "$mode" = shell ]; then
  # In the background (stdin kept on the terminal) so a hang-up or SIGTERM reaches our traps at once.
  "$VENV/bin/python" -m rasa_fixes shell --model models --endpoints "$ENDPOINTS" <&0 &
  chat=$!
  wait "$chat"
  exit $?
fi

# The Messenger channel (credentials.yml) is on only with its three secrets in the environment.
if [ -n "${MESSENGER_VERIFY_TOKEN:-}" ] && [ -n "${MESSENGER_APP_SECRET:-}" ] && [ -n "${MESSENGER_PAGE_ACCESS_TOKEN:-}" ]; then
  messenger="on"
else
  messenger="off (set MESSENGER_VERIFY_TOKEN, MESSENGER_APP_SECRET and MESSENGER_PAGE_ACCESS_TOKEN to turn it on)"
fi

# The Chatwoot channel is on only with its settings and a way to verify deliveries; this says which.
chatwoot=$("$VENV/bin/python" -m channels.chatwoot_protocol)

# Rasa's HTTP API (trackers, model, events) is on only with a token to guard it.
api=()
if [ -n "${RASA_API_TOKEN:-}" ]; then
  api=(--enable-api --auth-token "$RASA_API_TOKEN")
  api_state="on, at $RASA_URL with ?token=\$RASA_API_TOKEN"
else
  api_state="off (set RASA_API_TOKEN to turn it on, guarded by that token)"
fi

# Rasa with the fixes in rasa_fixes/ (measured: README, Measurements).
setsid "$VENV/bin/python" -m rasa_fixes run --model models --port "$RASA_PORT" --credentials credentials.yml --endpoints "$ENDPOINTS" "${api[@]}" &
groups+=($!)

# Conversations older than RETENTION_DAYS (30) are deleted now and every RETENTION_EVERY_HOURS (24).
setsid scripts/keep-running.sh "The retention purge" "$VENV/bin/python" -m stores.retention --every-hours &
groups+=($!)

# The web chat demo page and widget (built by `make webchat`); the page talks to the Rasa server.
setsid "$VENV/bin/python" -m http.server "$WEBCHAT_PORT" --bind 127.0.0.1 --directory build/webchat 2>"build/webchat-$WEBCHAT_PORT.log" &
groups+=($!)

# Say where to talk to it once both answer; give up if either server dies first.
(
  until curl -sf "$ACTIONS_URL/health" >/dev/null && curl -sf "$RASA_URL/" >/dev/null && curl -sf "$WEBCHAT_URL/" >/dev/null; do
    for group in "${groups[@]}"; do kill -0 "$group" 2>/dev/null || exit 1; done
    sleep 1
  done
  cat <<MSG

The MS pain assistant is running.
  Web chat (demo):   $WEBCHAT_URL
  Ask it over HTTP:  curl -s $RASA_URL/webhooks/rest/webhook -H 'Content-Type: application/json' -d '{"sender":"me","message":"why do my legs hurt"}'
  Action server:     $ACTIONS_URL (loopback only)
  Messenger channel: $messenger
  Chatwoot channel:  $chatwoot
  Rasa HTTP API:     $api_state
  Retention:         conversations idle over ${RETENTION_DAYS:-30} days deleted every ${RETENTION_EVERY_HOURS:-24} hours
  Stop:              Ctrl-C

MSG
) &
announcer=$!

# Whichever stops first (the Rasa server crashing, a busy port), stop the rest and pass on its status.
wait -n "${groups[@]}"
status=$?
echo "A server stopped (exit $status); stopping the rest." >&2
exit "$status"
