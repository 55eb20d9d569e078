package dev.oz.worker.testing;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import java.util.List;
import java.util.Map;

/**
 * The real Docker engine for integration tests. Missing engine or test images fail the test (never a
 * skip): run {@code bash .ci/test}, which starts the engine and builds the images.
 */
public final class Engine {
  public static final String BUSYBOX = "oz-test/busybox:latest";
  public static final String BUSYBOX_ARM64 = "oz-test/busybox-arm64:latest";
  public static final String AGENT = "oz-test/agent:latest";
  public static final String SIDECAR = "oz-test/sidecar:latest";
  public static final String JRE = "oz-test/jre:latest";

  private static DockerClient client;

  private Engine() {
  }

  public static synchronized DockerClient docker() {
    if (client == null) {
      DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder().build();
      DockerClient c = DockerClientImpl.getInstance(config,
          new ApacheDockerHttpClient.Builder().dockerHost(config.getDockerHost()).sslConfig(config.getSSLConfig()).build());
      try {
        c.pingCmd().exec();
      } catch (RuntimeException e) {
        throw new AssertionError("Docker engine not reachable (" + e.getMessage() + "): run the tests with `bash .ci/test`,"
            + " which starts the engine and builds the test images", e);
      }
      for (String image : List.of(BUSYBOX, BUSYBOX_ARM64, AGENT, SIDECAR, JRE)) {
        try {
          c.inspectImageCmd(image).exec();
        } catch (RuntimeException e) {
          throw new AssertionError("test image " + image + " missing: run `bash src/test/docker/build-images.sh`", e);
        }
      }
      client = c;
    }
    return client;
  }

  /** Containers of a worker id, running or not. */
  public static List<Container> containersOf(String workerId) {
    return docker().listContainersCmd().withShowAll(true).withLabelFilter(Map.of("oz.worker.id", workerId)).exec();
  }

  public static void removeContainersOf(String workerId) {
    for (Container c : containersOf(workerId)) {
      try {
        docker().removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
      } catch (RuntimeException ignored) {
        // already gone
      }
    }
  }

  public static void removeVolume(String name) {
    try {
      docker().removeVolumeCmd(name).exec();
    } catch (RuntimeException ignored) {
      // not there
    }
  }
}
