package dev.oz.worker.testing;

import dev.oz.worker.backend.OutputOrigin;
import dev.oz.worker.backend.SetupEvent;
import dev.oz.worker.backend.StdStream;
import dev.oz.worker.backend.TaskOutput;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A task's output as the control plane would get it: what it printed, in order, its setup events, whether it ended. */
public final class RecordedOutput implements TaskOutput {
  public final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  public final List<SetupEvent> events = new ArrayList<>();
  /** Which pod and container (or container) each write named (the shipped log's labels). */
  public final Set<OutputOrigin> origins = ConcurrentHashMap.newKeySet();
  public volatile boolean ended;

  @Override
  public boolean wantsOutput() {
    return true;
  }

  @Override
  public synchronized boolean write(StdStream stream, byte[] b, int offset, int length) {
    bytes.write(b, offset, length);
    return true;
  }

  @Override
  public boolean write(OutputOrigin origin, StdStream stream, byte[] b, int offset, int length) {
    origins.add(origin);
    return write(stream, b, offset, length);
  }

  @Override
  public void end() {
    ended = true;
  }

  @Override
  public synchronized void setupEvent(SetupEvent event) {
    events.add(event);
  }

  public synchronized String text() {
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
