package dev.oz.worker.logs;

import java.util.List;

/** Lifecycle -> log streaming: a task starts; the reply is its {@link TaskOutput}. */
public record OpenTaskLog(String taskId, String executionId, List<String> secrets) {
  @Override
  public String toString() {
    return "OpenTaskLog[taskId=" + taskId + ", secrets=" + secrets.size() + "]";
  }
}
