#!/bin/sh
# Test agent: records how it was started, then runs $TEST_SCRIPT (from the task's env_vars).
echo "args: $*"
echo "cwd: $(pwd)"
if [ -n "$TEST_SCRIPT" ]; then
  exec sh -c "$TEST_SCRIPT"
fi
