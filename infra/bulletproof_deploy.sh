#!/usr/bin/env bash
# CloudMind bulletproof deployment: pre-deploy checks, `sam build`, `sam deploy`, then the smoke test against the
# deployed API. The arguments are the seed guide's:
#
#   infra/bulletproof_deploy.sh [--dry-run] [--artifacts FILE] <environment> <run_tests> <security_checks> <performance_checks>
#   infra/bulletproof_deploy.sh production true true true
#   infra/bulletproof_deploy.sh development false false false
#
# Build once, promote the same artifacts: `make sam-package ARTIFACTS_BUCKET=...` builds and uploads the functions
# once and writes a packaged template (CodeUri = S3 objects named by their content); `--artifacts FILE` deploys that
# template without building, to dev and later to prod, so prod runs the bytes dev was tested with.
#
# Any failing check stops the deployment. Production also refuses to start unless all three checks are on.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
TEMPLATE=template.yaml
STARTED=$(date +%s)

usage() {
    cat <<'EOF'
Usage: infra/bulletproof_deploy.sh [--dry-run] [--artifacts FILE] <environment> <run_tests> <security_checks> <performance_checks>

  <environment>         dev | prod   (development and production are accepted as aliases)
  <run_tests>           true | false   make test (rustfmt, clippy and every test)
  <security_checks>     true | false   cargo clippy --all-targets -- -D warnings; cargo audit (or
                                       cargo deny check advisories); cfn-lint template.yaml; sam validate --lint
  <performance_checks>  true | false   make bench, when the Makefile has that target
  --dry-run             run the checks, then print the sam and smoke-test commands instead of running them
  --artifacts FILE      deploy this packaged template (make sam-package) instead of building: the same
                        function code goes to dev and then to prod. Refused if a CodeUri is not an S3 object.

Production requires `prod true true true`; a check that fails, or (in prod) a security tool that is missing,
stops the deployment. After `sam build` and `sam deploy --config-env <environment>` (settings in samconfig.toml),
infra/smoke_test.sh runs against the stack's ApiUrl output.

Environment: AWS_REGION / AWS_DEFAULT_REGION (else the AWS CLI's configured region), SAM, CFN_LINT (tool paths).

Examples:
  infra/bulletproof_deploy.sh production true true true
  infra/bulletproof_deploy.sh --dry-run dev true true false
  infra/bulletproof_deploy.sh development false false false
  make sam-package ARTIFACTS_BUCKET=my-artifacts && \
    infra/bulletproof_deploy.sh --artifacts .aws-sam/packaged.yaml dev true true false
EOF
}

log() {
    local level=$1
    shift
    printf '%s [%-5s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "$*" >&2
}
info() { log INFO "$@"; }
warn() { log WARN "$@"; }
die() {
    log ERROR "$@"
    exit 1
}

# ---- arguments ---------------------------------------------------------------------------------------------------
DRY_RUN=false
ARTIFACTS=""
ARGS=()

parse_args() {
    while [[ $# -gt 0 ]]; do
        local arg=$1
        shift
        case $arg in
            --dry-run) DRY_RUN=true ;;
            --artifacts)
                [[ $# -gt 0 ]] || die "--artifacts needs a packaged template (make sam-package writes .aws-sam/packaged.yaml)"
                ARTIFACTS=$1
                shift
                ;;
            --artifacts=*) ARTIFACTS=${arg#--artifacts=} ;;
            -h | --help)
                usage
                exit 0
                ;;
            -*)
                usage >&2
                die "unknown option: $arg"
                ;;
            *) ARGS+=("$arg") ;;
        esac
    done
    if [[ ${#ARGS[@]} -ne 4 ]]; then
        usage >&2
        die "expected 4 arguments (environment run_tests security_checks performance_checks), got ${#ARGS[@]}"
    fi
}

normalize_env() {
    case ${1,,} in
        dev | development) echo dev ;;
        prod | production) echo prod ;;
        *) die "unknown environment '$1': use dev (development) or prod (production)" ;;
    esac
}

parse_bool() {
    case ${2,,} in
        true) echo true ;;
        false) echo false ;;
        *) die "$1 must be true or false (got '$2')" ;;
    esac
}

# ---- tools -------------------------------------------------------------------------------------------------------
# find_tool NAME: the tool on PATH, else in the repo's virtual environments (.tmp/sam-venv, .venv); "" if none.
find_tool() {
    local name=$1 candidate
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return
    fi
    for candidate in "$REPO_ROOT/.tmp/sam-venv/bin/$name" "$REPO_ROOT/.venv/bin/$name"; do
        if [[ -x $candidate ]]; then
            echo "$candidate"
            return
        fi
    done
    echo ""
}

resolve_region() {
    if [[ -n ${AWS_REGION:-} ]]; then
        echo "$AWS_REGION"
    elif [[ -n ${AWS_DEFAULT_REGION:-} ]]; then
        echo "$AWS_DEFAULT_REGION"
    elif command -v aws >/dev/null 2>&1; then
        aws configure get region 2>/dev/null || true
    fi
}

# The stack name samconfig.toml gives the environment (deploy, then global parameters), else cloudmind-<env>.
stack_name() {
    python3 - "$REPO_ROOT/samconfig.toml" "$1" <<'PY' 2>/dev/null || echo "cloudmind-$1"
import sys, tomllib
config = tomllib.load(open(sys.argv[1], "rb"))
env = config.get(sys.argv[2], {})
for command in ("deploy", "global"):
    name = env.get(command, {}).get("parameters", {}).get("stack_name")
    if name:
        print(name)
        break
else:
    print(f"cloudmind-{sys.argv[2]}")
PY
}

# ---- checks ------------------------------------------------------------------------------------------------------
FAILED=()
PASSED=()
SKIPPED=()

# run_check NAME COMMAND...: runs the command from the repository root and records the outcome.
run_check() {
    local name=$1 start rc
    shift
    info "check: $name ($*)"
    start=$(date +%s)
    set +e
    (cd "$REPO_ROOT" && "$@")
    rc=$?
    set -e
    if [[ $rc -eq 0 ]]; then
        info "check passed: $name ($(($(date +%s) - start)) s)"
        PASSED+=("$name")
    else
        log ERROR "check FAILED: $name (exit $rc after $(($(date +%s) - start)) s)"
        FAILED+=("$name")
    fi
}

# missing_tool NAME HINT: a check that cannot run. A failure in prod, a warning elsewhere.
missing_tool() {
    if [[ $ENVIRONMENT == prod ]]; then
        log ERROR "check cannot run: $1 ($2); production requires it"
        FAILED+=("$1 (tool missing)")
    else
        warn "check skipped: $1 ($2)"
        SKIPPED+=("$1 (tool missing)")
    fi
}

run_tests() {
    command -v make >/dev/null 2>&1 || {
        missing_tool "make test" "make is not installed"
        return
    }
    run_check "make test" make test
}

security_checks() {
    if command -v cargo >/dev/null 2>&1; then
        run_check "cargo clippy" cargo clippy --locked --workspace --all-targets -- -D warnings
        if cargo audit --version >/dev/null 2>&1; then
            run_check "cargo audit" cargo audit
        elif cargo deny --version >/dev/null 2>&1; then
            run_check "cargo deny advisories" cargo deny check advisories
        else
            missing_tool "dependency advisories" "install one: cargo install cargo-audit --locked (or cargo-deny)"
        fi
    else
        missing_tool "cargo clippy" "cargo is not installed (https://rustup.rs)"
        missing_tool "dependency advisories" "cargo is not installed"
    fi
    if [[ -n $CFN_LINT ]]; then
        run_check "cfn-lint" "$CFN_LINT" "$TEMPLATE"
    else
        missing_tool "cfn-lint" "pip install cfn-lint (e.g. in .tmp/sam-venv)"
    fi
    if [[ -n $SAM ]]; then
        run_check "sam validate --lint" "$SAM" validate --lint --template "$TEMPLATE" --region "${REGION:-us-east-1}"
    else
        missing_tool "sam validate" "python3 -m venv .tmp/sam-venv && .tmp/sam-venv/bin/pip install aws-sam-cli"
    fi
}

performance_checks() {
    if [[ -f $REPO_ROOT/Makefile ]] && grep -qE '^bench:' "$REPO_ROOT/Makefile"; then
        run_check "make bench" make bench
    else
        warn "performance: the Makefile has no 'bench' target, so no benchmark ran. Measure after the deploy from"
        warn "CloudWatch REPORT lines (saved query 'Billed duration and memory'; infra/README.md, cost section)."
        SKIPPED+=("make bench (no target)")
    fi
}

join() {
    local out="" item
    for item in "$@"; do
        out+="${out:+, }$item"
    done
    echo "${out:-none}"
}

summary() {
    info "checks passed: $(join "${PASSED[@]}")"
    [[ ${#SKIPPED[@]} -eq 0 ]] || warn "checks skipped: $(join "${SKIPPED[@]}")"
    [[ ${#FAILED[@]} -eq 0 ]] || log ERROR "checks failed: $(join "${FAILED[@]}")"
}

# ---- deploy ------------------------------------------------------------------------------------------------------
# check_artifacts FILE: a packaged template whose every function's code is an S3 object; prints one line per
# function (logical id and code URI) so that the dev and prod logs show the same objects.
check_artifacts() {
    [[ -f $1 ]] || { echo "no such file (make sam-package writes .aws-sam/packaged.yaml)"; return 1; }
    python3 - "$1" <<'PY'
import re, sys
resource, functions, local = None, [], []
for line in open(sys.argv[1]):
    m = re.match(r"  ([A-Za-z0-9]+):\s*$", line)
    if m:
        resource = m.group(1)
    m = re.match(r"\s+CodeUri:\s*(\S+)", line)
    if m:
        uri = m.group(1).strip("'\"")
        (functions if uri.startswith("s3://") else local).append((resource, uri))
if local:
    sys.exit("not a packaged template: " + ", ".join(f"{r} has CodeUri {u}" for r, u in local)
             + " (run sam package, or make sam-package)")
if not functions:
    sys.exit("no function code in it: is it the packaged template of template.yaml?")
for r, u in functions:
    print(f"{r} {u}")
PY
}

# show_command ARGS...: prints a command as it could be pasted into a shell.
show_command() {
    local arg line=""
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
            line+=" $arg"
        else
            line+=" '${arg//\'/\'\\\'\'}'"
        fi
    done
    printf '   %s\n' "$line"
}

# The AlertEmail of an environment's deploy parameters in samconfig.toml (empty when unset or commented out).
configured_alert_email() {
    python3 - "$REPO_ROOT/samconfig.toml" "$1" <<'PY'
import sys, tomllib
config = tomllib.load(open(sys.argv[1], "rb"))
overrides = config.get(sys.argv[2], {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", [])
if isinstance(overrides, str):
    overrides = overrides.split()
print(next((o.split("=", 1)[1].strip('"') for o in overrides if o.startswith("AlertEmail=")), ""))
PY
}

# prod pages someone or it does not deploy: an AlertEmail in samconfig.toml, or a confirmed subscription on the
# deployed stack's alerts topic.
require_alerting() {
    local stack=$1 email topic confirmed=0
    email=$(configured_alert_email "$ENVIRONMENT")
    if [[ -n $email ]]; then
        info "alerts: $email"
        return
    fi
    if command -v aws >/dev/null 2>&1; then
        topic=$(aws cloudformation describe-stack-resource --stack-name "$stack" --logical-resource-id AlertsTopic \
            ${REGION:+--region "$REGION"} --query StackResourceDetail.PhysicalResourceId --output text 2>/dev/null || true)
        if [[ -n $topic && $topic != None ]]; then
            confirmed=$(aws sns list-subscriptions-by-topic --topic-arn "$topic" ${REGION:+--region "$REGION"} \
                --query "length(Subscriptions[?SubscriptionArn!='PendingConfirmation'])" --output text 2>/dev/null || echo 0)
        fi
    fi
    [[ ${confirmed:-0} -gt 0 ]] ||
        die "refusing to deploy prod with no one alerted: set AlertEmail in samconfig.toml [prod.deploy.parameters] (or confirm a subscription to the stack's alerts topic)"
    info "alerts: $confirmed confirmed subscription(s) on $topic"
}

deploy() {
    local region_args=() stack api_url
    [[ -z $REGION ]] || region_args=(--region "$REGION")
    stack=$(stack_name "$ENVIRONMENT")

    local deploy_args=(--config-env "$ENVIRONMENT" "${region_args[@]}") code line
    if [[ -n $ARTIFACTS ]]; then
        code=$(check_artifacts "$ARTIFACTS" 2>&1) || die "--artifacts $ARTIFACTS: $code"
        info "artifacts: $ARTIFACTS (built once; no sam build here):"
        while read -r line; do info "  $line"; done <<<"$code"
        deploy_args+=(--template-file "$ARTIFACTS")
    elif [[ $ENVIRONMENT == prod ]]; then
        warn "prod built from source here: a pipeline promotes dev's artifacts instead (make sam-package, then --artifacts)"
    fi

    if [[ $DRY_RUN == true ]]; then
        info "dry run: the deployment would run these commands from $REPO_ROOT:"
        [[ -n $ARTIFACTS ]] || show_command "${SAM:-sam}" build --config-env "$ENVIRONMENT"
        show_command "${SAM:-sam}" deploy "${deploy_args[@]}"
        [[ $ENVIRONMENT != prod ]] || show_command aws cloudformation update-termination-protection \
            --enable-termination-protection --stack-name "$stack" "${region_args[@]}"
        show_command aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]}" \
            --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text
        show_command "$SCRIPT_DIR/smoke_test.sh" '<ApiUrl>'
        [[ -n $SAM ]] || warn "dry run: sam is not installed (needed for the real run)"
        [[ -n $ARTIFACTS ]] || PATH=$BUILD_PATH cargo lambda --version >/dev/null 2>&1 ||
            warn "dry run: cargo-lambda is not installed (sam build needs it: make sam-tools, or pip install cargo-lambda ziglang)"
        command -v aws >/dev/null 2>&1 || warn "dry run: the AWS CLI is not installed (needed to read the stack outputs)"
        return
    fi

    [[ -n $SAM ]] || die "sam is not installed: python3 -m venv .tmp/sam-venv && .tmp/sam-venv/bin/pip install aws-sam-cli"
    [[ -n $ARTIFACTS ]] || PATH=$BUILD_PATH cargo lambda --version >/dev/null 2>&1 ||
        die "cargo-lambda is required by sam build (the Makefile's build-<LogicalId> targets): make sam-tools, or pip install cargo-lambda ziglang"
    command -v aws >/dev/null 2>&1 || die "the AWS CLI is required to read the stack outputs"

    if [[ -z $ARTIFACTS ]]; then
        info "sam build --config-env $ENVIRONMENT (seven arm64 binaries in one cargo lambda build)"
        (cd "$REPO_ROOT" && PATH=$BUILD_PATH "$SAM" build --config-env "$ENVIRONMENT") ||
            die "sam build failed; nothing was deployed"
    fi

    info "sam deploy --config-env $ENVIRONMENT (stack $stack${REGION:+, region $REGION})"
    (cd "$REPO_ROOT" && "$SAM" deploy "${deploy_args[@]}") ||
        die "sam deploy failed; CloudFormation rolls a failed update back by itself (aws cloudformation describe-stack-events --stack-name $stack)"

    if [[ $ENVIRONMENT == prod ]]; then
        aws cloudformation update-termination-protection --enable-termination-protection --stack-name "$stack" \
            "${region_args[@]}" >/dev/null || die "could not turn termination protection on for $stack"
        info "termination protection: on"
    fi

    api_url=$(aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]}" \
        --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text)
    [[ -n $api_url && $api_url != None ]] || die "the stack $stack has no ApiUrl output"
    info "deployed: $api_url"

    info "smoke test against $api_url"
    "$SCRIPT_DIR/smoke_test.sh" "$api_url" ||
        die "smoke test FAILED against $api_url: the deployment is live but broken; follow 'System down' in infra/README.md (roll back to the last good commit)"
}

# ---- main --------------------------------------------------------------------------------------------------------
main() {
    parse_args "$@"
    [[ -z $ARTIFACTS || $ARTIFACTS == /* ]] || ARTIFACTS=$PWD/$ARTIFACTS
    ENVIRONMENT=$(normalize_env "${ARGS[0]}")
    RUN_TESTS=$(parse_bool run_tests "${ARGS[1]}")
    SECURITY_CHECKS=$(parse_bool security_checks "${ARGS[2]}")
    PERFORMANCE_CHECKS=$(parse_bool performance_checks "${ARGS[3]}")
    REGION=$(resolve_region)
    SAM=${SAM:-$(find_tool sam)}
    CFN_LINT=${CFN_LINT:-$(find_tool cfn-lint)}
    # sam build runs cargo-lambda (and zig) from the tools' virtual environment when `make sam-tools` made one.
    BUILD_PATH=$PATH
    [[ ! -d $REPO_ROOT/.tmp/sam-venv/bin ]] || BUILD_PATH=$REPO_ROOT/.tmp/sam-venv/bin:$PATH

    info "CloudMind deploy: environment=$ENVIRONMENT run_tests=$RUN_TESTS security_checks=$SECURITY_CHECKS performance_checks=$PERFORMANCE_CHECKS dry_run=$DRY_RUN region=${REGION:-<AWS default>}"
    if [[ $ENVIRONMENT == prod ]]; then
        local off=()
        [[ $RUN_TESTS == true ]] || off+=(run_tests)
        [[ $SECURITY_CHECKS == true ]] || off+=(security_checks)
        [[ $PERFORMANCE_CHECKS == true ]] || off+=(performance_checks)
        if [[ ${#off[@]} -gt 0 ]]; then
            die "refusing to deploy prod with ${off[*]} switched off: production requires every check (bulletproof_deploy.sh prod true true true)"
        fi
        require_alerting "$(stack_name prod)"
    fi
    if git -C "$REPO_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        local commit dirty=""
        commit=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
        [[ -z $(git -C "$REPO_ROOT" status --porcelain 2>/dev/null) ]] || dirty=" (with uncommitted changes)"
        info "source: commit $commit$dirty"
        [[ -z $dirty || $ENVIRONMENT != prod ]] ||
            warn "deploying prod from a dirty tree: the rollback procedure redeploys commits, commit first"
    fi

    if [[ $RUN_TESTS == true ]]; then run_tests; else info "tests: switched off"; fi
    if [[ $SECURITY_CHECKS == true ]]; then security_checks; else info "security checks: switched off"; fi
    if [[ $PERFORMANCE_CHECKS == true ]]; then performance_checks; else info "performance checks: switched off"; fi
    summary
    if [[ ${#FAILED[@]} -gt 0 ]]; then
        die "refusing to deploy $ENVIRONMENT: ${#FAILED[@]} check(s) failed (listed above)"
    fi

    deploy
    info "done in $(($(date +%s) - STARTED)) s"
}

main "$@"
