package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonGetter;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSetter;
import io.vertx.core.json.JsonObject;
import java.time.Duration;

/** Live streaming of task output to the control plane as {@code task_log} messages ({@code logs} in the config). */
public class LogStreamOptions {
  public static final int DEFAULT_CHUNK_BYTES = 64 * 1024;
  /** Larger chunks risk the control plane's message size limit (a frame it refuses would be resent forever). */
  public static final int MAX_CHUNK_BYTES = 1024 * 1024;
  public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofMillis(250);
  public static final long DEFAULT_BUFFER_BYTES = 4L * 1024 * 1024;
  public static final long DEFAULT_MAX_BYTES_PER_TASK = 64L * 1024 * 1024;
  /** The Go worker's batch interval and flush bound for a task's log shipped to its OTLP collector. */
  public static final Duration DEFAULT_SHIPPED_BATCH_INTERVAL = Duration.ofSeconds(5);
  public static final Duration DEFAULT_SHIPPED_FLUSH_TIMEOUT = Duration.ofSeconds(5);

  /** null is "auto": on, except towards hosted Oz, which does not announce support for {@code task_log}. */
  private transient Boolean stream;
  /** What "auto" came to for the endpoint, set by validation; the configured value above stays "auto". */
  transient boolean autoStream = true;
  private int chunkBytes = DEFAULT_CHUNK_BYTES;
  private Duration flushInterval = DEFAULT_FLUSH_INTERVAL;
  private long bufferBytes = DEFAULT_BUFFER_BYTES;
  private long maxBytesPerTask = DEFAULT_MAX_BYTES_PER_TASK;
  private Duration shippedBatchInterval = DEFAULT_SHIPPED_BATCH_INTERVAL;
  private Duration shippedFlushTimeout = DEFAULT_SHIPPED_FLUSH_TIMEOUT;

  void validate() {
    if (chunkBytes < 1024 || chunkBytes > MAX_CHUNK_BYTES) {
      throw new ConfigException("logs.chunk_bytes must be between 1024 and " + MAX_CHUNK_BYTES + ", got " + chunkBytes);
    }
    if (flushInterval.toMillis() < 1) {
      throw new ConfigException("logs.flush_interval must be at least 1ms");
    }
    if (bufferBytes < chunkBytes) {
      throw new ConfigException("logs.buffer_bytes (" + bufferBytes + ") must be at least logs.chunk_bytes (" + chunkBytes + ")");
    }
    if (maxBytesPerTask < 1) {
      throw new ConfigException("logs.max_bytes_per_task must be positive, got " + maxBytesPerTask);
    }
    if (shippedBatchInterval.toMillis() < 1) {
      throw new ConfigException("logs.shipped_batch_interval must be at least 1ms");
    }
    if (shippedFlushTimeout.toMillis() < 1) {
      throw new ConfigException("logs.shipped_flush_timeout must be at least 1ms");
    }
  }

  public JsonObject toJson() {
    return ConfigJson.toJson(this);
  }

  @JsonGetter("stream")
  private Object streamSetting() {
    return stream == null ? "auto" : stream;
  }

  @JsonSetter("stream")
  private void streamSetting(Object value) {
    if (!"auto".equals(value) && !(value instanceof Boolean)) {
      throw ConfigJson.refuse("true, false or \"auto\"", value);
    }
    stream = value instanceof Boolean b ? b : null;
  }

  /** Whether task output is streamed; "auto" counts as on until {@link #resolveStream} decided it. */
  public boolean isStream() {
    return stream != null ? stream : autoStream;
  }

  /** true, false, or null for "auto". */
  public Boolean getStream() {
    return stream;
  }

  @JsonIgnore // the setting is also "auto" (see streamSetting)
  public LogStreamOptions setStream(Boolean stream) {
    this.stream = stream;
    return this;
  }

  /** Settles "auto" for the endpoint the worker connects to. */
  void resolveStream(boolean hostedEndpoint) {
    autoStream = !hostedEndpoint;
  }

  public int getChunkBytes() {
    return chunkBytes;
  }

  public LogStreamOptions setChunkBytes(int chunkBytes) {
    this.chunkBytes = chunkBytes;
    return this;
  }

  public Duration getFlushInterval() {
    return flushInterval;
  }

  public LogStreamOptions setFlushInterval(Duration flushInterval) {
    this.flushInterval = flushInterval;
    return this;
  }

  public long getBufferBytes() {
    return bufferBytes;
  }

  public LogStreamOptions setBufferBytes(long bufferBytes) {
    this.bufferBytes = bufferBytes;
    return this;
  }

  public long getMaxBytesPerTask() {
    return maxBytesPerTask;
  }

  public LogStreamOptions setMaxBytesPerTask(long maxBytesPerTask) {
    this.maxBytesPerTask = maxBytesPerTask;
    return this;
  }

  public Duration getShippedBatchInterval() {
    return shippedBatchInterval;
  }

  public LogStreamOptions setShippedBatchInterval(Duration shippedBatchInterval) {
    this.shippedBatchInterval = shippedBatchInterval;
    return this;
  }

  public Duration getShippedFlushTimeout() {
    return shippedFlushTimeout;
  }

  public LogStreamOptions setShippedFlushTimeout(Duration shippedFlushTimeout) {
    this.shippedFlushTimeout = shippedFlushTimeout;
    return this;
  }
}
