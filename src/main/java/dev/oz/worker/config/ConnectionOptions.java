package dev.oz.worker.config;

import io.vertx.core.json.JsonObject;
import java.time.Duration;

/** Keepalive, reconnect and outbox limits of the control-plane connection ({@code connection} in the config). */
public class ConnectionOptions {
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
  private Duration pingInterval = Duration.ofSeconds(30);
  private Duration idleTimeout = Duration.ofSeconds(60);
  private Duration writeTimeout = Duration.ofSeconds(10);
  private Duration handshakeTimeout = Duration.ofSeconds(45);
  private Duration reconnectInitial = Duration.ofSeconds(1);
  private Duration reconnectMax = Duration.ofSeconds(60);
  private int outboxLimit = 10_000;
  private long replayBytes = 16L * 1024 * 1024;
  private Duration closeTimeout = Duration.ofSeconds(30);
  private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;

  void validate() {
    positive("connection.ping_interval", pingInterval);
    positive("connection.idle_timeout", idleTimeout);
    positive("connection.write_timeout", writeTimeout);
    positive("connection.handshake_timeout", handshakeTimeout);
    positive("connection.reconnect_initial", reconnectInitial);
    positive("connection.close_timeout", closeTimeout);
    if (reconnectMax.compareTo(reconnectInitial) < 0) {
      throw new ConfigException("connection.reconnect_max must not be below connection.reconnect_initial");
    }
    if (idleTimeout.compareTo(pingInterval) <= 0) {
      throw new ConfigException("connection.idle_timeout must be longer than connection.ping_interval");
    }
    if (replayBytes < 0) {
      throw new ConfigException("connection.replay_bytes must not be negative, got " + replayBytes);
    }
    if (maxMessageBytes < 64 * 1024) {
      throw new ConfigException("connection.max_message_bytes must be at least 65536, got " + maxMessageBytes);
    }
    if (outboxLimit < 1) {
      throw new ConfigException("connection.outbox_limit must be at least 1, got " + outboxLimit);
    }
  }

  private static void positive(String key, Duration d) {
    if (d.isZero() || d.isNegative()) {
      throw new ConfigException(key + " must be positive");
    }
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  public Duration getPingInterval() {
    return pingInterval;
  }

  public ConnectionOptions setPingInterval(Duration pingInterval) {
    this.pingInterval = pingInterval;
    return this;
  }

  public Duration getIdleTimeout() {
    return idleTimeout;
  }

  public ConnectionOptions setIdleTimeout(Duration idleTimeout) {
    this.idleTimeout = idleTimeout;
    return this;
  }

  public Duration getWriteTimeout() {
    return writeTimeout;
  }

  public ConnectionOptions setWriteTimeout(Duration writeTimeout) {
    this.writeTimeout = writeTimeout;
    return this;
  }

  public Duration getHandshakeTimeout() {
    return handshakeTimeout;
  }

  public ConnectionOptions setHandshakeTimeout(Duration handshakeTimeout) {
    this.handshakeTimeout = handshakeTimeout;
    return this;
  }

  public Duration getReconnectInitial() {
    return reconnectInitial;
  }

  public ConnectionOptions setReconnectInitial(Duration reconnectInitial) {
    this.reconnectInitial = reconnectInitial;
    return this;
  }

  public Duration getReconnectMax() {
    return reconnectMax;
  }

  public ConnectionOptions setReconnectMax(Duration reconnectMax) {
    this.reconnectMax = reconnectMax;
    return this;
  }

  /** Reports kept while disconnected; beyond this the oldest claims/rejections go first, terminal reports never. */
  public int getOutboxLimit() {
    return outboxLimit;
  }

  public ConnectionOptions setOutboxLimit(int outboxLimit) {
    this.outboxLimit = outboxLimit;
    return this;
  }

  /** How long shutdown keeps trying to deliver the last reports (reconnecting if need be) before closing. */
  /**
   * The largest message (and frame) accepted from the control plane, however it is framed; a larger one closes the
   * connection with 1009.
   */
  public int getMaxMessageBytes() {
    return maxMessageBytes;
  }

  public ConnectionOptions setMaxMessageBytes(int maxMessageBytes) {
    this.maxMessageBytes = maxMessageBytes;
    return this;
  }

  public Duration getCloseTimeout() {
    return closeTimeout;
  }

  public ConnectionOptions setCloseTimeout(Duration closeTimeout) {
    this.closeTimeout = closeTimeout;
    return this;
  }

  /**
   * Bytes of the latest terminal reports and log chunks written on a connection that are sent again after it
   * breaks, since a written frame may still have been lost in the socket buffers (0 turns replay off).
   */
  public long getReplayBytes() {
    return replayBytes;
  }

  public ConnectionOptions setReplayBytes(long replayBytes) {
    this.replayBytes = replayBytes;
    return this;
  }
}
