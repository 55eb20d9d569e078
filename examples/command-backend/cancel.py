#!/usr/bin/env python3
"""Cancel command for the worker's "command" backend: cancels what dispatch.py handed off.

The worker runs it when the control plane cancels a task, with OZ_RUN_ID, OZ_EXECUTION_ID and OZ_WORKER_BACKEND
set. It looks up the remote task dispatch.py recorded for OZ_RUN_ID and asks the runtime to cancel it
(POST <OZ_DISPATCH_URL>/<remote id>/cancel). A run that was never handed off, or has already finished, is not an
error. Same environment as dispatch.py.
"""

import os
import sys
import urllib.error
import urllib.request

from dispatch import state_dir


def main():
    url = os.environ.get("OZ_DISPATCH_URL")
    run_id = os.environ.get("OZ_RUN_ID")
    if not url or not run_id:
        sys.stderr.write("cancel: OZ_DISPATCH_URL and OZ_RUN_ID must be set\n")
        return 2
    record = os.path.join(state_dir(), run_id)
    try:
        with open(record, encoding="utf-8") as f:
            remote_id = f.read().strip()
    except FileNotFoundError:
        print(f"cancel: run {run_id} was not handed off here; nothing to cancel")
        return 0

    request = urllib.request.Request(f"{url.rstrip('/')}/{remote_id}/cancel", data=b"", method="POST")
    key = os.environ.get("OZ_DISPATCH_API_KEY")
    if key:
        request.add_header("Authorization", "Bearer " + key)
    timeout = float(os.environ.get("OZ_DISPATCH_TIMEOUT_SECS", "30"))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 409:
            print(f"cancel: {remote_id} has already finished")
        else:
            sys.stderr.write(f"cancel: HTTP {exc.code}: {exc.read().decode('utf-8', 'replace')}\n")
            return 1
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"cancel: cannot reach {url}: {exc}\n")
        return 1
    os.remove(record)
    print(f"cancel: asked the runtime to cancel {remote_id} (run {run_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
