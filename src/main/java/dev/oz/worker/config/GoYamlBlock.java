package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.core.filter.FilteringParserDelegate;
import com.fasterxml.jackson.core.filter.JsonPointerBasedFilter;
import com.fasterxml.jackson.core.filter.TokenFilter;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A part of the Go worker's YAML file (the whole file, or a backend's {@code backend.<name>} block), bound strictly:
 * an unknown key is an error that names the key, where it sits, its line and the keys valid there.
 */
public final class GoYamlBlock {
  private final Path file;
  private final String text;
  private final List<String> path;

  GoYamlBlock(Path file, String text, List<String> path) {
    this.file = file;
    this.text = text;
    this.path = List.copyOf(path);
  }

  /**
   * Binds this block to {@code type}'s schema (Jackson annotations); unknown keys are errors. Read from the file's text
   * (not from a tree), so that every error knows its line.
   */
  public <T> T bind(Class<T> type) {
    try (JsonParser parser = parser()) {
      return ConfigFiles.YAML.readValue(parser, type);
    } catch (UnrecognizedPropertyException e) {
      throw unknownKey(e);
    } catch (JsonProcessingException e) {
      throw ConfigFiles.syntaxError(file.toString(), e);
    } catch (IOException e) {
      throw new ConfigException(file + ": " + e.getMessage(), e);
    }
  }

  private JsonParser parser() throws IOException {
    JsonParser whole = ConfigFiles.YAML.getFactory().createParser(text);
    if (path.isEmpty()) {
      return whole;
    }
    return new FilteringParserDelegate(whole, new JsonPointerBasedFilter(pointer(path)),
        TokenFilter.Inclusion.ONLY_INCLUDE_ALL, false);
  }

  /** An entry of a Go YAML {@code environment} list: {@code {name, value?}}. */
  public record EnvVar(@JsonProperty(value = "name", required = true) String name,
      @JsonProperty("value") String value) {
  }

  /**
   * This block's {@code environment} list as the JSON entries of the backend's block, each checked as
   * {@link EnvEntry#fromJson} checks it, with its place in the YAML file in the message.
   */
  public JsonArray environment(List<EnvVar> entries, Map<String, String> hostEnv) {
    JsonArray env = new JsonArray();
    for (int i = 0; i < entries.size(); i++) {
      EnvVar e = entries.get(i);
      JsonObject entry = new JsonObject().put("name", e.name());
      if (e.value() != null) {
        entry.put("value", e.value());
      }
      EnvEntry.fromJson(setting("environment[" + i + "]"), entry, hostEnv);
      env.add(entry);
    }
    return env;
  }

  /** How a setting inside this block is named in messages: {@code <file>: backend.docker.environment[0]}. */
  public String setting(String inside) {
    return file + ": " + dotted(path) + (inside.isEmpty() || inside.startsWith("[") ? "" : ".") + inside;
  }

  GoYamlBlock child(String key) {
    List<String> p = new ArrayList<>(path);
    p.add(key);
    return new GoYamlBlock(file, text, p);
  }

  private ConfigException unknownKey(UnrecognizedPropertyException e) {
    List<String> at = new ArrayList<>(path);
    for (JsonMappingException.Reference ref : e.getPath()) {
      at.add(ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]");
    }
    List<String> parents = at.subList(0, at.size() - 1);
    String where = parents.isEmpty() ? "" : " in " + dotted(parents);
    TreeSet<String> valid = new TreeSet<>();
    e.getKnownPropertyIds().forEach(id -> valid.add(String.valueOf(id)));
    return new ConfigException(file + ": line " + lineOf(at) + ": unknown key \"" + e.getPropertyName() + "\"" + where
        + " (valid: " + String.join(", ", valid) + ")", e);
  }

  /** The line of the key at {@code at}, found by re-reading the YAML as a token stream. */
  private int lineOf(List<String> at) {
    String pointer = pointer(at);
    try (JsonParser p = ConfigFiles.YAML.getFactory().createParser(text)) {
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        if (t == JsonToken.FIELD_NAME && p.getParsingContext().pathAsPointer().toString().equals(pointer)) {
          return p.currentTokenLocation().getLineNr();
        }
      }
    } catch (IOException ignored) {
      // no line then
    }
    return -1;
  }

  private static String pointer(List<String> parts) {
    StringBuilder pointer = new StringBuilder();
    for (String p : parts) {
      pointer.append('/').append(p.startsWith("[") ? p.substring(1, p.length() - 1) : p);
    }
    return pointer.toString();
  }

  private static String dotted(List<String> parts) {
    return String.join(".", parts).replace(".[", "[");
  }
}
