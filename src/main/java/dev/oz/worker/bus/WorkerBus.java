package dev.oz.worker.bus;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.util.UUID;

/**
 * The event bus as one worker instance sees it: addresses are prefixed per instance and records travel
 * through a codec registered under an instance-specific name, so two workers in one Vert.x never see each
 * other's messages and undeploying one unregisters only its own codec.
 */
public final class WorkerBus {
  /** Requests here wait for things like "this log chunk was written", which can take as long as a disconnect. */
  private static final long NO_TIMEOUT_MS = Long.MAX_VALUE / 4;

  private final EventBus eventBus;
  private final String prefix;
  private final String codecName;
  private final DeliveryOptions delivery;
  private final DeliveryOptions untimedDelivery;

  private WorkerBus(EventBus eventBus, String instanceId) {
    this.eventBus = eventBus;
    this.prefix = "oz.worker." + instanceId + ".";
    this.codecName = "oz.worker.local." + instanceId;
    this.delivery = new DeliveryOptions().setCodecName(codecName).setLocalOnly(true);
    this.untimedDelivery = new DeliveryOptions(delivery).setSendTimeout(NO_TIMEOUT_MS);
  }

  /** Registers this instance's codec; {@link #close()} removes it. */
  public static WorkerBus create(Vertx vertx) {
    WorkerBus bus = new WorkerBus(vertx.eventBus(), UUID.randomUUID().toString());
    vertx.eventBus().registerCodec(new LocalCodec(bus.codecName));
    return bus;
  }

  public String address(String name) {
    return prefix + name;
  }

  public void send(String name, Object message) {
    eventBus.send(address(name), message, delivery);
  }

  public void publish(String name, Object message) {
    eventBus.publish(address(name), message, delivery);
  }

  /** Request with the default 30 s reply timeout. */
  public <T> Future<T> request(String name, Object message) {
    return eventBus.<T>request(address(name), message, delivery).map(Message::body);
  }

  /** Request whose reply may legitimately take arbitrarily long. */
  public <T> Future<T> requestUntimed(String name, Object message) {
    return eventBus.<T>request(address(name), message, untimedDelivery).map(Message::body);
  }

  /** Replies with a record through this instance's codec. */
  public void reply(Message<?> request, Object reply) {
    request.reply(reply, delivery);
  }

  public <T> MessageConsumer<T> consumer(String name, Handler<Message<T>> handler) {
    return eventBus.localConsumer(address(name), handler);
  }

  public void close() {
    eventBus.unregisterCodec(codecName);
  }
}
