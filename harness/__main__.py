import sys

from harness import interrupts

# Before the CLI's imports (a second or more under load): a Ctrl-C in them must be remembered.
interrupts.install()

from harness.cli import main  # noqa: E402

status = main()
# CPython (3.11, measured) remembers a KeyboardInterrupt that escaped code run by exec() of a
# string even after something caught it, and under `python -m` it then kills itself with SIGINT
# at exit instead of returning our status. Hypothesis builds each test's wrapper that way, so a
# SIGTERM landing inside one turned an orderly exit 130 into "killed by SIGINT" (about one run in
# twelve). Any exec() of a string clears that memory; nothing after it can raise.
exec("None")
sys.exit(status)
