package dev.oz.worker.controlplane;

import dev.oz.worker.bus.Addresses;
import dev.oz.worker.bus.ShutdownCoordinator;
import dev.oz.worker.bus.WorkerBus;
import dev.oz.worker.config.WorkerOptions;
import dev.oz.worker.metrics.WorkerMetrics;
import dev.oz.worker.protocol.TaskLogFrame;
import dev.oz.worker.protocol.WorkerMessage;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Instant;

/**
 * The worker's side of the control plane, on one event loop: the socket, its decoding and encoding, keepalive,
 * backoff and the outbox. Server messages go to {@link Addresses#INBOUND}; reports arrive on {@link Addresses#OUTBOUND}
 * (the reply says the report is in the outbox) and log chunks on {@link Addresses#OUTBOUND_LOG} (the reply says the
 * chunk reached the socket). It connects as soon as it is deployed, so it is deployed last, and it closes last: after
 * every task is reported and every log flushed.
 */
public final class ControlPlaneVerticle extends VerticleBase {
  private final WorkerOptions options;
  private final String version;
  private final WorkerMetrics metrics;
  private final WorkerBus bus;
  private final ShutdownCoordinator shutdown;
  private ControlPlaneConnection connection;

  public ControlPlaneVerticle(WorkerOptions options, String version, WorkerMetrics metrics, WorkerBus bus,
      ShutdownCoordinator shutdown) {
    this.options = options;
    this.version = version;
    this.metrics = metrics;
    this.bus = bus;
    this.shutdown = shutdown;
  }

  @Override
  public Future<?> start() {
    connection = new ControlPlaneConnection(vertx, options, version, metrics, new ControlPlaneConnection.Listener() {
      @Override
      public void onMessage(dev.oz.worker.protocol.ServerMessage message) {
        bus.send(Addresses.INBOUND, message);
      }

      @Override
      public void onConnectionChange(boolean connected) {
        bus.publish(Addresses.CONNECTION, new ConnectionState(connected, Instant.now()));
      }
    });
    bus.<WorkerMessage>consumer(Addresses.OUTBOUND, msg -> {
      connection.send(msg.body());
      msg.reply(null); // queued, and written already when connected and nothing is ahead of it
    });
    bus.<TaskLogFrame>consumer(Addresses.OUTBOUND_LOG, msg -> connection.sendLog(msg.body()).onComplete(ar -> {
      if (ar.succeeded()) {
        msg.reply(null);
      } else {
        msg.fail(1, ar.cause().getMessage());
      }
    }));
    connection.start();
    return Future.succeededFuture();
  }

  /** Once every task has its report queued and the logs are flushed: deliver what is left, then close with 1000. */
  @Override
  public Future<?> stop() {
    return Future.join(shutdown.tasksDrained(context), shutdown.logsFlushed(context))
        .transform(ar -> connection.close(options.getConnection().getCloseTimeout().toMillis()))
        .onComplete(ar -> shutdown.markConnectionClosed());
  }
}
