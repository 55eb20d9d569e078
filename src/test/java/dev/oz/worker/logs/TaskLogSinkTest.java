package dev.oz.worker.logs;

import dev.oz.worker.backend.StdStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Redaction, chunk cutting, UTF-8 safety, bounds and the per-task cap. */
class TaskLogSinkTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static String redactAll(Redactor r, String... reads) {
    StringBuilder out = new StringBuilder();
    for (String read : reads) {
      byte[] in = b(read);
      out.append(s(r.process(in, 0, in.length)));
    }
    out.append(s(r.flush()));
    return out.toString();
  }

  @Test
  void redactsWholeAndStraddlingSecrets() {
    assertEquals("a [REDACTED] b [REDACTED]!", redactAll(new Redactor(List.of("hunter22")), "a hunter22 b hun", "ter22!"));
    assertEquals("x[REDACTED]y", redactAll(new Redactor(List.of("s3cr3t")), "x", "s", "3", "c", "r", "3", "t", "y"));
    assertEquals("[REDACTED]", redactAll(new Redactor(List.of("abcd", "abcdef")), "abcdef"), "longest secret wins");
    assertEquals("plain text", redactAll(new Redactor(List.of()), "plain ", "text"));
  }

  @Test
  void onlyAPossibleSecretPrefixIsHeldBack() {
    Redactor r = new Redactor(List.of("topsecret"));
    byte[] first = b("hello\n");
    assertEquals("hello\n", s(r.process(first, 0, first.length)), "ordinary output is not delayed");
    byte[] second = b("line top");
    assertEquals("line ", s(r.process(second, 0, second.length)));
    byte[] third = b("ping\n");
    assertEquals("topping\n", s(r.process(third, 0, third.length)), "held prefix released once it is not a secret");
  }

  @Test
  void secretsAddedWhileTheTaskRunsAreRedactedFromThenOnAndTheOldOnesStay() {
    TaskLogSink sink = new TaskLogSink(List.of("task-secret"), 1 << 20, 1 << 30, () -> { });
    byte[] before = b("early late-secret task-");
    sink.write(StdStream.STDOUT, before, 0, before.length);
    sink.addSecrets(List.of("late-secret", "abc", ""));
    byte[] after = b("secret; late-secret task-secret abc\n");
    sink.write(StdStream.STDOUT, after, 0, after.length);
    sink.end();
    assertEquals("early late-secret [REDACTED]; [REDACTED] [REDACTED] abc\n", s(sink.next(1000, true).bytes()),
        "queued output is not rewritten, a secret straddling the call is still found, and a value shorter than "
            + "MIN_SECRET_LENGTH is not a secret");
  }

  @Test
  void chunksPreferLineBoundariesAndNeverSplitUtf8() {
    TaskLogSink sink = new TaskLogSink(List.of(), 1 << 20, 1 << 30, () -> { });
    byte[] text = b("aaaa\nbbbb\nccccccccccc");
    sink.write(StdStream.STDOUT, text, 0, text.length);
    TaskLogSink.Cut first = sink.next(12, false);
    assertEquals("aaaa\nbbbb\n", s(first.bytes()));
    assertNull(sink.next(12, false), "a short rest waits for more or the flush interval");
    assertEquals("ccccccccccc", s(sink.next(12, true).bytes()));

    byte[] euro = b("€€");  // 3 bytes each
    sink.write(StdStream.STDERR, euro, 0, 4);
    TaskLogSink.Cut partial = sink.next(64, true);
    assertEquals(StdStream.STDERR, partial.stream());
    assertEquals("€", s(partial.bytes()), "the incomplete second € stays queued");
    sink.write(StdStream.STDERR, euro, 4, 2);
    assertEquals("€", s(sink.next(64, true).bytes()));
  }

  @Test
  void boundDropsOldestAndAnnouncesIt() {
    TaskLogSink sink = new TaskLogSink(List.of(), 10, 1 << 30, () -> { });
    byte[] x = b("0123456789ABCDE");
    sink.write(StdStream.STDOUT, x, 0, x.length);
    TaskLogSink.Cut cut = sink.next(100, true);
    assertEquals("56789ABCDE", s(cut.bytes()));
    assertEquals(5, cut.droppedBefore());
    assertEquals(5, sink.droppedTotal());
  }

  @Test
  void capTruncatesAndStopsWriting() {
    TaskLogSink sink = new TaskLogSink(List.of(), 1 << 20, 8, () -> { });
    byte[] x = b("12345");
    assertTrue(sink.write(StdStream.STDOUT, x, 0, 5));
    assertFalse(sink.write(StdStream.STDOUT, x, 0, 5), "cap reached");
    assertTrue(sink.isTruncated());
    assertEquals("12345123", s(sink.next(100, true).bytes()));
    assertFalse(sink.write(StdStream.STDOUT, x, 0, 5));
  }

  @Test
  void signalsOncePerRearm() {
    AtomicInteger signals = new AtomicInteger();
    TaskLogSink sink = new TaskLogSink(List.of(), 1 << 20, 1 << 30, signals::incrementAndGet);
    byte[] x = b("x");
    sink.write(StdStream.STDOUT, x, 0, 1);
    sink.write(StdStream.STDOUT, x, 0, 1);
    assertEquals(1, signals.get());
    sink.rearm();
    sink.write(StdStream.STDOUT, x, 0, 1);
    assertEquals(2, signals.get());
  }

  @Test
  void secretsAreRedactedBeforeBuffering() {
    TaskLogSink sink = new TaskLogSink(List.of("password1"), 1 << 20, 1 << 30, () -> { });
    byte[] a = b("pw=pass");
    byte[] c = b("word1\n");
    sink.write(StdStream.STDOUT, a, 0, a.length);
    sink.write(StdStream.STDOUT, c, 0, c.length);
    sink.end();
    List<String> out = new ArrayList<>();
    TaskLogSink.Cut cut;
    while ((cut = sink.next(100, true)) != null) {
      out.add(s(cut.bytes()));
    }
    assertEquals("pw=[REDACTED]\n", String.join("", out));
  }

  @Test
  void aSecretThatStartsWithAnotherIsRedactedWhole() {
    assertEquals("auth=[REDACTED] x", redactAll(new Redactor(List.of("deploy", "deploy:hunter2pass")), "auth=deploy", ":hunter2pass x"));
    assertEquals("u=[REDACTED] y", redactAll(new Redactor(List.of("deploy", "deploy:hunter2pass")), "u=deploy", " y"));
  }

  @Test
  void theCapNeverReleasesHalfASecret() {
    TaskLogSink sink = new TaskLogSink(List.of("ghp_S3cr3tT0ken1234567890"), 1 << 20, 20, () -> { });
    byte[] x = b("0123456789token=ghp_S3cr3tT0ken1234567890\n");
    sink.write(StdStream.STDOUT, x, 0, x.length);
    assertTrue(sink.isTruncated());
    TaskLogSink.Cut cut = sink.next(100, true);
    assertEquals("0123456789token=", s(cut.bytes()));
    assertEquals(4, cut.droppedBefore(), "the held prefix (ghp_) counts as dropped");
  }

  @Test
  void forcedCloseDropsAHeldPrefixButNormalEndReleasesIt() {
    TaskLogSink closed = new TaskLogSink(List.of("secret-value"), 1 << 20, 1 << 30, () -> { });
    byte[] x = b("a secret-");
    closed.write(StdStream.STDOUT, x, 0, x.length);
    closed.close();
    assertEquals("a ", s(closed.next(100, true).bytes()));
    TaskLogSink ended = new TaskLogSink(List.of("secret-value"), 1 << 20, 1 << 30, () -> { });
    ended.write(StdStream.STDOUT, x, 0, x.length);
    ended.end();
    assertEquals("a secret-", s(ended.next(100, true).bytes()));
  }

  @Test
  void eachChunkCarriesItsRedactedStreamPositionAndDropsAdvanceIt() {
    TaskLogSink sink = new TaskLogSink(List.of("hunter22"), 20, 1 << 30, () -> { });
    byte[] out = b("pw hunter22\n");
    sink.write(StdStream.STDOUT, out, 0, out.length);
    byte[] err = b("e1\n");
    sink.write(StdStream.STDERR, err, 0, err.length);
    TaskLogSink.Cut first = sink.next(64, true);
    TaskLogSink.Cut second = sink.next(64, true);
    assertEquals("pw [REDACTED]\n", s(first.bytes()));
    assertEquals(0L, first.offset());
    assertEquals(StdStream.STDERR, second.stream());
    assertEquals(0L, second.offset(), "each stream counts its own bytes");
    byte[] more = b("0123456789abcdefghijklmn\n"); // 25 bytes into a 20-byte buffer: the oldest 5 are dropped
    sink.write(StdStream.STDOUT, more, 0, more.length);
    TaskLogSink.Cut third = sink.next(64, true);
    assertEquals("56789abcdefghijklmn\n", s(third.bytes()));
    assertEquals(5, third.droppedBefore());
    assertEquals(14L + 5, third.offset(), "after the 14 redacted bytes sent and the 5 dropped");
  }

  @Test
  void outputThatResumesMidStreamHasNoPositions() {
    TaskLogSink sink = new TaskLogSink(List.of(), 1 << 20, 1 << 30, () -> { }).withoutPositions();
    byte[] text = b("resumed\n");
    sink.write(StdStream.STDOUT, text, 0, text.length);
    assertNull(sink.next(64, true).offset());
  }
}
