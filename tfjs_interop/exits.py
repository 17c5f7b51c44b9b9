"""The command line's exit statuses beyond 0, 1 and 2, as a shell reports a process its signal ended."""

EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE
INTERRUPTED = "tfjs-interop: interrupted"  # what an interrupted command says on stderr
