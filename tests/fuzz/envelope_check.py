"""A schemathesis check, loaded by `st run` through SCHEMATHESIS_HOOKS (see test_schemathesis)."""

from __future__ import annotations

import schemathesis
from schemathesis import Case, CheckContext, Response


@schemathesis.check
def fate_envelope(ctx: CheckContext, response: Response, case: Case) -> bool:
    """Every JSON answer is FATE's envelope: an object with an integer retcode and a retmsg."""
    if not response.headers.get("content-type", [""])[0].startswith("application/json"):
        return True
    body = response.json()
    assert isinstance(body, dict), f"not an object: {body!r}"
    assert type(body.get("retcode")) is int, f"no integer retcode: {body!r}"
    assert isinstance(body.get("retmsg"), str), f"no string retmsg: {body!r}"
    # What the gateway and the core answer to an exception they did not expect: a bug,
    # whatever the input.
    assert "internal error" not in body["retmsg"], body["retmsg"]
    return True
