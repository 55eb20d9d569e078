package dev.oz.worker.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/** The {@code task} object of an assignment; only the fields the worker uses, unknown ones are ignored. */
public record Task(
    String id,
    String title,
    String prompt,
    String createdAt,
    String updatedAt,
    Owner owner,
    AgentConfigSnapshot agentConfigSnapshot,
    String agentConversationId) {

  /** {@code owner: {"Type": "USER"|"TEAM", "Id": n}} (capitalised keys, as the server sends them). */
  public record Owner(String type, long id) {
  }

  /**
   * {@code agent_config_snapshot}. Every field is optional; null means absent, which matters for the
   * argument rules (an explicit {@code computer_use_enabled: false} differs from no value).
   */
  public record AgentConfigSnapshot(
      String environmentId,
      String basePrompt,
      String modelId,
      String profileId,
      String skillSpec,
      Map<String, JsonNode> mcpServers,
      Boolean computerUseEnabled,
      Long idleTimeoutMinutes,
      Harness harness,
      AwsInference aws,
      String sessionSharingPublicAccess,
      Boolean snapshotDisabled,
      Long snapshotUploadTimeoutSecs,
      Long snapshotScriptTimeoutSecs) {
  }

  /** {@code harness: {type}}; {@code type} may be null. */
  public record Harness(String type) {
  }

  /** {@code inference_providers.aws}. */
  public record AwsInference(boolean disabled, String roleArn, String region) {
  }
}
