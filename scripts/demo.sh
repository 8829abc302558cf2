#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds converge, starts the
# sandbox (emulated Marathon and SageMaker) and walks through plan -> apply -> a change ->
# rollback on a copy of examples/marathon, then models / endpoint / training job on a copy of
# examples/sagemaker, then one commit picked up by `converge watch`. Nothing outside a temporary
# directory is touched.
set -euo pipefail
CONVERGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$CONVERGE_ROOT/scripts/deps.sh"
converge_install_deps
BUILD="${CONVERGE_BUILD_DIR:-$CONVERGE_ROOT/build}"
echo "==> building the converge binary (the first time: about 6 minutes on 2 idle cores)"
converge_build "$BUILD" converge
CONVERGE="$BUILD/converge"

WORK="$(mktemp -d /tmp/converge-demo.XXXXXX)"
export CONVERGE_STATE_DIR="$WORK/state"
# The sandbox checks SageMaker requests' SigV4 signatures against these test credentials.
export AWS_ACCESS_KEY_ID=AKIDSANDBOX AWS_SECRET_ACCESS_KEY=sandbox-secret AWS_REGION=eu-west-1
"$CONVERGE" sandbox --listen 127.0.0.1:0 --marathon-deploy-ms 800 --sagemaker-delay-ms 1500 \
  >"$WORK/sandbox.log" 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null || true; wait $SANDBOX 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  URL="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$WORK/sandbox.log")"
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/sandbox.log"; echo "sandbox did not start"; exit 1; }
cp -r "$CONVERGE_ROOT/examples/marathon" "$WORK/specs"
sed -i "s#url: http://127.0.0.1:8480/marathon#url: $URL/marathon#" "$WORK/specs/backend.yaml"
# The spec directory is a git repository, as in real use: runs and snapshots record the commit.
commit() { git -C "$WORK/specs" -c user.name=demo -c user.email=demo@example.invalid commit -qam "$1"; }
git -C "$WORK/specs" init -q && git -C "$WORK/specs" add -A && commit "initial specs"

step() { printf '\n\033[1m==> %s\033[0m\n$ %s\n' "$1" "$2"; }
run() { step "$1" "converge ${*:2}"; "$CONVERGE" "${@:2}" || true; }

echo "sandbox: $URL   specs: $WORK/specs   state: $CONVERGE_STATE_DIR"
run "validate the specs (offline)" validate "$WORK/specs"
run "plan: what would change" plan "$WORK/specs"
run "apply: create the apps, waiting for each deployment to be healthy" apply "$WORK/specs" --auto-approve
run "plan again: nothing to do" plan "$WORK/specs" --detailed-exitcode
sed -i 's#shop/web:1.4.2#shop/web:1.5.0#; s#LOG_LEVEL: info#LOG_LEVEL: debug#' "$WORK/specs/shop/web.yaml"
sed -i 's#instances: 2#instances: 4#' "$WORK/specs/shop/worker.yaml"
commit "web 1.5.0 with debug logs; 4 workers"
run "a commit changes the web image and scales the worker" plan "$WORK/specs"
run "apply it (a snapshot of each app is taken first)" apply "$WORK/specs" --auto-approve
run "the snapshots of /shop/web" snapshots App//shop/web
run "roll /shop/web back to the snapshot before the change" rollback App//shop/web
run "the rolled-back app is held: plan does not undo the rollback" plan "$WORK/specs"
run "history of runs" history
run "release it when ready; the next apply converges it again" release App//shop/web

# SageMaker: two models behind a blue/green endpoint, and a training job.
cp -r "$CONVERGE_ROOT/examples/sagemaker" "$WORK/ml"
sed -i "s#\# url: http://127.0.0.1:8480/sagemaker.*#url: $URL/sagemaker#; s#pollInterval: .*#pollInterval: 250ms#" \
  "$WORK/ml/backend.yaml"
git -C "$WORK/ml" init -q && git -C "$WORK/ml" add -A
git -C "$WORK/ml" -c user.name=demo -c user.email=demo@example.invalid commit -qm "ml specs"
run "SageMaker: plan models -> endpoint config -> endpoint, and a training job" plan "$WORK/ml"
run "apply (waits for the endpoint to be InService and the job to finish)" apply "$WORK/ml" --auto-approve
sed -i 's#churn-xgboost:1.4.0#churn-xgboost:1.4.1#' "$WORK/ml/churn/models.yaml"
sed -i 's#InitialVariantWeight: 0.9#InitialVariantWeight: 0.5#; s#InitialVariantWeight: 0.1#InitialVariantWeight: 0.5#' \
  "$WORK/ml/churn/endpoint.yaml"
run "a new blue image: new model + new config + UpdateEndpoint (the old ones are kept)" plan "$WORK/ml"
run "apply it" apply "$WORK/ml" --auto-approve
run "roll the endpoint back to its previous config (and hold it)" rollback Endpoint/churn
run "the training job ran once for this revision: nothing to run again" plan "$WORK/ml"

# YARN: a service with two components (standby RM listed first: HA discovery), and a one-shot
# distributed-shell application that runs once per revision.
cp -r "$CONVERGE_ROOT/examples/yarn" "$WORK/yarn"
sed -i "s#http://127.0.0.1:8480#$URL#g; s#healthTimeout: .*#healthTimeout: 60s#" "$WORK/yarn/backend.yaml"
run "YARN: plan a service and an application (-v: which ResourceManager answered)" -v plan "$WORK/yarn"
run "apply (waits for every container READY and for the application to finish)" apply "$WORK/yarn" --auto-approve
sed -i 's#number_of_containers: 2#number_of_containers: 3#' "$WORK/yarn/sleepers/service.yaml"
run "one more sleeper: a scale (the component PUT), not an upgrade; the application is not resubmitted" plan "$WORK/yarn"
run "apply it" apply "$WORK/yarn" --auto-approve

# Iceberg: a writer makes the sandbox table busy; the policy's compaction fires and runs as a
# spark-sql application on the sandbox's YARN; expiry keeps the last 10 snapshots.
cp -r "$CONVERGE_ROOT/examples/iceberg" "$WORK/lake"
sed -i "s#http://127.0.0.1:8480#$URL#g" "$WORK/lake/backends.yaml"
curl -sf -X POST "$URL/_admin/iceberg/append" -H 'Content-Type: application/json' \
  -d '{"table": "analytics.events", "commits": 12, "files_per_commit": 10, "file_size_bytes": 4000000}' >/dev/null
run "Iceberg: which maintenance fires on analytics.events, and why" plan "$WORK/lake"
run "apply (takes the table lock, compacts through YARN, checks the replace snapshot)" apply "$WORK/lake" --auto-approve
run "nothing is due any more" plan "$WORK/lake"

# converge watch: a commit lands, the backend follows.
# (/shop/web, released after the rollback above, differs from what was applied: with selfHeal
# off the watch reports that drift instead of correcting it, and --once then exits 1.)
step "converge watch: the commit is applied; drift is reported (selfHeal off)" \
  "converge watch $WORK/specs --committed-only --once"
sed -i 's#instances: 4#instances: 3#' "$WORK/specs/shop/worker.yaml"
commit "3 workers"
"$CONVERGE" watch "$WORK/specs" --committed-only --once --listen 127.0.0.1:0 || true
echo
echo "Done. Try it yourself: CONVERGE_STATE_DIR=$CONVERGE_STATE_DIR $CONVERGE plan $WORK/specs"
echo "(the sandbox stops when this script exits)"
