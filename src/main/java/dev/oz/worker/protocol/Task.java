package dev.oz.worker.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The {@code task} object of an assignment. */
public record Task(
    String id,
    String title,
    TaskDefinition taskDefinition,
    String createdAt,
    String updatedAt,
    @OmitNull Owner owner,
    @OmitNull AgentConfigSnapshot agentConfigSnapshot,
    @OmitNull String agentConversationId) {

  public Task {
    taskDefinition = Objects.requireNonNullElse(taskDefinition, new TaskDefinition(""));
  }

  Task withId(String newId) {
    return new Task(newId, title, taskDefinition, createdAt, updatedAt, owner, agentConfigSnapshot, agentConversationId);
  }

  /** {@code task_definition: {prompt}}. */
  public record TaskDefinition(String prompt) {
  }

  /** {@code owner: {"Type": "USER"|"TEAM", "Id": n}} (capitalised keys, as the server sends them). */
  public record Owner(@JsonProperty("Type") String type, @JsonProperty("Id") long id) {
  }

  /**
   * {@code agent_config_snapshot}. Every field is optional; null means absent, which matters for the
   * argument rules (an explicit {@code computer_use_enabled: false} differs from no value).
   */
  public record AgentConfigSnapshot(
      @OmitNull String environmentId,
      @OmitNull String basePrompt,
      @OmitNull String modelId,
      @OmitNull String profileId,
      @OmitNull String skillSpec,
      @OmitEmpty Map<String, JsonNode> mcpServers,
      @OmitNull Boolean computerUseEnabled,
      @OmitNull String computerUseModelId,
      @OmitNull Long idleTimeoutMinutes,
      @OmitNull Harness harness,
      @OmitNull HarnessAuthSecrets harnessAuthSecrets,
      @OmitNull InferenceProviders inferenceProviders,
      @OmitNull SessionSharing sessionSharing,
      @OmitNull Boolean snapshotDisabled,
      @OmitNull Long snapshotUploadTimeoutSecs,
      @OmitNull Long snapshotScriptTimeoutSecs,
      @OmitEmpty List<RepositoryHeadOverride> repositoryHeadOverrides) {
  }

  /** {@code harness: {type}}; {@code type} may be null. */
  public record Harness(@OmitNull String type) {
  }

  /** {@code harness_auth_secrets: {claude_auth_secret_name}}. */
  public record HarnessAuthSecrets(@OmitNull String claudeAuthSecretName) {
  }

  /** {@code inference_providers: {aws}}. */
  public record InferenceProviders(@OmitNull AwsInference aws) {
  }

  /** {@code inference_providers.aws}. */
  public record AwsInference(@OmitEmpty boolean disabled, @OmitEmpty String roleArn, @OmitEmpty String region) {
  }

  /** {@code session_sharing: {public_access: "VIEWER"|"EDITOR"}}. */
  public record SessionSharing(@OmitNull String publicAccess) {
  }

  /**
   * One of {@code repository_head_overrides} (newer Go, benchmark trials): check out {@code head} of this
   * repository, optionally cloned from another one.
   */
  public record RepositoryHeadOverride(String codeForge, String repoOwner, String repoName, Head head,
      @OmitNull RepositoryIdentity cloneFrom, @OmitEmpty boolean preserveOrigin) {

    public RepositoryHeadOverride {
      head = Objects.requireNonNullElse(head, new Head("", ""));
    }

    /** {@code {type: COMMIT_SHA|BRANCH, value}}. */
    public record Head(String type, String value) {
    }

    /** {@code clone_from: {code_forge, owner, repo}}. */
    public record RepositoryIdentity(String codeForge, String owner, String repo) {
    }
  }
}
