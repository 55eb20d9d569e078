package dev.oz.worker.backend;

/** Which output of a task a chunk came from; the names are the protocol's {@code stream} values. */
public enum StdStream {
  STDOUT("stdout"),
  STDERR("stderr");

  private final String wireName;

  StdStream(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }
}
