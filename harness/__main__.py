import sys

from harness import interrupts

# Before the CLI's imports (a second or more under load): a Ctrl-C in them must be remembered.
interrupts.install()

try:
    from harness.cli import main

    status = main()
except KeyboardInterrupt:
    # A stop request that came before main() had its own handling (during the imports, or
    # while it builds its parser; measured: SIGTERM 0.09 s after the start, under load):
    # nothing has started, so the run ends as interrupted (130, results.EXIT_INTERRUPTED, not
    # imported here: it is one of those imports). Uncaught, Python would kill itself with
    # SIGINT, and a SIGTERM would read as a Ctrl-C (exit -2).
    status = 130
# CPython (3.11, measured) remembers a KeyboardInterrupt that escaped code run by exec() of a
# string even after something caught it, and under `python -m` it then kills itself with SIGINT
# at exit instead of returning our status. Hypothesis builds each test's wrapper that way, so a
# SIGTERM landing inside one turned an orderly exit 130 into "killed by SIGINT" (about one run in
# twelve). Any exec() of a string clears that memory; nothing after it can raise.
exec("None")
sys.exit(status)
