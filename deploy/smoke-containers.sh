#!/usr/bin/env bash
# Builds the four images of deploy/Containerfile and starts them as
# deploy/compose.yaml does (host network, same commands, volumes and settings),
# then checks the stack from outside: /readyz through nginx with TLS, a TURN
# allocation over UDP and TLS, and a SIGTERM drain that exits 0. For a machine
# with a container engine but no compose plugin; with compose, just run
#   docker compose -f deploy/compose.yaml up -d --build
# Needs: docker (or DOCKER=podman), openssl, curl, the project's .venv (for the
# TURN check), and ports 80, 443, 3478, 5349, 6379, 8080 free on this host.
# Leaves nothing running: containers and volumes are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${DOCKER:-docker}
P=hs-smoke
certs=$(mktemp -d)
cleanup() {
  $D rm -f $P-nginx $P-turn $P-node $P-redis >/dev/null 2>&1 || true
  $D volume rm -f $P-data $P-redis >/dev/null 2>&1 || true
  rm -rf "$certs"
}
trap cleanup EXIT
for t in proxy turn redis node; do
  echo "== build $t"
  $D build -q --network host -f deploy/Containerfile --target $t -t localhost/$P-$t .
done
for n in "" turn-; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$certs/${n}privkey.pem" \
    -out "$certs/${n}fullchain.pem" 2>/dev/null
done
chmod 0755 "$certs" && chmod 0644 "$certs"/*   # read by coturn's own user in its container
ice='[{"urls": ["turn:localhost:3478?transport=udp", "turns:localhost:5349?transport=tcp"], "username": "hearing", "credential": "change-me"}]'
$D run -d --name $P-redis --network host -v $P-redis:/var/lib/redis localhost/$P-redis >/dev/null
$D run -d --name $P-node --network host -v $P-data:/var/lib/hearing-server \
  -e HEARING_REDIS_URL=redis://127.0.0.1:6379/0 -e HEARING_PUBLIC_URL=https://localhost \
  -e HEARING_LOG_JSON=1 -e "HEARING_ICE_SERVERS=$ice" localhost/$P-node \
  --data-dir /var/lib/hearing-server serve --host 127.0.0.1 --port 8080 >/dev/null
$D run -d --name $P-turn --network host -v "$PWD/deploy/turnserver.conf:/etc/turnserver.conf:ro" \
  -v "$certs:/etc/ssl/hearing-server:ro" localhost/$P-turn >/dev/null
$D run -d --name $P-nginx --network host -v "$PWD/deploy/nginx.conf:/etc/nginx/nginx.conf:ro" \
  -v "$certs:/etc/ssl/hearing-server:ro" localhost/$P-proxy >/dev/null
for _ in $(seq 1 100); do
  curl -skf https://localhost/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
echo "== /readyz through nginx: $(curl -sk https://localhost/readyz)"
.venv/bin/python - <<'PY'
import asyncio, ssl
from aioice import turn
async def main() -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    for port, kw in ((3478, {}), (5349, {"ssl": ctx, "transport": "tcp"})):
        for attempt in range(50):  # coturn may still be opening its listeners
            try:
                t, _ = await turn.create_turn_endpoint(
                    asyncio.DatagramProtocol, ("127.0.0.1", port), "hearing", "change-me", **kw)
                break
            except OSError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.2)
        print(f"== TURN relay on {port}: {t.get_extra_info('sockname')}")
        t.close()
asyncio.run(main())
PY
$D stop -t 420 $P-node >/dev/null
code=$($D inspect $P-node --format '{{.State.ExitCode}}')
echo "== node stopped (drain) with exit status $code"
[[ "$code" == 0 ]]
echo "smoke: the stack works"
