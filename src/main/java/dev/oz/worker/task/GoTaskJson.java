package dev.oz.worker.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oz.worker.protocol.Task;
import dev.oz.worker.protocol.Task.AgentConfigSnapshot;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code task} object as the Go worker's {@code json.Marshal(types.Task)} writes it (for the command backend's
 * dispatch payload): its field order and omit-empty rules, timestamps in RFC 3339 with trailing zeros of the
 * fraction cut and {@code Z} for UTC (the zero time when absent). Made from the fields this worker reads, so a
 * field it does not read ({@code harness_auth_secrets}, an empty {@code session_sharing}) is not forwarded.
 */
final class GoTaskJson {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String ZERO_TIME = "0001-01-01T00:00:00Z";

  private GoTaskJson() {
  }

  static String encode(Task t) {
    ObjectNode o = MAPPER.createObjectNode();
    o.put("id", nullToEmpty(t.id()));
    o.put("title", nullToEmpty(t.title()));
    o.putObject("task_definition").put("prompt", nullToEmpty(t.prompt()));
    o.put("created_at", goTime(t.createdAt()));
    o.put("updated_at", goTime(t.updatedAt()));
    if (t.owner() != null) {
      o.putObject("owner").put("Type", nullToEmpty(t.owner().type())).put("Id", t.owner().id());
    }
    if (t.agentConfigSnapshot() != null) {
      o.set("agent_config_snapshot", snapshot(t.agentConfigSnapshot()));
    }
    if (t.agentConversationId() != null) {
      o.put("agent_conversation_id", t.agentConversationId());
    }
    return o.toString();
  }

  private static ObjectNode snapshot(AgentConfigSnapshot s) {
    ObjectNode o = MAPPER.createObjectNode();
    putIfSet(o, "environment_id", s.environmentId());
    putIfSet(o, "base_prompt", s.basePrompt());
    putIfSet(o, "model_id", s.modelId());
    putIfSet(o, "profile_id", s.profileId());
    putIfSet(o, "skill_spec", s.skillSpec());
    if (s.mcpServers() != null && !s.mcpServers().isEmpty()) {
      ObjectNode mcp = o.putObject("mcp_servers");
      for (Map.Entry<String, JsonNode> e : new TreeMap<>(s.mcpServers()).entrySet()) {
        mcp.set(e.getKey(), e.getValue());
      }
    }
    if (s.computerUseEnabled() != null) {
      o.put("computer_use_enabled", s.computerUseEnabled());
    }
    if (s.idleTimeoutMinutes() != null) {
      o.put("idle_timeout_minutes", s.idleTimeoutMinutes());
    }
    if (s.harness() != null) {
      ObjectNode h = o.putObject("harness");
      putIfSet(h, "type", s.harness().type());
    }
    if (s.aws() != null) {
      ObjectNode aws = o.putObject("inference_providers").putObject("aws");
      if (s.aws().disabled()) {
        aws.put("disabled", true);
      }
      if (s.aws().roleArn() != null && !s.aws().roleArn().isEmpty()) {
        aws.put("role_arn", s.aws().roleArn());
      }
      if (s.aws().region() != null && !s.aws().region().isEmpty()) {
        aws.put("region", s.aws().region());
      }
    }
    if (s.sessionSharingPublicAccess() != null) {
      o.putObject("session_sharing").put("public_access", s.sessionSharingPublicAccess());
    }
    if (s.snapshotDisabled() != null) {
      o.put("snapshot_disabled", s.snapshotDisabled());
    }
    if (s.snapshotUploadTimeoutSecs() != null) {
      o.put("snapshot_upload_timeout_secs", s.snapshotUploadTimeoutSecs());
    }
    if (s.snapshotScriptTimeoutSecs() != null) {
      o.put("snapshot_script_timeout_secs", s.snapshotScriptTimeoutSecs());
    }
    return o;
  }

  /** Go's time.Time round trip; a value Go could not parse is passed on as received. */
  static String goTime(String text) {
    if (text == null || text.isEmpty()) {
      return ZERO_TIME;
    }
    try {
      OffsetDateTime t = OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
      String base = t.format(DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss"));
      String fraction = "";
      if (t.getNano() != 0) {
        fraction = "." + String.format("%09d", t.getNano()).replaceAll("0+$", "");
      }
      String zone = t.getOffset().equals(ZoneOffset.UTC) ? "Z" : t.getOffset().getId();
      return base + fraction + zone;
    } catch (DateTimeParseException e) {
      return text;
    }
  }

  private static void putIfSet(ObjectNode o, String field, String value) {
    if (value != null) {
      o.put(field, value);
    }
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
