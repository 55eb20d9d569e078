package dev.oz.worker.kubernetes;

/** The shell programs task pods run; POSIX sh, since task and sidecar images are arbitrary. */
final class Scripts {

  /** Loads the setup command's environment file, then hands over to the agent's entrypoint. */
  static final String TASK_WRAPPER = String.join("\n",
      "if [ -f \"$OZ_ENVIRONMENT_FILE\" ]; then",
      "  set -a",
      "  . \"$OZ_ENVIRONMENT_FILE\"",
      "  set +a",
      "fi",
      "",
      "exec /agent/entrypoint.sh \"$@\"");

  private static final String ARCHIVE = String.join(" ",
      "tar",
      "--exclude=./target",
      "--exclude=./proc",
      "--exclude=./sys",
      "--exclude=./dev",
      "--exclude=./.dockerenv",
      "--exclude=./var/run/secrets",
      "--exclude=./run/secrets");

  private static final String EXTRACT = "tar --no-same-owner --no-same-permissions -C " + TaskJobs.COPY_TARGET + " -xf -";

  /** Copies the sidecar image's filesystem into the shared volume (a plain init container). */
  static final String COPY = ARCHIVE + " -C / -cf - . | " + EXTRACT;

  /** Sleeps until SIGTERM, then exits 0, so a native sidecar ends cleanly with its pod. */
  static final String HOLD = String.join("\n",
      "sleeper=\"\"",
      "trap '[ -z \"$sleeper\" ] || kill \"$sleeper\" 2>/dev/null; exit 0' TERM INT",
      "while true; do",
      "  sleep 3600 &",
      "  sleeper=$!",
      "  wait \"$sleeper\"",
      "done");

  /**
   * The copy as a native sidecar (GO-WORKER-NEWER.md section 10): both tar ends joined by a FIFO so that each exit
   * status is checked without pipefail; {@code complete} is written only when both succeeded, which releases the
   * startup probe; a partial copy is wiped before an attempt; a failure leaves {@code failed} (no retry in this pod)
   * and the termination message the worker classifies as {@code sidecar_prep}. A restarted helper never copies over
   * files the task may already use.
   */
  static final String COPY_WITH_READINESS = String.join("\n",
      "state=" + TaskJobs.COPY_STATE,
      "if [ ! -f \"$state/complete\" ]; then",
      "  pack=\"\"",
      "  unpack=\"\"",
      "  on_exit() {",
      "    code=$?",
      "    [ -z \"$pack\" ] || kill \"$pack\" 2>/dev/null",
      "    [ -z \"$unpack\" ] || kill \"$unpack\" 2>/dev/null",
      "    rm -f \"$state/pipe\"",
      "    if [ \"$code\" -ne 0 ] && [ ! -f \"$state/complete\" ]; then",
      "      touch \"$state/failed\"",
      "      echo '" + TaskJobs.COPY_FAILED_MESSAGE + "' > /dev/termination-log",
      "    fi",
      "  }",
      "  trap on_exit EXIT",
      "  trap 'exit 0' TERM INT",
      "  if [ -f \"$state/failed\" ]; then exit 1; fi",
      "  find " + TaskJobs.COPY_TARGET + " -mindepth 1 -maxdepth 1 -exec rm -rf -- {} + || exit 1",
      "  rm -f \"$state/pipe\"",
      "  mkfifo \"$state/pipe\" || exit 1",
      "  " + ARCHIVE + " --exclude=." + TaskJobs.COPY_STATE + " -C / -cf - . > \"$state/pipe\" &",
      "  pack=$!",
      "  " + EXTRACT + " < \"$state/pipe\" &",
      "  unpack=$!",
      "  wait \"$unpack\" || exit 1",
      "  unpack=\"\"",
      "  wait \"$pack\" || exit 1",
      "  pack=\"\"",
      "  rm -f \"$state/pipe\"",
      "  touch \"$state/complete\" || exit 1",
      "fi",
      HOLD);

  private Scripts() {
  }
}
