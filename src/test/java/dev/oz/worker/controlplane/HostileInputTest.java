package dev.oz.worker.controlplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.oz.worker.backend.TaskOutcome;
import dev.oz.worker.protocol.ProtocolException;
import dev.oz.worker.protocol.ProtocolJson;
import dev.oz.worker.testing.FakeBackend;
import dev.oz.worker.testing.LoopbackControlPlane;
import dev.oz.worker.testing.ReliabilityTable;
import dev.oz.worker.testing.WorkerHarness;
import dev.oz.worker.testing.Waits;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile and malformed control-plane input, generated from a seed (printed; rerun one with
 * {@code -Dfuzz.seed=N}): any mutation of a rich assignment (values of
 * any JSON type anywhere, fields removed, unknown fields added), arbitrary and truncated text, deep nesting.
 * The decoder answers each with a message or a {@link ProtocolException} that says why, never another
 * exception; a whole worker fed the same stays connected, and answers every assignment whose id it can read
 * exactly once: a claim followed by one terminal report, or a rejection.
 */
class HostileInputTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final long SEED = Long.getLong("fuzz.seed", System.nanoTime());

  /** Runs {@code check} on {@code tries} generated inputs; a failure names the seed and the input. */
  private static <T> void forAll(int tries, Function<Random, T> generate, Check<T> check) throws Exception {
    Random random = new Random(SEED);
    for (int i = 0; i < tries; i++) {
      T input = generate.apply(random);
      try {
        check.accept(input);
      } catch (AssertionError | Exception e) {
        throw new AssertionError("fuzz.seed=" + SEED + ", try " + i + ", input: " + abbreviate(String.valueOf(input)), e);
      }
    }
  }

  interface Check<T> {
    void accept(T input) throws Exception;
  }

  private static String abbreviate(String s) {
    return s.length() <= 2000 ? s : s.substring(0, 2000) + "... (" + s.length() + " chars)";
  }
  /** A rich assignment, every field the protocol knows. */
  private static final String RICH = """
      {"type": "task_assignment", "data": {
        "task_id": "rich", "execution_id": "exec-1",
        "task": {"id": "rich", "title": "t", "task_definition": {"prompt": "do it"},
          "created_at": "2026-11-24T10:00:00Z", "updated_at": "2026-11-24T10:00:01Z",
          "owner": {"Type": "USER", "Id": 7}, "agent_conversation_id": "c1",
          "agent_config_snapshot": {"environment_id": "e", "base_prompt": "b", "model_id": "m", "profile_id": "p",
            "skill_spec": "s", "mcp_servers": {"one": {"command": "x", "args": ["a"]}}, "computer_use_enabled": true,
            "computer_use_model_id": "cu", "idle_timeout_minutes": 5, "harness": {"type": "claude"},
            "harness_auth_secrets": {"claude_auth_secret_name": "n"}, "snapshot_disabled": false,
            "snapshot_upload_timeout_secs": 3, "snapshot_script_timeout_secs": 4,
            "repository_head_overrides": [{"repository": "r", "head": "h"}]}},
        "docker_image": "img", "sidecar_image": "side", "env_vars": {"A": "1", "SECRET": "value-xyz"},
        "additional_sidecars": [{"image": "i", "mount_path": "/m", "read_write": true}],
        "additional_oz_args": ["--x"], "instance_shape": {"vcpus": 2, "memory_gb": 4},
        "telemetry_collection": {"endpoint": "http://127.0.0.1:9", "tracing_enabled": false, "logging_enabled": false,
          "bootstrap_token": {"token": "bt", "expires_at": "2026-11-24T11:00:00Z"}}}}
      """;

  // ---- the decoder ----

  @Test
  void anyMutationOfAnAssignmentDecodesOrIsRefusedWithAReason() throws Exception {
    JsonNode rich = JSON.readTree(RICH);
    forAll(2000, r -> mutate(rich, mutations(r), Set.of()).toString(), HostileInputTest::assertDecodesOrSaysWhy);
  }

  @Test
  void truncatedAndArbitraryTextIsRefusedWithAReason() throws Exception {
    forAll(1000, HostileInputTest::brokenFrame, HostileInputTest::assertDecodesOrSaysWhy);
  }

  @Test
  void anAssignmentCutOffAfterItsIdIsStillRejectable() throws Exception {
    int from = RICH.indexOf("\"rich\"") + 6;
    int to = RICH.strip().length() - 1;
    forAll(200, r -> from + r.nextInt(to - from), cut -> {
      ProtocolException e = assertRefused(RICH.substring(0, cut));
      assertEquals("rich", e.assignmentTaskId(), e.getMessage());
    });
  }

  @Test
  void deepNestingIsRefusedWithAReason() throws Exception {
    forAll(20, r -> 1_001 + r.nextInt(19_000), depth -> {
      String frame = "{\"type\": \"task_assignment\", \"data\": {\"task_id\": \"deep\", \"task\": " + "[".repeat(depth)
          + "]".repeat(depth) + "}}";
      ProtocolException e = assertRefused(frame);
      assertEquals("deep", e.assignmentTaskId(), "a readable id is still rejectable: " + e.getMessage());
    });
  }

  private static void assertDecodesOrSaysWhy(String frame) {
    try {
      assertNotNull(ProtocolJson.decode(frame));
    } catch (ProtocolException e) {
      assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "a reason is given");
      String id = readableAssignmentId(frame);
      if (id != null || !e.getMessage().startsWith("invalid JSON")) {
        assertEquals(id, e.assignmentTaskId(), "an assignment with a readable id can be rejected: " + e.getMessage());
      } else if (e.assignmentTaskId() != null) {
        // broken JSON: an id is only claimed when the frame is an assignment naming it before the fault
        assertTrue(frame.contains("\"task_assignment\"") && frame.contains("\"" + e.assignmentTaskId() + "\""),
            e.assignmentTaskId() + " in " + frame);
      }
    }
  }

  private static ProtocolException assertRefused(String frame) {
    try {
      ProtocolJson.decode(frame);
    } catch (ProtocolException e) {
      return e;
    }
    throw new AssertionError("decoded: " + frame.substring(0, Math.min(200, frame.length())));
  }

  /** The task id a worker could reject the frame under, as the decoder promises it. */
  private static String readableAssignmentId(String frame) {
    try {
      JsonNode root = JSON.readTree(frame);
      JsonNode data = root == null ? null : root.get("data");
      if (root != null && root.isObject() && root.path("type").isTextual() && "task_assignment".equals(root.get("type").asText())
          && data != null && data.isObject() && data.path("task_id").isTextual() && !data.get("task_id").asText().isEmpty()) {
        return data.get("task_id").asText();
      }
    } catch (Exception notJson) {
      // not JSON at all: nothing is readable
    }
    return null;
  }

  // ---- a whole worker ----

  private static WorkerHarness worker;
  private static LoopbackControlPlane cp;
  private static FakeBackend backend;
  private static final AtomicInteger ids = new AtomicInteger();
  /** Every mutated assignment sent, by task id. */
  private static final Map<String, String> frames = new java.util.LinkedHashMap<>();

  @BeforeAll
  static void startWorker() {
    backend = new FakeBackend();
    worker = WorkerHarness.create(backend);
    cp = worker.cp;
    worker.options().setWorkerId("fuzz").setMaxConcurrentTasks(1000);
    worker.deploy();
  }

  @AfterAll
  static void stopWorker() {
    worker.close(); // fails on any blocked event loop
    long claimed = cp.received("task_claimed").size();
    long rejected = cp.received("task_rejected").size();
    if (claimed + rejected > 0) {
      ReliabilityTable table = new ReliabilityTable(java.nio.file.Path.of("docs", "RELIABILITY.md"));
      table.row("hostile input: generated mutations of a rich assignment, broken and deeply nested frames (HostileInputTest)",
          "the decoder answers with a message or a reason; the worker stays connected and answers each assignment whose"
              + " id it can read exactly once (claim and one terminal report, or a rejection); env values never echoed",
          ids.get() + " mutated assignments to one worker: " + claimed + " claimed and reported once, " + rejected
              + " rejected; one connection throughout; 3,220 more frames through the decoder alone", 0);
      table.write();
    }
  }

  @Test
  void theWorkerAnswersEveryMutatedAssignmentOnceAndStaysConnected() throws Exception {
    forAll(200, HostileInputTest::mutations, HostileInputTest::sendAndExpectOneAnswer);
    assertEquals(1, cp.handshakes().size(), "the connection never dropped");
    assertTrue(cp.connected());
    worker.undeploy(); // whatever the worker still had to say has been said now
    frames.forEach((taskId, frame) -> assertOneAnswer(taskId, "after shutdown, for " + frame));
  }

  /** A rejection, or a claim and one terminal report: nothing else (logs aside) for this task. */
  private static void assertOneAnswer(String taskId, String when) {
    List<String> answers = cp.received().stream().filter(m -> taskId.equals(m.getJsonObject("data").getString("task_id")))
        .map(m -> m.getString("type")).filter(t -> !t.equals("task_log")).toList();
    assertTrue(answers.equals(List.of("task_rejected")) || answers.equals(List.of("task_claimed", "task_completed"))
        || answers.equals(List.of("task_claimed", "task_failed")), "exactly one answer " + when + ": " + answers);
  }

  private static void sendAndExpectOneAnswer(List<Mutation> mutations) throws Exception {
    String taskId = "fz-" + ids.incrementAndGet();
    ObjectNode tree = (ObjectNode) JSON.readTree(RICH);
    ((ObjectNode) tree.get("data")).put("task_id", taskId);
    // the type and the id stay readable, so the worker owes an answer; everything else is fair game
    JsonNode frame = mutate(tree, mutations, Set.of("/type", "/data/task_id", "/data"));
    frames.put(taskId, frame.toString());
    cp.sendRaw(frame.toString());

    JsonObject first = cp.await(m -> taskId.equals(m.getJsonObject("data").getString("task_id")), WAIT);
    if (first.getString("type").equals("task_claimed")) {
      Waits.until(() -> backend.isRunning(taskId) || !terminals(taskId).isEmpty(), WAIT, () -> "claimed but never run or ended");
      if (backend.isRunning(taskId)) {
        backend.complete(taskId, TaskOutcome.succeeded());
      }
      Waits.until(() -> !terminals(taskId).isEmpty(), WAIT, () -> "no terminal report after the claim");
    } else {
      assertEquals("task_rejected", first.getString("type"), first.encode());
    }
    assertOneAnswer(taskId, "so far"); // and again once the worker has shut down, when nothing more can come
    assertNull(cp.received().stream().filter(m -> m.encode().contains("value-xyz")).findFirst().orElse(null),
        "env values never reach the control plane");
  }

  private static List<JsonObject> terminals(String taskId) {
    List<JsonObject> out = new ArrayList<>();
    for (String type : List.of("task_completed", "task_failed")) {
      cp.received(type).stream().filter(m -> taskId.equals(m.getJsonObject("data").getString("task_id"))).forEach(out::add);
    }
    return out;
  }

  // ---- generators ----

  /** Replace a value (0), remove a field or element (1), or add an unknown field (2), at the n-th node. */
  record Mutation(int node, int kind, JsonNode value) {
  }

  private static List<Mutation> mutations(Random r) {
    List<Mutation> list = new ArrayList<>();
    for (int i = 1 + r.nextInt(6); i > 0; i--) {
      list.add(new Mutation(r.nextInt(10_000), r.nextInt(3), jsonValue(r, 3)));
    }
    return list;
  }

  private static final String[] NASTY = {"", "../etc", "--privileged", "\u0000", "\u2603", "-1", "true", "9".repeat(40)};
  private static final String[] KEYS = {"task_id", "id", "prompt", "image", "mount_path", "Type", "x", ""};

  private static JsonNode jsonValue(Random r, int depth) {
    int pick = r.nextInt(depth == 0 ? 6 : 8);
    return switch (pick) {
      case 0 -> TextNode.valueOf(randomText(r, 30));
      case 1 -> TextNode.valueOf(NASTY[r.nextInt(NASTY.length)]);
      case 2 -> LongNode.valueOf(r.nextBoolean() ? r.nextLong() : r.nextInt(10) - 3);
      case 3 -> DoubleNode.valueOf(r.nextBoolean() ? r.nextDouble() * 1e300 : -0.5);
      case 4 -> r.nextBoolean() ? BooleanNode.valueOf(r.nextBoolean()) : NullNode.instance;
      case 5 -> TextNode.valueOf("x".repeat(r.nextInt(3) == 0 ? 70_000 : 3));
      case 6 -> {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (int i = r.nextInt(4); i > 0; i--) {
          a.add(jsonValue(r, depth - 1));
        }
        yield a;
      }
      default -> {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        for (int i = r.nextInt(4); i > 0; i--) {
          o.set(KEYS[r.nextInt(KEYS.length)], jsonValue(r, depth - 1));
        }
        yield o;
      }
    };
  }

  private static String randomText(Random r, int maxLength) {
    StringBuilder b = new StringBuilder();
    for (int i = r.nextInt(maxLength + 1); i > 0; i--) {
      int kind = r.nextInt(4);
      b.append((char) switch (kind) {
        case 0 -> r.nextInt(0x20);
        case 1 -> 0x20 + r.nextInt(0x5f);
        case 2 -> 0xa0 + r.nextInt(0x2000);
        default -> "{}[]\":,\\".charAt(r.nextInt(8));
      });
    }
    return b.toString();
  }

  private static String brokenFrame(Random r) {
    return switch (r.nextInt(3)) {
      case 0 -> RICH.substring(0, r.nextInt(RICH.length()));
      case 1 -> randomText(r, 200);
      default -> {
        String[] shapes = {"null", "[]", "42", "\"text\"", "{}", "{\"type\": 1}", "{\"type\": \"task_assignment\"}",
            "{\"type\": \"task_assignment\", \"data\": []}", "{\"type\": \"task_assignment\", \"data\": {\"task_id\": 5}}",
            "{\"type\": \"nope\", \"data\": {}}", "{\"type\": \"task_cancellation\", \"data\": {\"task_id\": null}}"};
        yield shapes[r.nextInt(shapes.length)];
      }
    };
  }

  /** Applies {@code mutations} to a copy of {@code tree}, never at the paths in {@code fixed} (JSON pointers). */
  private static JsonNode mutate(JsonNode tree, List<Mutation> mutations, Set<String> fixed) {
    JsonNode root = tree.deepCopy();
    for (Mutation m : mutations) {
      List<String> paths = new ArrayList<>();
      collect(root, "", paths);
      paths.removeIf(fixed::contains);
      if (paths.isEmpty()) {
        break;
      }
      String path = paths.get(m.node() % paths.size());
      int cut = path.lastIndexOf('/');
      JsonNode parent = root.at(path.substring(0, cut));
      String key = path.substring(cut + 1);
      JsonNode target = root.at(path);
      switch (m.kind()) {
        case 0 -> set(parent, key, m.value());
        case 1 -> remove(parent, key);
        default -> {
          if (target instanceof ObjectNode o) {
            o.set("unknown_" + (m.node() % 7), m.value());
          } else {
            set(parent, key, m.value());
          }
        }
      }
    }
    return root;
  }

  private static void collect(JsonNode node, String at, List<String> paths) {
    if (node instanceof ObjectNode o) {
      o.fieldNames().forEachRemaining(name -> {
        String p = at + "/" + name.replace("~", "~0").replace("/", "~1");
        paths.add(p);
        collect(o.get(name), p, paths);
      });
    } else if (node instanceof ArrayNode a) {
      for (int i = 0; i < a.size(); i++) {
        paths.add(at + "/" + i);
        collect(a.get(i), at + "/" + i, paths);
      }
    }
  }

  private static void set(JsonNode parent, String key, JsonNode value) {
    if (parent instanceof ObjectNode o) {
      o.set(unescape(key), value);
    } else if (parent instanceof ArrayNode a) {
      a.set(Integer.parseInt(key), value);
    }
  }

  private static void remove(JsonNode parent, String key) {
    if (parent instanceof ObjectNode o) {
      o.remove(unescape(key));
    } else if (parent instanceof ArrayNode a) {
      a.remove(Integer.parseInt(key));
    }
  }

  private static String unescape(String key) {
    return key.replace("~1", "/").replace("~0", "~");
  }
}
