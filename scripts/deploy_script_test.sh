#!/usr/bin/env bash
# The deploy script's promotion path, with stand-ins for sam and aws on PATH that record their arguments (no AWS
# account here): a packaged template is deployed as is (no sam build, `--template-file` passed through), a template
# whose code is local is refused before anything runs, and without --artifacts the script builds first. Run by
# make test; nothing is deployed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { printf 'deploy script test FAILED: %s\n' "$*" >&2; exit 1; }

mkdir -p "$WORK/bin"
cat >"$WORK/bin/sam" <<'SH'
#!/usr/bin/env bash
echo "sam $*" >>"$CALLS"
SH
cat >"$WORK/bin/aws" <<'SH'
#!/usr/bin/env bash
echo "aws $*" >>"$CALLS"
case "$*" in *describe-stacks*) echo None ;; esac
SH
chmod +x "$WORK/bin/sam" "$WORK/bin/aws"
export CALLS="$WORK/calls" PATH="$WORK/bin:$PATH" SAM="$WORK/bin/sam" AWS_REGION=eu-west-1

packaged() { # packaged FILE URI...: a packaged template's shape, one function per URI
  local file=$1
  shift
  {
    echo "Resources:"
    local i=0 uri
    for uri in "$@"; do
      i=$((i + 1))
      printf '  Fn%sFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: %s\n      Handler: bootstrap\n' "$i" "$uri"
    done
  } >"$file"
}
deploy() { : >"$CALLS"; infra/bulletproof_deploy.sh "$@" >"$WORK/out" 2>&1; }

# 1. a packaged template goes to sam deploy as is: no build, the same S3 objects named in the log.
packaged "$WORK/packaged.yaml" s3://artifacts/cloudmind/0a1b2c s3://artifacts/cloudmind/3d4e5f
deploy --artifacts "$WORK/packaged.yaml" dev false false false && fail "expected the stand-in stack without ApiUrl to stop the run"
grep -q "has no ApiUrl output" "$WORK/out" || { cat "$WORK/out"; fail "the run stopped before sam deploy"; }
grep -q "^sam build" "$CALLS" && fail "--artifacts must not build"
grep -qx "sam deploy --config-env dev --region eu-west-1 --template-file $WORK/packaged.yaml" "$CALLS" ||
  { cat "$CALLS"; fail "sam deploy did not get the packaged template"; }
grep -q "Fn1Function s3://artifacts/cloudmind/0a1b2c" "$WORK/out" || fail "the artifacts are not named in the log"

# 2. a relative path is the caller's, not the repository's.
(cd "$WORK" && : >"$CALLS" && "$ROOT/infra/bulletproof_deploy.sh" --dry-run --artifacts packaged.yaml dev false false false >"$WORK/out" 2>&1) ||
  { cat "$WORK/out"; fail "dry run with a relative --artifacts failed"; }
grep -q -- "--template-file $WORK/packaged.yaml" "$WORK/out" || { cat "$WORK/out"; fail "relative --artifacts path not resolved"; }
[ ! -s "$CALLS" ] || fail "a dry run called sam or aws: $(cat "$CALLS")"

# 3. code that is not an S3 object (a sam build output, the source template) is refused before anything runs.
packaged "$WORK/local.yaml" s3://artifacts/cloudmind/0a1b2c ../build/LoginFunction
deploy --artifacts "$WORK/local.yaml" dev false false false && fail "a template with local code was deployed"
grep -q "not a packaged template: Fn2Function has CodeUri ../build/LoginFunction" "$WORK/out" || { cat "$WORK/out"; fail "wrong refusal"; }
deploy --artifacts template.yaml dev false false false && fail "the source template was deployed as artifacts"
grep -q "not a packaged template" "$WORK/out" || { cat "$WORK/out"; fail "wrong refusal for template.yaml"; }
deploy --artifacts "$WORK/missing.yaml" dev false false false && fail "a missing file was accepted"
grep -q "no such file" "$WORK/out" || fail "wrong refusal for a missing file"
[ ! -s "$CALLS" ] || fail "a refused run called sam or aws: $(cat "$CALLS")"

# 4. without --artifacts the dry run builds then deploys from the build.
deploy --dry-run dev false false false || { cat "$WORK/out"; fail "dry run failed"; }
grep -q "sam build --config-env dev" "$WORK/out" || fail "the dry run does not show sam build"
grep -q -- "--template-file" "$WORK/out" && fail "a source deploy got --template-file"

# 5. prod still refuses checks switched off, with or without artifacts.
deploy --artifacts "$WORK/packaged.yaml" prod true false true && fail "prod deployed with security checks off"
grep -q "refusing to deploy prod with security_checks switched off" "$WORK/out" || { cat "$WORK/out"; fail "wrong prod refusal"; }
echo "deploy script: --artifacts deploys the packaged template unbuilt, refuses local code; dry runs call nothing"
