package dev.oz.worker.docker;

import dev.oz.worker.protocol.FailureReason;

/** A task phase failed: carries the protocol reason; the message is the cause reported to the control plane. */
final class TaskFailure extends RuntimeException {
  final FailureReason reason;

  TaskFailure(FailureReason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  TaskFailure(FailureReason reason, String message, Throwable cause) {
    super(message, cause, false, false);
    this.reason = reason;
  }
}
