package dev.oz.worker.docker;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.IOException;
import java.util.function.Supplier;

/**
 * The engine's HTTP client, with a pool that can be replaced. docker-java's Apache client never validates pooled
 * connections, so after an engine restart every idle one is dead and the next calls on them fail ("Broken pipe");
 * {@link #renew()} on the engine's return starts from fresh connections.
 */
final class RenewableHttpClient implements DockerHttpClient {
  private final Supplier<DockerHttpClient> factory;
  private volatile DockerHttpClient current;

  RenewableHttpClient(Supplier<DockerHttpClient> factory) {
    this.factory = factory;
    this.current = factory.get();
  }

  @Override
  public Response execute(Request request) {
    return current.execute(request);
  }

  /** New calls get fresh connections; the old pool is closed (its connections died with the engine). */
  void renew() {
    DockerHttpClient old = current;
    current = factory.get();
    closeQuietly(old);
  }

  @Override
  public void close() throws IOException {
    current.close();
  }

  private static void closeQuietly(DockerHttpClient client) {
    try {
      client.close();
    } catch (IOException | RuntimeException ignored) {
      // its connections are gone anyway
    }
  }
}
