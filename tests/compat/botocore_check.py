"""Checks SageMaker bodies against Debian's botocore service model (python3-botocore 1.29.27).

`validate_requests(entries)` runs botocore's own client-side validation
(`botocore.validate.validate_parameters`) on each request body the sandbox logged
(`GET /_admin/sagemaker/requests` -> {"requests": [{"operation", "body", ...}]}), exactly as
boto3 would before sending it: missing required members (also nested), wrong JSON types (an
integer sent as 1.0 or "1"), unknown members, minimum lengths/values. It returns a list of
problems (empty = every body is one boto3 itself would have sent).

`validate_response(operation, body)` applies the same validator to a raw response body with the
operation's OUTPUT shape: a member the model does not know, a wrong type or a missing required
member is what a strict SDK (Java, Go) would trip over although botocore's parser is lenient.

Run with /usr/bin/python3: plain `python3` may be another interpreter with another botocore.
"""

import botocore
import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

BOTOCORE_VERSION = botocore.__version__

_model = None


def service_model():
    global _model
    if _model is None:
        _model = botocore.session.get_session().get_service_model("sagemaker")
    return _model


def _operation(name):
    try:
        return service_model().operation_model(name)
    except Exception:  # botocore raises OperationNotFoundError; keep the check total
        return None


def _check(params, shape):
    try:
        validate_parameters(params, shape)
    except ParamValidationError as err:
        return str(err)
    return None


def validate_request(operation, body):
    """Problems (list of str) of one request body; [] when botocore accepts it."""
    op = _operation(operation)
    if op is None:
        return ["%s: not an operation of botocore %s's SageMaker model"
                % (operation, BOTOCORE_VERSION)]
    if op.input_shape is None:
        return [] if not body else ["%s: takes no input, got %r" % (operation, body)]
    problem = _check(body if body is not None else {}, op.input_shape)
    return [] if problem is None else ["%s %s: %s" % (operation, _short(body), problem)]


def validate_requests(entries):
    """entries: [{"operation": ..., "body": {...}}, ...] or [(operation, body), ...]."""
    problems = []
    for entry in entries or []:
        if isinstance(entry, dict):
            operation, body = entry.get("operation"), entry.get("body")
            if entry.get("truncated"):
                problems.append("%s: body of %s bytes too large for the sandbox's request log"
                                % (operation, entry.get("bodyBytes")))
                continue
        else:
            operation, body = entry
        problems.extend(validate_request(operation, body))
    return problems


def validate_response(operation, body):
    """Problems of a raw (JSON-decoded) response body against the operation's output shape."""
    op = _operation(operation)
    if op is None:
        return ["%s: not an operation of the model" % operation]
    if op.output_shape is None:
        return [] if not body else ["%s: has no output, got %r" % (operation, _short(body))]
    problem = _check(body, op.output_shape)
    return [] if problem is None else ["%s response: %s" % (operation, problem)]


def _short(value, limit=300):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
