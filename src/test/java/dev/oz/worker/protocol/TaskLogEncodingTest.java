package dev.oz.worker.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

  /** What the worker sent before frames were built from bytes: the chunk decoded, the record encoded, its UTF-8. */
  private static byte[] viaString(String id, String exec, long seq, String stream, byte[] chunk, int from, int to,
      long dropped, boolean truncated, Long offset) {
    String text = new String(chunk, from, to - from, StandardCharsets.UTF_8);
    return viaJackson(new TaskLog(id, exec, seq, stream, text, dropped, truncated, offset)).getBytes(StandardCharsets.UTF_8);
  }

  private static void assertSameFrame(byte[] chunk, int from, int to, int i) {
    String exec = i % 2 == 0 ? null : i % 4 == 1 ? "" : "exec\"" + i;
    long dropped = i % 3 == 0 ? 0 : i;
    Long offset = i % 7 == 0 ? null : (long) i * 1000;
    TaskLogFrame frame = ProtocolJson.encodeLog("task-" + i, exec, i, i % 2 == 0 ? "stdout" : "stderr", chunk, from,
        to - from, dropped, i % 5 == 0, offset);
    assertArrayEquals(viaString("task-" + i, exec, i, i % 2 == 0 ? "stdout" : "stderr", chunk, from, to, dropped,
        i % 5 == 0, offset), frame.frame(), "case " + i);
    assertEquals(i, frame.seq());
  }

  @Test
  void framesBuiltFromBytesAreTheFramesBuiltFromTheDecodedText() {
    StringBuilder all = new StringBuilder();
    for (int c = 0; c < 0x10000; c++) {
      if (!Character.isSurrogate((char) c)) {
        all.append((char) c);
      }
    }
    all.appendCodePoint(0x1F600).appendCodePoint(0x10FFFF).appendCodePoint(0x10000).append("\u007f\"\\\b\f\n\r\t");
    byte[] every = all.toString().getBytes(StandardCharsets.UTF_8);
    assertSameFrame(every, 0, every.length, 1);
    assertSameFrame(every, 0, 0, 2);
    // not well-formed: cut characters, overlong forms, surrogates, beyond U+10FFFF, stray continuation bytes
    int[][] bad = {{0xC3}, {0xE2, 0x82}, {0xF0, 0x9F, 0x98}, {0xC0, 0x80}, {0xC1, 0xBF}, {0xE0, 0x80, 0x80},
        {0xED, 0xA0, 0x80}, {0xF0, 0x80, 0x80, 0x80}, {0xF4, 0x90, 0x80, 0x80}, {0xF5, 0x80, 0x80, 0x80}, {0x80},
        {0xBF, 0x41}, {0xE2, 0x41, 0x82}, {0xFF}};
    int i = 3;
    for (int[] b : bad) {
      byte[] chunk = new byte[b.length + 4];
      chunk[0] = 'a';
      chunk[1] = '"';
      for (int k = 0; k < b.length; k++) {
        chunk[2 + k] = (byte) b[k];
      }
      chunk[b.length + 2] = '\n';
      chunk[b.length + 3] = 'z';
      assertSameFrame(chunk, 0, chunk.length, i++);
      assertSameFrame(chunk, 2, 2 + b.length, i++);
    }
  }

  @Test
  void framesFromRandomBytesAndRandomTextMatchToo() {
    Random random = new Random(11);
    for (int i = 0; i < 2000; i++) {
      byte[] chunk;
      if (i % 2 == 0) {
        chunk = new byte[random.nextInt(400)];
        random.nextBytes(chunk);
      } else {
        StringBuilder text = new StringBuilder();
        for (int n = random.nextInt(200); n > 0; n--) {
          int kind = random.nextInt(4);
          int cp = kind == 0 ? random.nextInt(0x80) : kind == 1 ? 0x80 + random.nextInt(0x780)
              : kind == 2 ? 0x800 + random.nextInt(0xF800) : 0x10000 + random.nextInt(0x100000);
          if (!Character.isSurrogate((char) cp) || cp >= 0x10000) {
            text.appendCodePoint(cp);
          }
        }
        chunk = text.toString().getBytes(StandardCharsets.UTF_8);
      }
      int from = chunk.length == 0 ? 0 : random.nextInt(chunk.length);
      int to = from + (chunk.length == from ? 0 : random.nextInt(chunk.length - from + 1));
      assertSameFrame(chunk, from, to, i);
    }
  }
}
