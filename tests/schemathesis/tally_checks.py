"""Schemathesis hooks for Tally: strategies for its custom scalars, and the checks that make a
run fail. A GraphQL error a client caused (NOT_FOUND, BAD_USER_INPUT, …) is a right answer
here; what may never appear is an HTTP 5xx or an INTERNAL error (an unexpected failure, whose
cause is in the server log under the answer's requestId)."""
from hypothesis import strategies as st

import schemathesis
from schemathesis.graphql import nodes

# Decimal strings as Tally reads them (up to 4 decimals), and some it must refuse cleanly.
DECIMALS = st.one_of(
    st.decimals(min_value=-10**12, max_value=10**12, places=4, allow_nan=False).map(str),
    st.text(max_size=30),
)
schemathesis.graphql.scalar("Decimal", DECIMALS.map(nodes.String))
schemathesis.graphql.scalar(
    "Date", st.one_of(st.dates().map(str), st.text(max_size=12)).map(nodes.String)
)
schemathesis.graphql.scalar(
    "DateTime", st.datetimes().map(lambda at: at.isoformat() + "Z").map(nodes.String)
)
schemathesis.graphql.scalar("JSON", st.text(max_size=30).map(nodes.String))


@schemathesis.check
def no_server_error_status(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    return None


@schemathesis.check
def no_internal_error(ctx, response, case):
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL":
            raise AssertionError(f"INTERNAL error (requestId {error['extensions'].get('requestId')})")
    return None
