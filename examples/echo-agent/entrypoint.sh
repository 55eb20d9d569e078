#!/agent/busybox sh
# A stand-in for the Oz agent, mounted at /agent as a sidecar: it runs in any task image because it
# brings its own shell (/agent/busybox). It shows what the worker passed in, then works for a few seconds.
trap 'echo "echo-agent: stopping" >&2; exit 143' TERM INT
echo "echo-agent: started for task ${TASK_ID}"
echo "echo-agent: arguments: $*"
echo "echo-agent: server root: ${WARP_SERVER_ROOT_URL:-unset}"
i=1
while [ "$i" -le "${ECHO_STEPS:-5}" ]; do
  echo "echo-agent: working... step $i of ${ECHO_STEPS:-5}"
  /agent/busybox sleep 1
  i=$((i + 1))
done
echo "echo-agent: done" >&2
exit "${ECHO_EXIT_CODE:-0}"
