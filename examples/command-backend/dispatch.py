#!/usr/bin/env python3
"""Dispatch command for the worker's "command" backend: hands each task to another control plane's HTTP API.

The worker runs this once per task with the task's JSON payload on stdin (see ../../README.md, "The command
backend"). It turns the payload into a submission for the local control plane's API (`java -jar worker-fat.jar
dev`, POST /api/v1/tasks), where a worker of that plane (e.g. with the Docker backend) runs it. Replace
transform() to speak to your own runtime; keep the exit-code contract:

  exit 0   the runtime accepted the task: it runs there and reports on its own (the worker sends no report)
  exit !=0 the hand-off failed: the worker fails the task (failure_reason dispatch_command)

Environment (only the Python standard library is needed):
  OZ_DISPATCH_URL         required: the tasks endpoint, e.g. http://127.0.0.1:8081/api/v1/tasks
  OZ_DISPATCH_API_KEY     the runtime's key, sent as "Authorization: Bearer <key>"
  OZ_DISPATCH_STATE_DIR   where the remote task id of each run is kept for cancel.py
                          (default: $TMPDIR/oz-command-backend)
  OZ_DISPATCH_TIMEOUT_SECS  HTTP timeout in seconds (default 30)
Set by the worker: OZ_RUN_ID, OZ_EXECUTION_ID, OZ_WORKER_BACKEND, OZ_SERVER_ROOT_URL, OZ_DOCKER_IMAGE (and the
same as WARP_*). Task secrets are only in the payload, never in this process's environment or arguments.
"""

import json
import os
import sys
import tempfile
import urllib.error
import urllib.request

# Set by the worker for every task; the runtime sets its own.
WORKER_SET = {"TASK_ID", "GIT_TERMINAL_PROMPT", "GH_PROMPT_DISABLED", "WARP_SERVER_ROOT_URL"}


def state_dir():
    return os.environ.get("OZ_DISPATCH_STATE_DIR") or os.path.join(tempfile.gettempdir(), "oz-command-backend")


def transform(payload):
    """The worker's payload (version 1) as a submission for the local control plane's API."""
    task = payload.get("task") or {}
    prompt = (task.get("task_definition") or {}).get("prompt") or task.get("title") or payload["run_id"]
    env = {k: v for k, v in (payload.get("env") or {}).items() if k not in WORKER_SET}
    env["OZ_DISPATCHED_RUN_ID"] = payload["run_id"]
    body = {"prompt": prompt, "title": task.get("title") or prompt, "image": payload.get("docker_image", ""),
            "env": env}
    for sidecar in payload.get("sidecars") or []:
        if sidecar.get("mount_path") == "/agent":
            body["sidecar_image"] = sidecar.get("image", "")
    return body


def main():
    url = os.environ.get("OZ_DISPATCH_URL")
    if not url:
        sys.stderr.write("dispatch: OZ_DISPATCH_URL must be set\n")
        return 2
    try:
        payload = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        sys.stderr.write(f"dispatch: invalid payload on stdin: {exc}\n")
        return 1
    if payload.get("version") != 1:
        sys.stderr.write(f"dispatch: unsupported payload version {payload.get('version')!r}\n")
        return 1

    request = urllib.request.Request(url, data=json.dumps(transform(payload)).encode("utf-8"), method="POST")
    request.add_header("Content-Type", "application/json")
    key = os.environ.get("OZ_DISPATCH_API_KEY")
    if key:
        request.add_header("Authorization", "Bearer " + key)
    timeout = float(os.environ.get("OZ_DISPATCH_TIMEOUT_SECS", "30"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            remote = json.load(response)
    except urllib.error.HTTPError as exc:
        sys.stderr.write(f"dispatch: {url} answered HTTP {exc.code}: {exc.read().decode('utf-8', 'replace')}\n")
        return 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        sys.stderr.write(f"dispatch: cannot reach {url}: {exc}\n")
        return 1

    remote_id = remote.get("task_id")
    if not remote_id:
        sys.stderr.write(f"dispatch: no task_id in the answer: {remote}\n")
        return 1
    os.makedirs(state_dir(), exist_ok=True)
    with open(os.path.join(state_dir(), payload["run_id"]), "w", encoding="utf-8") as f:
        f.write(remote_id)
    print(f"dispatched run {payload['run_id']} as {remote_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
