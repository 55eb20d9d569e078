package dev.oz.worker.protocol;

/** An inbound frame that cannot be used; the message says what was wrong with it. */
public class ProtocolException extends Exception {
  public ProtocolException(String message) {
    super(message);
  }

  public ProtocolException(String message, Throwable cause) {
    super(message, cause);
  }
}
