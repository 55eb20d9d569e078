package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.JsonTypeName;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The wire format, both directions and for both sides: frames become message records and records become
 * frames here and nowhere else. The records carry the rules as annotations: snake_case names, unknown fields
 * ignored, Go's {@code omitempty} ({@link OmitEmpty}, {@link OmitNull}), and a Go string's null or absence
 * read as "". A value of the wrong JSON type is refused, as Go's decoder refuses it.
 */
public final class ProtocolJson {
  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES) // the server adds fields over time
      // opaque JSON (mcp_servers, failure_details) keeps its numbers exactly: 1.10 stays 1.10
      .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      // no "2" for 2, 2.5 for an integer or 1 for a string
      .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS) // one message per frame
      .withCoercionConfig(LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
      .withConfigOverride(String.class, o -> o.setSetterInfo(JsonSetter.Value.forValueNulls(Nulls.AS_EMPTY)))
      .build();

  private static final Map<String, Class<? extends ServerMessage>> SERVER_TYPES = byTypeName(ServerMessage.class);
  private static final Map<String, Class<? extends WorkerMessage>> WORKER_TYPES = byTypeName(WorkerMessage.class);

  /** The envelope: {@code {"type": ..., "data": {...}}}. */
  record Envelope(String type, ProtocolMessage data) {
  }

  private ProtocolJson() {
  }

  /**
   * Builds the (de)serializers of every message type now. Their first use would, and on a busy machine that
   * takes long enough to stall an event loop: call this on a worker thread before frames flow.
   */
  public static void prepare() {
    for (Map<String, ? extends Class<?>> types : List.of(SERVER_TYPES, WORKER_TYPES)) {
      for (Class<?> type : types.values()) {
        MAPPER.readerFor(type);
        MAPPER.writerFor(type);
      }
    }
    try {
      decode(encode(new TaskCancellation("t", "")));
    } catch (ProtocolException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The worker's side: parses a frame from the control plane. */
  public static ServerMessage decode(String frame) throws ProtocolException {
    return decode(frame, SERVER_TYPES);
  }

  /** The control plane's side: parses a frame from a worker. */
  public static WorkerMessage decodeWorkerMessage(String frame) throws ProtocolException {
    return decode(frame, WORKER_TYPES);
  }

  /** One frame for {@code message}, either direction. */
  public static String encode(ProtocolMessage message) {
    return message instanceof TaskLog log ? encodeLog(log) : encodeRecord(message);
  }

  /** The general path: the record through Jackson. */
  static String encodeRecord(ProtocolMessage message) {
    try {
      return MAPPER.writeValueAsString(new Envelope(message.type(), message));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + message.type(), e);
    }
  }

  /**
   * {@code task_log}, the hot path, written directly: the same bytes as {@link #encodeRecord} (tested), without the
   * tree and its copies (Jackson allocated about three bytes per streamed byte here).
   */
  private static String encodeLog(TaskLog m) {
    String text = m.data();
    StringBuilder out = new StringBuilder(text.length() + text.length() / 16 + 160);
    out.append("{\"type\":\"task_log\",\"data\":{\"task_id\":");
    appendString(out, m.taskId());
    if (m.executionId() != null && !m.executionId().isEmpty()) {
      out.append(",\"execution_id\":");
      appendString(out, m.executionId());
    }
    out.append(",\"seq\":").append(m.seq()).append(",\"stream\":");
    appendString(out, m.stream());
    out.append(",\"data\":");
    appendString(out, text);
    if (m.droppedBytes() > 0) {
      out.append(",\"dropped_bytes\":").append(m.droppedBytes());
    }
    if (m.truncated()) {
      out.append(",\"truncated\":true");
    }
    if (m.offset() != null) {
      out.append(",\"offset\":").append(m.offset());
    }
    return out.append("}}").toString();
  }

  /** The UTF-8 bytes of {@link #encode}'s frame. */
  public static byte[] encodeUtf8(ProtocolMessage message) {
    return encode(message).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The {@code task_log} frame for a chunk given as UTF-8 bytes ({@code data[offset..offset+length)}): the same bytes
   * as {@code encodeUtf8(new TaskLog(..., new String(chunk, UTF_8), ...))} (tested), escaped in one pass over the
   * chunk's bytes. A chunk that is not well-formed UTF-8 (its bad bytes become U+FFFD) takes that slower route.
   *
   * @param position the chunk's offset in its stream, or null
   */
  public static TaskLogFrame encodeLog(String taskId, String executionId, long seq, String stream, byte[] data,
      int offset, int length, long droppedBytes, boolean truncated, Long position) {
    StringBuilder head = new StringBuilder(128).append("{\"type\":\"task_log\",\"data\":{\"task_id\":");
    appendString(head, taskId);
    if (executionId != null && !executionId.isEmpty()) {
      head.append(",\"execution_id\":");
      appendString(head, executionId);
    }
    head.append(",\"seq\":").append(seq).append(",\"stream\":");
    appendString(head, stream);
    head.append(",\"data\":\"");
    StringBuilder tail = new StringBuilder(64).append('"');
    if (droppedBytes > 0) {
      tail.append(",\"dropped_bytes\":").append(droppedBytes);
    }
    if (truncated) {
      tail.append(",\"truncated\":true");
    }
    if (position != null) {
      tail.append(",\"offset\":").append(position);
    }
    tail.append("}}");
    byte[] prefix = head.toString().getBytes(StandardCharsets.UTF_8);
    byte[] suffix = tail.toString().getBytes(StandardCharsets.UTF_8);
    // room for the usual case (a few escapes per line); grown when a chunk needs more
    Utf8Out out = new Utf8Out(prefix.length + length + (length >> 4) + suffix.length + 16);
    out.write(prefix, 0, prefix.length);
    if (!escapeUtf8(data, offset, length, out)) {
      TaskLog chunk = new TaskLog(taskId, executionId, seq, stream,
          new String(data, offset, length, StandardCharsets.UTF_8), droppedBytes, truncated, position);
      byte[] frame = encodeUtf8(chunk);
      return new TaskLogFrame(taskId, seq, frame, frame.length);
    }
    out.write(suffix, 0, suffix.length);
    return new TaskLogFrame(taskId, seq, out.buf, out.len);
  }

  /** A growable byte array. */
  private static final class Utf8Out {
    byte[] buf;
    int len;

    Utf8Out(int capacity) {
      buf = new byte[capacity];
    }

    void ensure(int more) {
      if (buf.length - len < more) {
        buf = Arrays.copyOf(buf, Math.max(len + more, buf.length + (buf.length >> 1)));
      }
    }

    void write(byte[] b, int off, int n) {
      ensure(n);
      System.arraycopy(b, off, buf, len, n);
      len += n;
    }
  }

  /**
   * Writes the bytes as the inside of a JSON string the way {@link #appendString} writes their decoded text: runs
   * of plain bytes copied in bulk, the same escapes; false (and a partial output) at the first byte sequence that
   * is not well-formed UTF-8, whose decoding would differ.
   */
  private static boolean escapeUtf8(byte[] d, int offset, int length, Utf8Out out) {
    int end = offset + length;
    int plain = offset;
    int i = offset;
    while (i < end) {
      int b = d[i];
      if (b >= 0x20) { // ASCII from space up
        if (b != '"' && b != '\\') {
          i++;
          continue;
        }
      } else if (b < 0) { // a multi-byte character: kept as it is if well-formed
        int n = wellFormedLength(d, i, end);
        if (n == 0) {
          return false;
        }
        i += n;
        continue;
      }
      out.write(d, plain, i - plain);
      out.ensure(6);
      byte[] buf = out.buf;
      int at = out.len;
      buf[at++] = '\\';
      switch (b) {
        case '"' -> buf[at++] = '"';
        case '\\' -> buf[at++] = '\\';
        case '\n' -> buf[at++] = 'n';
        case '\r' -> buf[at++] = 'r';
        case '\t' -> buf[at++] = 't';
        case '\b' -> buf[at++] = 'b';
        case '\f' -> buf[at++] = 'f';
        default -> {
          buf[at++] = 'u';
          buf[at++] = '0';
          buf[at++] = '0';
          buf[at++] = (byte) HEX[b >> 4];
          buf[at++] = (byte) HEX[b & 0xF];
        }
      }
      out.len = at;
      plain = ++i;
    }
    out.write(d, plain, end - plain);
    return true;
  }

  /** The length of the well-formed UTF-8 sequence (Unicode table 3-7) starting at {@code i}, or 0. */
  private static int wellFormedLength(byte[] d, int i, int end) {
    int b0 = d[i] & 0xff;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      return i + 1 < end && continuation(d[i + 1]) ? 2 : 0;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
      if (i + 2 >= end) {
        return 0;
      }
      int b1 = d[i + 1] & 0xff;
      boolean second = b0 == 0xE0 ? b1 >= 0xA0 && b1 <= 0xBF : b0 == 0xED ? b1 >= 0x80 && b1 <= 0x9F : continuation(d[i + 1]);
      return second && continuation(d[i + 2]) ? 3 : 0;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
      if (i + 3 >= end) {
        return 0;
      }
      int b1 = d[i + 1] & 0xff;
      boolean second = b0 == 0xF0 ? b1 >= 0x90 && b1 <= 0xBF : b0 == 0xF4 ? b1 >= 0x80 && b1 <= 0x8F : continuation(d[i + 1]);
      return second && continuation(d[i + 2]) && continuation(d[i + 3]) ? 4 : 0;
    }
    return 0;
  }

  private static boolean continuation(byte b) {
    return (b & 0xC0) == 0x80;
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  /** A JSON string as Jackson writes it: the short escapes, {@code \\u00XX} for other control characters. */
  private static void appendString(StringBuilder out, String s) {
    if (s == null) {
      out.append("null");
      return;
    }
    out.append('"');
    int plain = 0;
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c != '"' && c != '\\') {
        continue;
      }
      out.append(s, plain, i); // the run before it, in bulk
      plain = i + 1;
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
      }
    }
    out.append(s, plain, s.length()).append('"');
  }

  /**
   * The {@code data.task_id} of a {@code task_assignment} frame that is not valid JSON as a whole, read token by token
   * up to the fault; null unless both the type and a non-empty id come before it.
   */
  static String assignmentIdBeforeFault(String frame) {
    String type = null;
    String id = null;
    int depth = 0;
    boolean inData = false;
    try (JsonParser p = MAPPER.getFactory().createParser(frame)) {
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        switch (t) {
          case START_OBJECT, START_ARRAY -> depth++;
          case END_OBJECT, END_ARRAY -> {
            depth--;
            if (depth < 2) {
              inData = false;
            }
          }
          case FIELD_NAME -> {
            String name = p.currentName();
            if (depth == 1 && name.equals("type") && p.nextToken() == JsonToken.VALUE_STRING) {
              type = p.getText();
            } else if (depth == 1 && name.equals("data") && p.nextToken() == JsonToken.START_OBJECT) {
              depth++;
              inData = true;
            } else if (depth == 2 && inData && name.equals("task_id") && p.nextToken() == JsonToken.VALUE_STRING) {
              id = p.getText();
            }
          }
          default -> {
          }
        }
      }
    } catch (IOException | RuntimeException fault) {
      // expected: the frame is broken somewhere; what was read before stands
    }
    return "task_assignment".equals(type) && id != null && !id.isEmpty() ? id : null;
  }

  /**
   * Throws with a specific reason for invalid JSON, unknown types, wrong field types and missing fields. An
   * assignment whose {@code task_id} is readable carries it in the exception, so it can be rejected.
   */
  private static <T extends ProtocolMessage> T decode(String frame, Map<String, Class<? extends T>> types)
      throws ProtocolException {
    JsonNode root;
    try {
      root = MAPPER.readTree(frame);
    } catch (JsonProcessingException e) {
      // a truncated or too deeply nested assignment may still name its task before the fault: say no to it
      throw new ProtocolException("invalid JSON: " + e.getOriginalMessage(), (Object) types == SERVER_TYPES ? assignmentIdBeforeFault(frame) : null);
    }
    if (root == null || !root.isObject()) {
      throw new ProtocolException("message is not a JSON object");
    }
    JsonNode type = root.get("type");
    if (type == null || !type.isTextual()) {
      throw new ProtocolException("message has no \"type\"");
    }
    Class<? extends T> recordType = types.get(type.asText());
    if (recordType == null) {
      throw new ProtocolException("unknown message type \"" + type.asText() + "\"");
    }
    JsonNode data = root.get("data");
    if (data == null || !data.isObject()) {
      throw new ProtocolException("\"data\" must be an object");
    }
    JsonNode id = data.get("task_id");
    String rejectable = recordType == TaskAssignment.class && id != null && id.isTextual() && !id.asText().isEmpty()
        ? id.asText() : null;
    T message;
    try {
      message = MAPPER.treeToValue(data, recordType);
    } catch (JsonProcessingException e) {
      throw new ProtocolException(e instanceof JsonMappingException m ? reason(m) : e.getOriginalMessage(), rejectable);
    }
    if (message.taskId().isEmpty()) {
      throw new ProtocolException("missing \"task_id\"");
    }
    if (message instanceof TaskAssignment a && a.task() == null) {
      throw new ProtocolException("task_assignment " + a.taskId() + " has no \"task\"", rejectable);
    }
    return message;
  }

  /** {@code env_vars.A must be a string}: where, and what was expected there. */
  private static String reason(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        path.append(path.isEmpty() ? "" : ".").append(r.getFieldName());
      } else {
        path.append('[').append(r.getIndex()).append(']');
      }
    }
    Class<?> expected = e instanceof MismatchedInputException m ? m.getTargetType()
        : e.getCause() instanceof InputCoercionException c ? c.getTargetType() : null;
    return expected == null ? path + ": " + e.getOriginalMessage() : path + " must be " + describe(expected);
  }

  private static String describe(Class<?> type) {
    if (type == String.class) {
      return "a string";
    } else if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    } else if (type.isPrimitive() || Number.class.isAssignableFrom(type)) {
      return "an integer";
    } else if (Collection.class.isAssignableFrom(type)) {
      return "a list";
    }
    return "an object";
  }

  private static <T> Map<String, Class<? extends T>> byTypeName(Class<T> sealedType) {
    Map<String, Class<? extends T>> types = new HashMap<>();
    for (Class<?> c : sealedType.getPermittedSubclasses()) {
      types.put(c.getAnnotation(JsonTypeName.class).value(), c.asSubclass(sealedType));
    }
    return Map.copyOf(types);
  }

  // ---- Go-compatible JSON for arguments ----

  /**
   * Compact JSON of an object the way Go's {@code json.Marshal} writes a {@code map[string]json.RawMessage}:
   * top-level keys sorted, values compacted as received, and {@code <}, {@code >}, {@code &}, U+2028 and
   * U+2029 escaped. The agent CLI receives exactly what the Go worker would pass.
   */
  public static String goCompactJson(Map<String, JsonNode> map) {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.setCharacterEscapes(GoEscapes.INSTANCE);
      g.writeStartObject();
      for (Map.Entry<String, JsonNode> e : new TreeMap<>(map).entrySet()) {
        g.writeFieldName(e.getKey());
        MAPPER.writeTree(g, e.getValue());
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /**
   * A protocol record as Go's {@code json.Marshal} writes its struct: fields in order, omit rules, map keys sorted,
   * HTML escapes.
   */
  public static String goJson(Object record) {
    StringWriter out = new StringWriter();
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.setCharacterEscapes(GoEscapes.INSTANCE);
      MAPPER.writer().with(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).writeValue(g, record);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  /** Go's encoder HTML-escapes by default; mirror it so argument bytes match. */
  private static final class GoEscapes extends CharacterEscapes {
    static final GoEscapes INSTANCE = new GoEscapes();
    private final int[] table;

    private GoEscapes() {
      table = CharacterEscapes.standardAsciiEscapesForJSON();
      table['<'] = CharacterEscapes.ESCAPE_CUSTOM;
      table['>'] = CharacterEscapes.ESCAPE_CUSTOM;
      table['&'] = CharacterEscapes.ESCAPE_CUSTOM;
    }

    @Override
    public int[] getEscapeCodesForAscii() {
      return table;
    }

    @Override
    public SerializableString getEscapeSequence(int ch) {
      if (ch == '<' || ch == '>' || ch == '&' || ch == 0x2028 || ch == 0x2029) {
        return new SerializedString(String.format("\\u%04x", ch));
      }
      return null;
    }
  }
}
