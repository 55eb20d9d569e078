package dev.oz.worker.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Overlapping and nested secrets, secrets split anywhere across reads, multi-byte secrets. */
class RedactorTest {

  /** Feeds {@code text} to a redactor in reads split at {@code cuts} (byte offsets), then ends the stream. */
  private static String redact(List<String> secrets, String text, int... cuts) {
    return redact(SecretSet.of(secrets), text, cuts);
  }

  private static String redact(SecretSet secrets, String text, int... cuts) {
    byte[] in = text.getBytes(StandardCharsets.UTF_8);
    Redactor r = new Redactor(secrets);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int from = 0;
    for (int cut : cuts) {
      r.process(in, from, cut - from, out::write);
      from = cut;
    }
    r.process(in, from, in.length - from, out::write);
    r.flush(out::write);
    return out.toString(StandardCharsets.UTF_8);
  }

  /** The rule, written the obvious way on the whole text: at the first position where any secret starts, the longest. */
  private static String reference(List<String> secrets, String text) {
    byte[] d = text.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    while (i < d.length) {
      int best = 0;
      for (String secret : secrets) {
        byte[] s = secret.getBytes(StandardCharsets.UTF_8);
        if (s.length > best && i + s.length <= d.length
            && java.util.Arrays.equals(d, i, i + s.length, s, 0, s.length)) {
          best = s.length;
        }
      }
      if (best > 0) {
        out.writeBytes(Redactor.MARK);
        i += best;
      } else {
        out.write(d[i++]);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void overlappingSecretsTheFirstToStartWins() {
    assertEquals("[REDACTED]ef", redact(List.of("abcd", "cdef"), "abcdef"));
    assertEquals("ab[REDACTED]", redact(List.of("cdef", "bcdq"), "abcdef"), "bcdq does not match: cdef does");
    assertEquals("a[REDACTED]X", redact(List.of("bcd", "abcde"), "abcdX"), "the longer one fell through");
    assertEquals("[REDACTED]", redact(List.of("bcd", "abcde"), "abcde"), "one that starts earlier wins");
    assertEquals("x[REDACTED]", redact(List.of("xxab", "ab"), "xxxab"));
    assertEquals("[REDACTED][REDACTED]a", redact(List.of("aaaa"), "aaaaaaaaa"), "no overlap between replacements");
  }

  @Test
  void aSecretThatStartsWithAnotherIsReplacedWholeWhereverTheReadsSplit() {
    List<String> secrets = List.of("deploy", "deploy:hunter2pass");
    String text = "u=deploy:hunter2pass, v=deploy; w=deploy:hunter2";
    String expected = "u=[REDACTED], v=[REDACTED]; w=[REDACTED]:hunter2";
    for (int cut = 0; cut <= text.length(); cut++) {
      assertEquals(expected, redact(secrets, text, cut), "split at " + cut);
    }
  }

  @Test
  void aPendingShorterSecretAtTheVeryEndIsStillReplaced() {
    // "deploy" might have become "deploy:hunter2pass" had the output gone on; it ended, so it is final
    assertEquals("x=[REDACTED]", redact(List.of("deploy", "deploy:hunter2pass"), "x=deploy"));
    assertEquals("x=[REDACTED]:hun", redact(List.of("deploy", "deploy:hunter2pass"), "x=deploy:hun"));
  }

  @Test
  void multiByteSecretsSplitInsideACharacter() {
    String secret = "pässwörd€";
    String text = "1 pässwörd€ 2 pässwörd 3";
    for (int cut = 0; cut <= text.getBytes(StandardCharsets.UTF_8).length; cut++) {
      assertEquals("1 [REDACTED] 2 pässwörd 3", redact(List.of(secret), text, cut), "split at byte " + cut);
    }
  }

  @Test
  void heldBackOnlyWhatCouldStillBeASecret() {
    Redactor r = new Redactor(List.of("tok-12345-secret", "tok-1"));
    byte[] a = "id tok-1".getBytes(StandardCharsets.UTF_8);
    assertEquals("id ", new String(r.process(a, 0, a.length), StandardCharsets.UTF_8),
        "tok-1 is a secret, but so may be what follows");
    byte[] b = "2x\n".getBytes(StandardCharsets.UTF_8);
    assertEquals("[REDACTED]2x\n", new String(r.process(b, 0, b.length), StandardCharsets.UTF_8));
    assertEquals(0, r.flush().length);
  }

  @Test
  void sameResultAsTheRuleForRandomSecretsAndSplits() {
    Random random = new Random(11);
    String alphabet = "abc€";
    for (int round = 0; round < 5000; round++) {
      List<String> secrets = new ArrayList<>();
      for (int i = 1 + random.nextInt(4); i > 0; i--) {
        secrets.add(randomText(random, alphabet, 1 + random.nextInt(5)));
      }
      String text = randomText(random, alphabet, random.nextInt(40));
      int length = text.getBytes(StandardCharsets.UTF_8).length;
      int[] cuts = random.ints(random.nextInt(5), 0, length + 1).sorted().toArray();
      String expected = reference(secrets, text);
      assertEquals(expected, redact(secrets, text, cuts),
          () -> "secrets " + secrets + ", text " + text + ", cuts " + java.util.Arrays.toString(cuts));
      // a secret set too large for the next-state table walks the trie instead, with the same result
      assertEquals(expected, redact(SecretSet.of(secrets, 0), text, cuts), "without the table");
    }
  }

  @Test
  void onePassOverALargeOutputWithManySecrets() {
    List<String> secrets = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      secrets.add("secret-" + i + "-value");
    }
    String line = "some output mentioning secret-17 and secret-17-value and secret-199-valu\n";
    String text = line.repeat(2000);
    String redacted = redact(secrets, text, 1000, 50_000, 50_001);
    assertEquals(reference(secrets, text), redacted);
    assertTrue(redacted.contains("secret-17 and [REDACTED] and secret-199-valu\n"));
  }

  private static String randomText(Random random, String alphabet, int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return b.toString();
  }
}
