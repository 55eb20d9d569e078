package dev.oz.worker.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oz.worker.protocol.TaskAssignment.InstanceShape;
import dev.oz.worker.protocol.TaskAssignment.SidecarRequest;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The wire format, both directions: the one place where a frame is parsed into a message record and where
 * a message record becomes a frame. Unknown fields are ignored; field names, casing and omit-when-empty
 * rules follow the protocol exactly.
 */
public final class ProtocolJson {
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true))
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  private ProtocolJson() {
  }

  // ---- server -> worker ----

  /** Parses one text frame. Throws with a specific reason for invalid JSON, unknown types and missing fields. */
  public static ServerMessage decode(String frame) throws ProtocolException {
    JsonNode root;
    try {
      root = MAPPER.readTree(frame);
    } catch (JsonProcessingException e) {
      throw new ProtocolException("invalid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw new ProtocolException("message is not a JSON object");
    }
    JsonNode type = root.get("type");
    if (type == null || !type.isTextual()) {
      throw new ProtocolException("message has no \"type\"");
    }
    JsonNode data = root.get("data");
    switch (type.asText()) {
      case "task_assignment":
        JsonNode body = object(data, "data");
        try {
          return assignment(body);
        } catch (ProtocolException e) {
          JsonNode id = body.get("task_id");
          throw id != null && id.isTextual() && !id.asText().isEmpty()
              ? new ProtocolException(e.getMessage(), id.asText()) : e;
        }
      case "task_cancellation":
        return new TaskCancellation(requiredString(object(data, "data"), "task_id"));
      default:
        throw new ProtocolException("unknown message type \"" + type.asText() + "\"");
    }
  }

  private static TaskAssignment assignment(JsonNode d) throws ProtocolException {
    String taskId = requiredString(d, "task_id");
    JsonNode taskNode = d.get("task");
    if (taskNode == null || taskNode.isNull()) {
      throw new ProtocolException("task_assignment " + taskId + " has no \"task\"");
    }
    Task task = task(object(taskNode, "task"), taskId);
    Map<String, String> env = new LinkedHashMap<>();
    JsonNode envNode = d.get("env_vars");
    if (present(envNode)) {
      Iterator<Map.Entry<String, JsonNode>> it = object(envNode, "env_vars").fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isTextual() && !e.getValue().isNull()) {
          throw new ProtocolException("env_vars." + e.getKey() + " must be a string");
        }
        env.put(e.getKey(), e.getValue().isNull() ? "" : e.getValue().asText()); // null decodes to "", as in Go
      }
    }
    List<SidecarRequest> sidecars = new ArrayList<>();
    JsonNode sidecarNode = d.get("additional_sidecars");
    if (present(sidecarNode)) {
      if (!sidecarNode.isArray()) {
        throw new ProtocolException("additional_sidecars must be a list");
      }
      for (JsonNode s : sidecarNode) {
        JsonNode o = object(s, "additional_sidecars[]");
        String image = optionalString(o, "image");
        String mount = optionalString(o, "mount_path");
        sidecars.add(new SidecarRequest(image == null ? "" : image, mount == null ? "" : mount,
            optionalBool(o, "read_write", false)));
      }
    }
    List<String> ozArgs = new ArrayList<>();
    JsonNode argsNode = d.get("additional_oz_args");
    if (present(argsNode)) {
      if (!argsNode.isArray()) {
        throw new ProtocolException("additional_oz_args must be a list of strings");
      }
      for (JsonNode a : argsNode) {
        if (!a.isTextual() && !a.isNull()) {
          throw new ProtocolException("additional_oz_args must be a list of strings");
        }
        ozArgs.add(a.isNull() ? "" : a.asText());
      }
    }
    InstanceShape shape = InstanceShape.NONE;
    JsonNode shapeNode = d.get("instance_shape");
    if (present(shapeNode)) {
      JsonNode o = object(shapeNode, "instance_shape");
      shape = new InstanceShape(optionalLong(o, "vcpus", 0L), optionalLong(o, "memory_gb", 0L));
    }
    return new TaskAssignment(taskId, optionalString(d, "execution_id"), task,
        optionalString(d, "docker_image"), optionalString(d, "sidecar_image"),
        java.util.Collections.unmodifiableMap(env), List.copyOf(sidecars), List.copyOf(ozArgs), shape);
  }

  private static Task task(JsonNode t, String taskId) throws ProtocolException {
    String id = optionalString(t, "id");
    String prompt = null;
    JsonNode def = t.get("task_definition");
    if (present(def)) {
      prompt = optionalString(object(def, "task.task_definition"), "prompt");
    }
    Task.Owner owner = null;
    JsonNode ownerNode = t.get("owner");
    if (present(ownerNode)) {
      JsonNode o = object(ownerNode, "task.owner");
      owner = new Task.Owner(optionalString(o, "Type"), optionalLong(o, "Id", 0L));
    }
    Task.AgentConfigSnapshot snapshot = null;
    JsonNode snap = t.get("agent_config_snapshot");
    if (present(snap)) {
      snapshot = snapshot(object(snap, "task.agent_config_snapshot"));
    }
    return new Task(id == null || id.isEmpty() ? taskId : id, optionalString(t, "title"), prompt,
        optionalString(t, "created_at"), optionalString(t, "updated_at"), owner, snapshot,
        optionalString(t, "agent_conversation_id"));
  }

  private static Task.AgentConfigSnapshot snapshot(JsonNode s) throws ProtocolException {
    Map<String, JsonNode> mcp = null;
    JsonNode mcpNode = s.get("mcp_servers");
    if (present(mcpNode)) {
      mcp = new LinkedHashMap<>();
      Iterator<Map.Entry<String, JsonNode>> it = object(mcpNode, "mcp_servers").fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        mcp.put(e.getKey(), e.getValue());
      }
    }
    Task.Harness harness = null;
    JsonNode h = s.get("harness");
    if (present(h)) {
      harness = new Task.Harness(optionalString(object(h, "harness"), "type"));
    }
    Task.AwsInference aws = null;
    JsonNode providers = s.get("inference_providers");
    if (present(providers)) {
      JsonNode awsNode = object(providers, "inference_providers").get("aws");
      if (present(awsNode)) {
        JsonNode a = object(awsNode, "inference_providers.aws");
        aws = new Task.AwsInference(optionalBool(a, "disabled", false), optionalString(a, "role_arn"),
            optionalString(a, "region"));
      }
    }
    String publicAccess = null;
    JsonNode sharing = s.get("session_sharing");
    if (present(sharing)) {
      publicAccess = optionalString(object(sharing, "session_sharing"), "public_access");
    }
    return new Task.AgentConfigSnapshot(
        optionalString(s, "environment_id"),
        optionalString(s, "base_prompt"),
        optionalString(s, "model_id"),
        optionalString(s, "profile_id"),
        optionalString(s, "skill_spec"),
        mcp,
        optionalBoolean(s, "computer_use_enabled"),
        optionalLong(s, "idle_timeout_minutes", null),
        harness,
        aws,
        publicAccess,
        optionalBoolean(s, "snapshot_disabled"),
        optionalLong(s, "snapshot_upload_timeout_secs", null),
        optionalLong(s, "snapshot_script_timeout_secs", null));
  }

  private static boolean present(JsonNode n) {
    return n != null && !n.isNull();
  }

  private static JsonNode object(JsonNode n, String what) throws ProtocolException {
    if (n == null || !n.isObject()) {
      throw new ProtocolException("\"" + what + "\" must be an object");
    }
    return n;
  }

  private static String requiredString(JsonNode o, String field) throws ProtocolException {
    String v = optionalString(o, field);
    if (v == null || v.isEmpty()) {
      throw new ProtocolException("missing \"" + field + "\"");
    }
    return v;
  }

  private static String optionalString(JsonNode o, String field) throws ProtocolException {
    JsonNode n = o.get(field);
    if (!present(n)) {
      return null;
    }
    if (!n.isTextual()) {
      throw new ProtocolException("\"" + field + "\" must be a string");
    }
    return n.asText();
  }

  private static boolean optionalBool(JsonNode o, String field, boolean dflt) throws ProtocolException {
    Boolean b = optionalBoolean(o, field);
    return b == null ? dflt : b;
  }

  private static Boolean optionalBoolean(JsonNode o, String field) throws ProtocolException {
    JsonNode n = o.get(field);
    if (!present(n)) {
      return null;
    }
    if (!n.isBoolean()) {
      throw new ProtocolException("\"" + field + "\" must be true or false");
    }
    return n.asBoolean();
  }

  private static Long optionalLong(JsonNode o, String field, Long dflt) throws ProtocolException {
    JsonNode n = o.get(field);
    if (!present(n)) {
      return dflt;
    }
    if (!n.isIntegralNumber() || !n.canConvertToLong()) {
      throw new ProtocolException("\"" + field + "\" must be an integer");
    }
    return n.asLong();
  }

  // ---- worker -> server ----

  /** One frame for {@code message}: {@code {"type": ..., "data": {...}}}. */
  public static String encode(WorkerMessage message) {
    if (message instanceof TaskLog m) {
      return encodeLog(m);
    }
    ObjectNode data = MAPPER.createObjectNode();
    data.put("task_id", message.taskId());
    if (message instanceof TaskClaimed m) {
      data.put("worker_id", m.workerId());
    } else if (message instanceof TaskRejected m) {
      data.put("reason", m.reason());
    } else if (message instanceof TaskCompleted m) {
      putIfSet(data, "execution_id", m.executionId());
      data.put("message", m.message());
      putIfSet(data, "task_state", m.taskState());
    } else if (message instanceof TaskFailed m) {
      putIfSet(data, "execution_id", m.executionId());
      data.put("message", m.message());
      putIfSet(data, "failure_reason", m.failureReason());
      if (m.exitCode() != 0) {
        data.put("exit_code", m.exitCode());
      }
    }
    ObjectNode root = MAPPER.createObjectNode();
    root.put("type", message.type());
    root.set("data", data);
    return root.toString();
  }

  /**
   * {@code task_log}, written directly: exactly what the tree above would write, but a chunk (up to 64 KiB of
   * text) is copied twice (builder, string) instead of through the generator's char segments, builder and
   * string, which made encoding the largest source of garbage while streaming.
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
    return out.append("}}").toString();
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  /** A JSON string with Jackson's default escapes: quote, backslash and control characters, nothing else. */
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

  private static void putIfSet(ObjectNode node, String field, String value) {
    if (value != null && !value.isEmpty()) {
      node.put(field, value);
    }
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
