"""The server's default limits on requests (one home for the application and the command line; no HTTP stack)."""

DEFAULT_MAX_REQUEST_BYTES = 16 << 20  # larger request bodies get 413
BODY_SECONDS = 60.0  # a request's body must arrive within this (408 after): a stalled upload holds its bytes
