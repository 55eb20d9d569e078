package dev.oz.worker.kubernetes;

import dev.oz.worker.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Names and labels of task Jobs, as the Go worker makes them, so that Jobs of either worker look alike to operators'
 * tooling: {@code oz-task-<run>-exec-<last 8 of execution>}, and id labels with a stable hash beside each.
 */
final class Labels {
  static final String WORKER_ID = "oz-worker-id";
  static final String WORKER_HASH = "oz-worker-hash";
  static final String TASK_ID = "oz-task-id";
  static final String TASK_HASH = "oz-task-hash";
  static final String EXECUTION_ID = "oz-execution-id";
  static final String EXECUTION_HASH = "oz-execution-hash";
  /** Set by the Job controller on the pods it creates. */
  static final String JOB_NAME = "job-name";

  private static final int EXEC_SUFFIX = 8;
  private static final Pattern LABEL_VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?");
  private static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  private Labels() {
  }

  /** First 8 bytes of SHA-256, hex: selectors use it because ids may not be valid label values. */
  static String hash(String value) {
    try {
      byte[] sum = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sum, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A readable label value: lower case, invalid characters as '-', at most 63 characters, "unknown" if empty. */
  static String labelValue(String value) {
    StringBuilder b = new StringBuilder();
    value.toLowerCase(Locale.ROOT).codePoints().forEach(c -> b.append(
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ? (char) c : '-'));
    String s = trim(b.toString(), "-_.", true, true);
    if (s.length() > 63) {
      s = trim(s.substring(0, 63), "-_.", false, true);
    }
    return s.isEmpty() ? "unknown" : s;
  }

  /** Lower-case letters and digits, everything else '-', no leading or trailing '-'. */
  static String nameFragment(String value) {
    StringBuilder b = new StringBuilder();
    value.toLowerCase(Locale.ROOT).codePoints().forEach(c -> b.append(
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? (char) c : '-'));
    return trim(b.toString(), "-", true, true);
  }

  /** {@code oz-task-<run>-exec-<last 8 characters of the execution id>}, at most 63 characters. */
  static String jobName(String runId, String executionId) {
    String exec = nameFragment(executionId);
    if (exec.length() > EXEC_SUFFIX) {
      exec = trim(exec.substring(exec.length() - EXEC_SUFFIX), "-", true, true);
    }
    if (exec.isEmpty()) {
      exec = "exec";
    }
    String prefix = "oz-task-";
    String sep = "-exec-";
    int maxRun = Math.max(0, 63 - prefix.length() - sep.length() - exec.length());
    String run = nameFragment(runId);
    if (run.length() > maxRun) {
      run = trim(run.substring(0, maxRun), "-", true, true);
    }
    if (run.isEmpty()) {
      run = "run";
    }
    return prefix + run + sep + exec;
  }

  /** The execution a Job is named after: the assignment's execution id, else the task id. */
  static String executionOrTask(String taskId, String executionId) {
    return executionId == null || executionId.isBlank() ? taskId : executionId.strip();
  }

  /** Operator labels must be valid Kubernetes labels and must not take the worker's own. */
  static void checkExtraLabels(String setting, Map<String, String> labels) {
    for (Map.Entry<String, String> e : labels.entrySet()) {
      String key = e.getKey();
      if (key.startsWith("oz-")) {
        throw new ConfigException(setting + ": \"" + key + "\" is reserved for the worker's own labels");
      }
      int slash = key.indexOf('/');
      String name = slash < 0 ? key : key.substring(slash + 1);
      String prefix = slash < 0 ? null : key.substring(0, slash);
      if (name.length() > 63 || !LABEL_NAME.matcher(name).matches()
          || (prefix != null && (prefix.length() > 253 || !DNS_SUBDOMAIN.matcher(prefix).matches()))) {
        throw new ConfigException(setting + ": invalid label key \"" + key + "\"");
      }
      if (e.getValue().length() > 63 || !LABEL_VALUE.matcher(e.getValue()).matches()) {
        throw new ConfigException(setting + "." + key + ": invalid label value \"" + e.getValue()
            + "\" (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)");
      }
    }
  }

  private static String trim(String s, String chars, boolean start, boolean end) {
    int from = 0;
    int to = s.length();
    while (start && from < to && chars.indexOf(s.charAt(from)) >= 0) {
      from++;
    }
    while (end && to > from && chars.indexOf(s.charAt(to - 1)) >= 0) {
      to--;
    }
    return s.substring(from, to);
  }
}
