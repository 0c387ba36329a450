#!/usr/bin/env bash
# Start the action server, then either an interactive chat (chat) or the Rasa
# server with its HTTP API and the channels in credentials.yml, and the web page
# with the chat widget (run).
set -euo pipefail
mode=${1:-chat}
actions_port=${ACTIONS_PORT:-5055}
rasa_port=${RASA_PORT:-5005}
web_port=${WEB_PORT:-8080}
# Listen on this machine only unless told otherwise (a reverse proxy in front, as in the
# README). The action server has no authentication: it stays on loopback by default.
bind_address=${BIND_ADDRESS:-127.0.0.1}
actions_bind_address=${ACTIONS_BIND_ADDRESS:-127.0.0.1}
rasa=.venv/bin/rasa
model=models/threshold.tar.gz
# endpoints.yml reads the action server's port from here.
export ACTIONS_PORT=$actions_port

# Two servers on one port: the second would stop with "address in use" after the first started.
if [ "$mode" = run ] && { [ "$actions_port" = "$rasa_port" ] || [ "$actions_port" = "$web_port" ] || [ "$rasa_port" = "$web_port" ]; }; then
  echo "ACTIONS_PORT ($actions_port), RASA_PORT ($rasa_port) and WEB_PORT ($web_port) must be three different ports" >&2
  exit 1
fi

# Something already answering on a port would be used silently (another project's
# action server, with another clinic's profile): refuse instead.
for pair in "ACTIONS_PORT:$actions_port" "RASA_PORT:$rasa_port" "WEB_PORT:$web_port"; do
  name=${pair%%:*}; port=${pair#*:}
  if [ "$mode" = chat ] && [ "$name" != ACTIONS_PORT ]; then continue; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port is already in use by another program. Stop it, or choose a free port: make $mode $name=<port>" >&2
    exit 1
  fi
done

SANIC_HOST=$actions_bind_address .venv/bin/rasa run actions --actions actions --port "$actions_port" >logs/actions.log 2>&1 &
actions_pid=$!
web_pid=""
trap 'kill $actions_pid $web_pid 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 120); do
  if ! kill -0 "$actions_pid" 2>/dev/null; then
    echo "The action server stopped:" >&2; tail -n 5 logs/actions.log >&2; exit 1
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$actions_port") 2>/dev/null && break
  sleep 0.5
done

case "$mode" in
  chat)
    echo "Loading the assistant (about 15 seconds). Type /stop to leave."
    "$rasa" shell --model "$model" --endpoints endpoints.yml --quiet
    ;;
  run)
    # The HTTP API only with a token, which threshold.rasa_server reads from the
    # environment (never the command line: `ps` shows it); browsers only from the
    # clinic's own origins and this demo page's.
    server_args=()
    if [ -n "${THRESHOLD_API_TOKEN:-}" ]; then
      echo "HTTP API: on, behind THRESHOLD_API_TOKEN"
    else
      echo "HTTP API: off (set THRESHOLD_API_TOKEN to turn it on)"
    fi
    export THRESHOLD_DEMO_PAGE_PORT=$web_port
    read -r -a origins <<<"$(.venv/bin/python -m threshold.clinic_profile --origins)"
    if [ "${#origins[@]}" -gt 0 ]; then server_args+=(--cors "${origins[@]}"); fi
    echo "Allowed web origins: ${origins[*]:-none}"
    .venv/bin/python -m threshold.channels.status
    echo "Listening on $bind_address (set BIND_ADDRESS=0.0.0.0 to listen on every interface)"
    .venv/bin/python -m threshold.web --host "$bind_address" --port "$web_port" --rasa-port "$rasa_port" &
    web_pid=$!
    .venv/bin/python -m threshold.rasa_server run --model "$model" --endpoints endpoints.yml \
      --credentials credentials.yml --interface "$bind_address" --port "$rasa_port" "${server_args[@]}" &
    rasa_pid=$!
    trap 'kill $actions_pid $web_pid $rasa_pid 2>/dev/null || true' EXIT INT TERM
    # If any of the three stops, say which and stop the others: a half-running assistant
    # (a server without its action server, a page without its server) must not go unnoticed.
    set +e
    wait -n "$actions_pid" "$web_pid" "$rasa_pid"
    status=$?
    for pair in "action server:$actions_pid" "Rasa server:$rasa_pid" "web page server:$web_pid"; do
      kill -0 "${pair#*:}" 2>/dev/null || echo "The ${pair%%:*} stopped (exit status $status); stopping the rest. Logs: logs/actions.log and the output above." >&2
    done
    exit "$(( status == 0 ? 1 : status ))"
    ;;
  *) echo "usage: serve.sh chat|run" >&2; exit 2 ;;
esac
