package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonTypeName;

/** A message of either direction: the {@code data} of an envelope whose {@code type} is the record's {@link JsonTypeName}. */
public sealed interface ProtocolMessage permits ServerMessage, WorkerMessage {
  String taskId();

  /** The envelope's {@code type}. */
  default String type() {
    return getClass().getAnnotation(JsonTypeName.class).value();
  }
}
