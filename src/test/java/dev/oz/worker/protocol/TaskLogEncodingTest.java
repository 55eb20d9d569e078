package dev.oz.worker.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** task_log frames are written directly; they must be byte for byte what Jackson writes for the same fields. */
class TaskLogEncodingTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static String viaJackson(TaskLog m) {
    ObjectNode data = MAPPER.createObjectNode();
    data.put("task_id", m.taskId());
    if (m.executionId() != null && !m.executionId().isEmpty()) {
      data.put("execution_id", m.executionId());
    }
    data.put("seq", m.seq());
    data.put("stream", m.stream());
    data.put("data", m.data());
    if (m.droppedBytes() > 0) {
      data.put("dropped_bytes", m.droppedBytes());
    }
    if (m.truncated()) {
      data.put("truncated", true);
    }
    ObjectNode root = MAPPER.createObjectNode();
    root.put("type", "task_log");
    root.set("data", data);
    return root.toString();
  }

  @Test
  void everyCharacterIsWrittenAsJacksonWritesIt() {
    StringBuilder all = new StringBuilder();
    for (int c = 0; c < 0x10000; c++) {
      if (!Character.isSurrogate((char) c)) {
        all.append((char) c);
      }
    }
    all.append("😀 tab\t nl\n quote\" backslash\\ slash/ del\u007f");
    TaskLog m = new TaskLog("t-\"1\"", "exec\n", 42, "stderr", all.toString(), 7, true);
    assertEquals(viaJackson(m), ProtocolJson.encode(m));
  }

  @Test
  void optionalFieldsAndDecodedBytesAsTheWorkerSendsThem() {
    Random random = new Random(5);
    for (int i = 0; i < 500; i++) {
      byte[] bytes = new byte[random.nextInt(300)];
      random.nextBytes(bytes);
      String text = new String(bytes, StandardCharsets.UTF_8); // malformed input included
      TaskLog m = new TaskLog("task", i % 2 == 0 ? null : "", i, "stdout", text, i % 3 == 0 ? 0 : i, i % 5 == 0);
      assertEquals(viaJackson(m), ProtocolJson.encode(m));
    }
  }
}
