#!/usr/bin/env bash
# The quickstart, end to end, on this machine only (run it with `make demo`):
# start moto (standing in for AWS) on a free 127.0.0.1 port, build the provider
# into a filesystem mirror, then terraform init/apply examples/quickstart,
# prove what was made with an independent client (boto3), check that a second
# plan is empty, destroy and prove that nothing is left; then drill a DR
# policy on two local Kubernetes clusters, with terraform (examples/drill) and
# with the meridian CLI (examples/stacks/drill), and stop everything.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PROVIDER_VERSION=0.1.0
MIRROR="$ROOT/.terraform-mirror"
EXAMPLE="$ROOT/examples/quickstart"
VERIFY="$ROOT/scripts/verify_quickstart.py"

if [[ -t 1 ]]; then BOLD=$'\033[1m' RED=$'\033[31m' GREEN=$'\033[32m' RESET=$'\033[0m' NO_COLOR=(); else BOLD='' RED='' GREEN='' RESET='' NO_COLOR=(-no-color); fi
STEP=0
header() { STEP=$((STEP + 1)); printf '\n%s==> [%d] %s%s\n' "$BOLD" "$STEP" "$*" "$RESET"; }
die() { printf '%sdemo: %s%s\n' "$RED" "$*" "$RESET" >&2; exit 1; }

# Terraform talks to nothing but loopback (no checkpoint calls), and no real
# credentials can leak into the demo.
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN TF_CLI_ARGS TF_CLI_ARGS_init TF_CLI_ARGS_plan TF_CLI_ARGS_apply \
  TF_CLI_ARGS_destroy TF_DATA_DIR TF_WORKSPACE TF_PLUGIN_CACHE_DIR 2>/dev/null || true

# ---------------------------------------------------------------- tools
header "Checking tools"
for tool in go terraform moto_server python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required and was not found on PATH"
done
python3 -c 'import boto3' 2>/dev/null || die "python3 ($(command -v python3)) cannot import boto3"
[[ -f "$ROOT/main.go" ]] || die "no main.go in $ROOT: the provider is not there yet"
echo "go        $(go version | awk '{print $3}')"
# (our CLI config is written below; an empty TF_CLI_CONFIG_FILE avoids the machine's missing one)
echo "terraform $(TF_CLI_CONFIG_FILE='' terraform version | head -n1)"
echo "python3   $(python3 --version 2>&1) with boto3 $(python3 -c 'import boto3; print(boto3.__version__)')"
echo "moto      $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || echo '?')"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/meridian-demo.XXXXXX")
MOTO_PID=""
MOTO_LOG="$TMP/moto.log"

stop_moto() {
  [[ -n "$MOTO_PID" ]] || return 0
  local pid=$MOTO_PID
  MOTO_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  echo "moto (pid $pid) stopped"
}

CLUSTERS_UP=""
STRICT_PID=""
on_exit() {
  local rc=$?
  set +e
  if [[ -n "$STRICT_PID" ]]; then
    kill "$STRICT_PID" 2>/dev/null
    wait "$STRICT_PID" 2>/dev/null
  fi
  if [[ -n "$CLUSTERS_UP" ]]; then
    go run ./internal/testbed/cmd/clusters down -dir "$CLUSTERS"
  fi
  stop_moto
  if [[ $rc -eq 0 ]]; then
    rm -rf "$TMP"
  else
    printf '\n%sdemo FAILED (exit %d).%s Work dir kept for inspection: %s\n' "$RED" "$rc" "$RESET" "$TMP" >&2
    if [[ -s "$MOTO_LOG" ]]; then
      echo "--- last lines of moto's log ($MOTO_LOG) ---" >&2
      tail -n 15 "$MOTO_LOG" >&2
    fi
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

http_ok() { # URL -> success if GET answers 200
  python3 - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

# ---------------------------------------------------------------- moto
header "Starting moto on a free 127.0.0.1 port"
ENDPOINT=""
for attempt in 1 2 3 4 5; do
  PORT=$(free_port)
  : >"$MOTO_LOG"
  # AWS managed policies (the DR backup role attaches AWS Backup's) exist
  # in moto only when asked for.
  PYTHONUNBUFFERED=1 MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$PORT" >>"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  ready=""
  for _ in $(seq 1 300); do # up to 60 s
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
    # Our own process must say it runs on the port (not a neighbour that won a race for it).
    if grep -q "127.0.0.1:$PORT" "$MOTO_LOG" && http_ok "http://127.0.0.1:$PORT/moto-api/"; then
      ready=yes
      break
    fi
    sleep 0.2
  done
  if [[ -n "$ready" ]]; then
    ENDPOINT="http://127.0.0.1:$PORT"
    break
  fi
  stop_moto
  if grep -q "Address already in use" "$MOTO_LOG"; then
    echo "port $PORT was taken before moto could bind it; trying another (attempt $attempt)"
    continue
  fi
  die "moto_server did not become ready on 127.0.0.1:$PORT within 60 s; its log: $(tail -n 20 "$MOTO_LOG")"
done
[[ -n "$ENDPOINT" ]] || die "moto_server could not get a free port after 5 attempts"
echo "moto (pid $MOTO_PID) is ready at $ENDPOINT"

# ---------------------------------------------------------------- provider
header "Building the provider into the filesystem mirror $MIRROR"
PLATFORM="$(go env GOOS)_$(go env GOARCH)"
PLUGIN_DIR="$MIRROR/registry.terraform.io/meridianhq/meridian/$PROVIDER_VERSION/$PLATFORM"
mkdir -p "$PLUGIN_DIR"
go build -o "$PLUGIN_DIR/terraform-provider-meridian_v$PROVIDER_VERSION" .
echo "installed ${PLUGIN_DIR#"$ROOT"/}/terraform-provider-meridian_v$PROVIDER_VERSION"

export TF_CLI_CONFIG_FILE="$TMP/terraformrc"
cat >"$TF_CLI_CONFIG_FILE" <<EOF
disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/meridianhq/*"]
  }
  direct {
    exclude = ["registry.terraform.io/meridianhq/*"]
  }
}
EOF
echo "TF_CLI_CONFIG_FILE=$TF_CLI_CONFIG_FILE"

export MERIDIAN_AWS_ENDPOINT="$ENDPOINT"

WORK="$TMP/quickstart"
mkdir -p "$WORK"
cp -R "$EXAMPLE/." "$WORK/"
rm -rf "$WORK/.terraform" "$WORK/.terraform.lock.hcl" "$WORK"/terraform.tfstate*
tf() { terraform -chdir="$WORK" "$@"; }
VARS=(-var "aws_endpoint=$ENDPOINT")

# ---------------------------------------------------------------- terraform
header "terraform init (examples/quickstart in $WORK)"
tf init -input=false "${NO_COLOR[@]}"

header "terraform apply"
tf apply -auto-approve -input=false "${NO_COLOR[@]}" "${VARS[@]}"

header "terraform output"
tf output "${NO_COLOR[@]}"

header "The primitives meridian_region_pair.checkout compiled into"
tf output -json primitives | python3 -c '
import json, sys
v = json.load(sys.stdin)
if isinstance(v, str):
    try:
        v = json.loads(v)
    except ValueError:
        pass
if isinstance(v, dict) and isinstance(v.get("primitives"), list):
    v = v["primitives"]
if isinstance(v, dict) and all(isinstance(x, dict) for x in v.values()):
    v = [dict(x, name=x.get("name", k)) for k, x in v.items()]
if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
    def ident(x):
        for k in ("id", "arn", "bucket", "name_out"):
            out = x.get("outputs") or {}
            if isinstance(out, dict) and out.get(k):
                return str(out[k])
            if x.get(k):
                return str(x[k])
        return ""
    rows = [(str(x.get("name", "?")), str(x.get("type", "")), str(x.get("region", "")), str(x.get("status", "")), ident(x)) for x in v]
    head = ("PRIMITIVE", "TYPE", "REGION", "STATUS", "ID")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  " + "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
    print(f"  ({len(rows)} primitives)")
else:
    print(json.dumps(v, indent=2, sort_keys=True))
'

header "Verifying with boto3 that everything exists as described"
python3 "$VERIFY" present "$ENDPOINT"

header "terraform plan -detailed-exitcode (a second plan must be empty)"
plan_rc=0
tf plan -detailed-exitcode -input=false "${NO_COLOR[@]}" "${VARS[@]}" || plan_rc=$?
case $plan_rc in
  0) echo "${GREEN}no changes: no perpetual diff${RESET}" ;;
  2) die "terraform plan right after apply wants changes (exit 2): a perpetual diff, see the plan above" ;;
  *) die "terraform plan failed (exit $plan_rc)" ;;
esac

header "terraform destroy"
tf destroy -auto-approve -input=false "${NO_COLOR[@]}" "${VARS[@]}"

header "Verifying with boto3 that nothing is left"
python3 "$VERIFY" absent "$ENDPOINT"

# ---------------------------------------------------------------- DR drill
header "Local Kubernetes clusters for the DR drill (built once, cached; ~25 min the first time on 2 cores)"
CLUSTERS="$TMP/clusters"
go run ./internal/testbed/cmd/clusters build
CLUSTERS_UP=yes
go run ./internal/testbed/cmd/clusters up -dir "$CLUSTERS" -names region-a,region-b
go run ./internal/testbed/cmd/drilltarget -kubeconfig "$CLUSTERS/kubeconfig" -context region-a

# A drill restores from AWS Backup recovery points and asks Route 53 what a
# client is answered (TestDNSAnswer); moto has neither, so the drill talks to
# the testbed's strict layer in front of the same moto, whose stand-ins
# (internal/testbed/strict/backup.go, dnsanswer.go) implement them.
go build -o "$TMP/strict" ./internal/testbed/cmd/strict
"$TMP/strict" -moto "$ENDPOINT" -off faults -quiet -endpoint-file "$TMP/strict.url" >"$TMP/strict.log" 2>&1 &
STRICT_PID=$!
for _ in $(seq 1 100); do [[ -s "$TMP/strict.url" ]] && break; sleep 0.1; done
DRILL_ENDPOINT="$(cat "$TMP/strict.url")"

DRILL="$TMP/drill"
mkdir -p "$DRILL"
cp -R "$ROOT/examples/drill/." "$DRILL/"
rm -rf "$DRILL/.terraform" "$DRILL/.terraform.lock.hcl" "$DRILL"/terraform.tfstate*
dr() { terraform -chdir="$DRILL" "$@"; }
DRILL_VARS=(-var "aws_endpoint=$DRILL_ENDPOINT" -var "kubeconfig=$CLUSTERS/kubeconfig" -var "testbed=$CLUSTERS")

header "terraform apply examples/drill: the pair, its DR policy, and a drill that destroys region-a for real"
dr init -input=false "${NO_COLOR[@]}" >/dev/null
dr apply -auto-approve -input=false "${NO_COLOR[@]}" "${DRILL_VARS[@]}"

header "The restore runbook"
dr output -raw runbook

header "Drill: measured against the targets"
{ dr output -json drill; dr output -json targets; } | python3 "$ROOT/scripts/drill_table.py"

header "Drill report: the recovery point used, the writes lost, the failover observed"
dr output -raw drill_markdown

header "terraform destroy examples/drill"
dr destroy -auto-approve -input=false "${NO_COLOR[@]}" "${DRILL_VARS[@]}" >/dev/null
echo "destroyed"

header "The same drill with the meridian CLI: up, drill and destroy examples/stacks/drill"
# moto keeps a deleted backup plan and refuses a new plan of the same name
# (AlreadyExistsException), so the CLI deploys the same policy into a reset moto.
python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset", method="POST"))' "$ENDPOINT"
go build -o "$TMP/meridian" ./cmd/meridian
STACK="$TMP/stack"
mkdir -p "$STACK"
cp -R "$ROOT/examples/stacks/drill/." "$STACK/"
m() { "$TMP/meridian" -C "$STACK" "$@" --var "aws_endpoint=$DRILL_ENDPOINT" --var "kubeconfig=$CLUSTERS/kubeconfig"; }
m stack init demo
m up --yes --progress=plain | tail -n 1
m drill orders --yes --markdown
# The architecture document, with the drill just measured; it stays after the demo.
printf 'architecture document: '
m doc --out "$ROOT/.testbed/architecture"
m destroy --yes --progress=plain | tail -n 1
kill "$STRICT_PID" 2>/dev/null || true
wait "$STRICT_PID" 2>/dev/null || true
STRICT_PID=""

header "Stopping the clusters and moto"
go run ./internal/testbed/cmd/clusters down -dir "$CLUSTERS"
CLUSTERS_UP=""
stop_moto

printf '\n%sdemo passed:%s quickstart (apply, verify, empty plan, destroy, verify) and a DR drill with terraform and with the CLI, against moto and two local clusters on 127.0.0.1.\n' "$GREEN" "$RESET"
