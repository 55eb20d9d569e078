package dev.oz.worker.protocol;

/** An inbound frame that cannot be used; the message says what was wrong with it. */
public class ProtocolException extends Exception {
  private final String assignmentTaskId;

  public ProtocolException(String message) {
    this(message, (String) null);
  }

  /** An assignment whose {@code task_id} could be read but that is unusable otherwise. */
  public ProtocolException(String message, String assignmentTaskId) {
    super(message);
    this.assignmentTaskId = assignmentTaskId;
  }

  /** The task id of a broken assignment (so it can be rejected rather than left hanging), or null. */
  public String assignmentTaskId() {
    return assignmentTaskId;
  }
}
