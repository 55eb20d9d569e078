package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The pieces of the catch-up read: the overlap search and the ring of recent bytes. */
class CatchUpTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void overlapFindsWhereTheTailContinuesWhatWasRead() {
    String line = "stuck reader test line of forty bytes....\n";
    String read = line.repeat(50);
    String tail = line.repeat(10) + "st";
    assertEquals(tail.length() - 2, TailCatchUp.longestPrefixThatIsSuffix(b(tail), b(read)), "only the final 'st' is new");
    assertEquals(line.length() * 10, TailCatchUp.longestPrefixThatIsSuffix(b(line.repeat(10)), b(read)), "nothing new");
    assertEquals(0, TailCatchUp.longestPrefixThatIsSuffix(b("xyz"), b(read)), "no overlap at all");
    assertEquals(3, TailCatchUp.longestPrefixThatIsSuffix(b("abcabd"), b("zzabc")));
    assertEquals(0, TailCatchUp.longestPrefixThatIsSuffix(b(""), b("abc")));
  }

  @Test
  void recentBytesKeepTheLastOnes() {
    RecentBytes r = new RecentBytes(8);
    r.add(b("0123"), 0, 4);
    assertEquals("0123", new String(r.toArray(), StandardCharsets.UTF_8));
    r.add(b("456789abcdef"), 0, 12);
    assertEquals("89abcdef", new String(r.toArray(), StandardCharsets.UTF_8));
    r.add(b("XY"), 0, 2);
    assertEquals("abcdefXY", new String(r.toArray(), StandardCharsets.UTF_8));
  }
}
