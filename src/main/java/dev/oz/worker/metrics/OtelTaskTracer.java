package dev.oz.worker.metrics;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;

/** {@link TaskTracer} on the OpenTelemetry SDK: span {@code oz_worker.task}, names and attributes as the Go worker's. */
final class OtelTaskTracer implements TaskTracer {
  private static final AttributeKey<String> TASK_ID = AttributeKey.stringKey("task.id");

  private final Tracer tracer;
  private final String workerId;
  private final String backend;

  OtelTaskTracer(Tracer tracer, String workerId, String backend) {
    this.tracer = tracer;
    this.workerId = workerId;
    this.backend = backend;
  }

  @Override
  public TaskSpan assigned(String taskId, String title) {
    // a root span: the worker's own context has no trace to join
    Span span = tracer.spanBuilder("oz_worker.task").setParent(Context.root())
        .setAttribute(TASK_ID, taskId)
        .setAttribute("task.title", title == null ? "" : title)
        .startSpan();
    span.addEvent("task.assigned", Attributes.of(AttributeKey.stringKey("worker.id"), workerId,
        AttributeKey.stringKey("worker.backend"), backend, TASK_ID, taskId));
    return new OtelTaskSpan(span, taskId);
  }

  private static final class OtelTaskSpan implements TaskSpan {
    private final Span span;
    private final String taskId;

    OtelTaskSpan(Span span, String taskId) {
      this.span = span;
      this.taskId = taskId;
    }

    @Override
    public void rejected(String reason) {
      span.addEvent("task.rejected", Attributes.of(AttributeKey.stringKey("reason"), reason));
      span.end();
    }

    @Override
    public void claimed() {
      span.addEvent("task.claimed");
    }

    @Override
    public void started(String backend, String image) {
      span.addEvent("task.started");
      span.addEvent("backend.started", Attributes.of(AttributeKey.stringKey("backend"), backend,
          AttributeKey.stringKey("docker.image"), image));
    }

    @Override
    public void cancellationRequested(String source) {
      span.addEvent("task.cancellation_requested", Attributes.of(AttributeKey.stringKey("source"), source,
          TASK_ID, taskId));
    }

    @Override
    public void completed() {
      span.addEvent("task.completed");
      span.setStatus(StatusCode.OK);
    }

    @Override
    public void cancelled() {
      span.addEvent("task.cancelled", Attributes.of(AttributeKey.stringKey("source"), "user"));
      span.setStatus(StatusCode.OK);
    }

    @Override
    public void failed(String phase, String reason, String cause) {
      String message = cause == null ? "" : cause;
      span.addEvent("task.failed", Attributes.of(AttributeKey.stringKey("failure.phase"), phase,
          AttributeKey.stringKey("failure.reason"), reason, AttributeKey.stringKey("error.message"), message));
      // what the Go worker's RecordError adds: the semantic-convention exception event
      span.addEvent("exception", Attributes.of(AttributeKey.stringKey("exception.message"), message));
      span.setStatus(StatusCode.ERROR, reason);
    }

    @Override
    public void end() {
      span.end();
    }
  }
}
