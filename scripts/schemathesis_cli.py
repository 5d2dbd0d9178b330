"""schemathesis's command line, with one workaround.

CPython 3.11 before 3.11.9 can raise `SystemError: AST constructor recursion depth mismatch` from `ast.parse` in a
worker thread; Hypothesis calls `ast.parse` only to describe a lambda in a strategy's repr, and schemathesis then
reports a "Runtime Error" for an operation that it did test. The description is cosmetic, so a failure to make it
falls back to a plain `lambda` and the run goes on; nothing else is changed.
"""

import re
import sys

import hypothesis.internal.lambda_sources as lambda_sources

_describe = lambda_sources.lambda_description


def _describe_or_plain(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda"


lambda_sources.lambda_description = _describe_or_plain

from schemathesis.cli import schemathesis  # noqa: E402  (after the patch)

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(schemathesis())
