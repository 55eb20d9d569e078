package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oz.worker.config.ConfigJson;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A {@code docker} block without keys gives, without the JSON binder, exactly what the binder gives. */
class DockerOptionsDefaultsTest {

  @Test
  void noKeysGiveTheBindersDefaults() {
    DockerOptions direct = DockerOptions.fromJson(new JsonObject(), Map.of());
    DockerOptions bound = ConfigJson.read(new JsonObject(), DockerOptions.class, DockerBackendFactory.NAME, Map.of());
    assertEquals(bound.toJson(), direct.toJson());
    assertEquals(ContainerPolicy.read(new JsonObject()), direct.getPolicy());
    assertEquals(bound.getPullPolicy(), direct.getPullPolicy());
  }
}
