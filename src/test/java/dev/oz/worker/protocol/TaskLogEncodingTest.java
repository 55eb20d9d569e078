package dev.oz.worker.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** task_log frames are written directly; they must be byte for byte what the record codec writes. */
class TaskLogEncodingTest {
  private static String viaJackson(TaskLog m) {
    return ProtocolJson.encodeRecord(m);
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
    TaskLog m = new TaskLog("t-\"1\"", "exec\n", 42, "stderr", all.toString(), 7, true, 1234L);
    assertEquals(viaJackson(m), ProtocolJson.encode(m));
  }

  @Test
  void optionalFieldsAndDecodedBytesAsTheWorkerSendsThem() {
    Random random = new Random(5);
    for (int i = 0; i < 500; i++) {
      byte[] bytes = new byte[random.nextInt(300)];
      random.nextBytes(bytes);
      String text = new String(bytes, StandardCharsets.UTF_8); // malformed input included
      TaskLog m = new TaskLog("task", i % 2 == 0 ? null : "", i, "stdout", text, i % 3 == 0 ? 0 : i, i % 5 == 0,
          i % 7 == 0 ? null : (long) i);
      assertEquals(viaJackson(m), ProtocolJson.encode(m));
    }
  }
}
