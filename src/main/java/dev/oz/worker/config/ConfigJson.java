package dev.oz.worker.config;

import com.fasterxml.jackson.annotation.JsonAutoDetect.Visibility;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The one binder between configuration JSON and the options data objects: each setting is a field, named once
 * (snake_case of the field name); unknown keys, wrong JSON types and bad durations become a {@link ConfigException}
 * that names the full key. A JSON null, like an absent key, keeps the default. Durations are Go-style strings
 * ({@link Durations}) both ways.
 */
public final class ConfigJson {
  private static final String HOST_ENV = "config.hostEnv";

  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      // the fields are the settings, written from the fields and read through the setters (which normalise)
      .visibility(PropertyAccessor.ALL, Visibility.NONE)
      .visibility(PropertyAccessor.FIELD, Visibility.ANY)
      .visibility(PropertyAccessor.SETTER, Visibility.PUBLIC_ONLY)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY) // "x" for ["x"], as operators write it in YAML
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
      .defaultSetterInfo(JsonSetter.Value.forValueNulls(Nulls.SKIP))
      .serializationInclusion(JsonInclude.Include.NON_NULL)
      .addModule(new SimpleModule("config")
          .addDeserializer(Duration.class, new DurationDeserializer())
          .addSerializer(Duration.class, new DurationSerializer())
          .addDeserializer(EnvEntry.class, new EnvEntryDeserializer())
          .addSerializer(EnvEntry.class, new EnvEntrySerializer())
          .addSerializer(JsonObject.class, new VertxJsonSerializer<>(JsonObject::getMap))
          .addSerializer(JsonArray.class, new VertxJsonSerializer<>(JsonArray::getList)))
      .build();

  private ConfigJson() {
  }

  /** Binds {@code json} onto new defaults of {@code type}; {@code key} is the block's own key ("" at the top). */
  public static <T> T read(JsonObject json, Class<T> type, String key) {
    return read(json, type, key, System.getenv());
  }

  /** As {@link #read(JsonObject, Class, String)}; an environment entry without a value reads {@code hostEnv}. */
  public static <T> T read(JsonObject json, Class<T> type, String key, Map<String, String> hostEnv) {
    return bind(MAPPER.readerFor(type), json, key, hostEnv);
  }

  /**
   * Binds {@code json} onto {@code target}: the keys given replace the target's values, the others stay (a nested
   * object given is bound whole).
   */
  public static <T> T update(T target, JsonObject json, Map<String, String> hostEnv) {
    return bind(MAPPER.readerForUpdating(target), json, "", hostEnv);
  }

  private static <T> T bind(ObjectReader reader, JsonObject json, String key, Map<String, String> hostEnv) {
    try {
      return reader.withAttribute(HOST_ENV, hostEnv).readValue(json == null ? "{}" : json.encode());
    } catch (JsonMappingException e) {
      throw translate(e, key, json);
    } catch (IOException e) {
      throw new ConfigException((key.isEmpty() ? "config" : key) + ": " + e.getMessage(), e);
    }
  }

  /** The settings of {@code options} as JSON, durations in Go form, unset (null) settings left out. */
  public static JsonObject toJson(Object options) {
    return new JsonObject(MAPPER.convertValue(options, Map.class));
  }

  /**
   * A value a custom binding refuses (see {@link #refuse}); the message is made once Jackson has said where the
   * value is.
   */
  private static final class Refused extends RuntimeException {
    final Function<String, String> message;

    Refused(Function<String, String> message) {
      super(null, null, false, false);
      this.message = message;
    }
  }

  /** For a custom setter: refuses the value with {@code "<key> must be <expected>, got <value>"}. */
  public static RuntimeException refuse(String expected, Object value) {
    return new Refused(key -> key + " must be " + expected + ", got " + describe(value));
  }

  /**
   * For a custom setter: refuses the value with the message of {@code e}, thrown with an empty setting name
   * (such as {@code Durations.parse("", text)}), behind the key.
   */
  public static RuntimeException refuse(ConfigException e) {
    return new Refused(key -> key + e.getMessage());
  }

  private static ConfigException translate(JsonMappingException e, String key, JsonObject json) {
    List<JsonMappingException.Reference> path = e.getPath();
    StringBuilder full = new StringBuilder(key);
    Object raw = json;
    String parent = key;
    for (JsonMappingException.Reference ref : path) {
      parent = full.toString();
      if (ref.getFieldName() != null) {
        full.append(full.length() == 0 ? "" : ".").append(ref.getFieldName());
        raw = raw instanceof JsonObject o ? o.getValue(ref.getFieldName()) : null;
      } else {
        full.append('[').append(ref.getIndex()).append(']');
        int i = ref.getIndex();
        raw = raw instanceof JsonArray a && i >= 0 && i < a.size() ? a.getValue(i) : null;
      }
    }
    if (e instanceof UnrecognizedPropertyException u) {
      return new ConfigException("unknown setting" + (parent.isEmpty() ? "" : " in " + parent) + ": "
          + u.getPropertyName());
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof Refused r) {
        return new ConfigException(r.message.apply(full.toString()));
      }
      if (t instanceof ConfigException c) {
        return c;
      }
      if (t instanceof InputCoercionException) {
        return new ConfigException(full + " is out of range: " + raw);
      }
    }
    if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
      return new ConfigException(full + " must be " + expected(m.getTargetType()) + ", got " + describe(raw));
    }
    return new ConfigException(full + ": " + e.getOriginalMessage(), e);
  }

  private static String expected(Class<?> type) {
    if (type == String.class) {
      return "a string";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return "a whole number";
    }
    if (type == double.class || type == Double.class) {
      return "a number";
    }
    if (Collection.class.isAssignableFrom(type)) {
      return "a list";
    }
    return "an object";
  }

  private static String describe(Object v) {
    if (v instanceof JsonObject || v instanceof Map || v instanceof JsonNode n && n.isObject()) {
      return "an object";
    }
    if (v instanceof JsonArray || v instanceof List || v instanceof JsonNode n && n.isArray()) {
      return "a list";
    }
    if (v instanceof String || v instanceof JsonNode n && n.isTextual()) {
      return "\"" + (v instanceof JsonNode n ? n.asText() : v) + "\"";
    }
    return String.valueOf(v);
  }

  private static final class DurationDeserializer extends JsonDeserializer<Duration> {
    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() != JsonToken.VALUE_STRING) {
        throw refuse("a duration string like \"10s\"", p.readValueAsTree());
      }
      try {
        return Durations.parse("", p.getText());
      } catch (ConfigException e) {
        // Durations names the setting before ": "; the key is known only once the failure has its path
        throw refuse(e);
      }
    }
  }

  private static final class DurationSerializer extends JsonSerializer<Duration> {
    @Override
    public void serialize(Duration value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
      gen.writeString(Durations.format(value));
    }
  }

  /** {@code {name, value?}}: a missing value is the host's (see {@link EnvEntry#fromJson}). */
  private static final class EnvEntryDeserializer extends JsonDeserializer<EnvEntry> {
    @Override
    @SuppressWarnings("unchecked")
    public EnvEntry deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      JsonNode node = p.readValueAsTree();
      if (!node.isObject()) {
        throw refuse("an object", node);
      }
      JsonObject entry = new JsonObject(MAPPER.convertValue(node, Map.class));
      for (String name : entry.fieldNames()) {
        if (!name.equals("name") && !name.equals("value")) {
          throw new Refused(key -> "unknown setting in " + key + ": " + name);
        }
      }
      Map<String, String> hostEnv = (Map<String, String>) ctxt.getAttribute(HOST_ENV);
      try {
        return EnvEntry.fromJson("", entry, hostEnv == null ? Map.of() : hostEnv);
      } catch (ConfigException e) {
        throw refuse(e);
      }
    }
  }

  private static final class EnvEntrySerializer extends JsonSerializer<EnvEntry> {
    @Override
    public void serialize(EnvEntry value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
      gen.writeObject(value.toJson().getMap());
    }
  }

  /** Vert.x JSON inside options (backend blocks) written as the plain maps and lists it wraps. */
  private static final class VertxJsonSerializer<T> extends JsonSerializer<T> {
    private final Function<T, Object> plain;

    VertxJsonSerializer(Function<T, Object> plain) {
      this.plain = plain;
    }

    @Override
    public void serialize(T value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
      gen.writeObject(plain.apply(value));
    }
  }
}
