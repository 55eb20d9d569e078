package dev.oz.worker.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads config files, turning syntax errors into messages that name the file, line and column. */
final class ConfigFiles {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  // strict like the Go worker's yaml.v3: 2.9 is not an int, "2" is not a number
  static final ObjectMapper YAML = com.fasterxml.jackson.databind.json.JsonMapper.builder(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .build();

  private ConfigFiles() {
  }

  /** {@code -conf} takes a file path or inline JSON, as the Vert.x launcher does. */
  static JsonObject readConf(String value) {
    String trimmed = value.trim();
    if (trimmed.startsWith("{")) {
      return parseJson("-conf (inline JSON)", trimmed);
    }
    Path path = Path.of(value);
    return parseJson(path.toString(), read(path));
  }

  static String read(Path path) {
    try {
      return Files.readString(path);
    } catch (NoSuchFileException e) {
      throw new ConfigException("config file not found: " + path);
    } catch (IOException e) {
      throw new ConfigException("failed to read config file " + path + ": " + e.getMessage(), e);
    }
  }

  static JsonObject parseJson(String source, String text) {
    JsonNode node;
    try {
      node = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw syntaxError(source, e);
    }
    if (node == null || !node.isObject()) {
      throw new ConfigException(source + ": the configuration must be a JSON object");
    }
    return new JsonObject(node.toString());
  }

  static ConfigException syntaxError(String source, JsonProcessingException e) {
    JsonLocation loc = e.getLocation();
    String where = loc == null ? "" : ": line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    return new ConfigException(source + where + ": " + e.getOriginalMessage(), e);
  }
}
