package dev.oz.worker.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oz.worker.protocol.ProtocolJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The jar's JIT default, checked in fresh JVMs: what each compiles after the worker's start-up step. */
class JitDefaultsTest {

  /**
   * Applies the defaults as the worker's main does, then runs a hot loop; says on stderr whether they were applied
   * (stdout carries the JVM's compilation lines, written by its compiler threads in between).
   */
  public static final class Probe {
    public static void main(String[] args) {
      System.err.println("applied=" + JitDefaults.apply());
      long sum = 0;
      for (int round = 0; round < 200; round++) {
        sum += hot(200_000);
      }
      // a byte loop of the worker's log path (JSON escaping of a task_log chunk)
      byte[] chunk = "a line of output, \"quoted\"\n".repeat(2_000).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      for (int round = 0; round < 2_000; round++) {
        sum += ProtocolJson.encodeLog("t", null, round, "stdout", chunk, 0, chunk.length, 0, false, null).length();
      }
      System.err.println("sum=" + sum);
    }

    static long hot(int n) {
      long s = 0;
      for (int i = 0; i < n; i++) {
        s += (i * 31L) ^ (i >>> 3);
      }
      return s;
    }
  }

  @Test
  void aJvmWithItsOwnDefaultsCompilesTheRestWithC1Only() throws Exception {
    List<String> out = probe(List.of());
    assertTrue(out.contains("applied=true"), String.join("\n", out));
    assertTrue(out.stream().anyMatch(l -> l.contains("JitDefaultsTest$Probe::hot") && l.contains("excluded by CompileCommand")),
        "C2 refused the hot method:\n" + String.join("\n", out));
    assertTrue(out.stream().anyMatch(l -> isCompile(l, 1, "JitDefaultsTest$Probe::hot")),
        "C1 compiled it instead:\n" + String.join("\n", out));
    assertFalse(out.stream().anyMatch(l -> isCompile(l, 4, "JitDefaultsTest$Probe::hot")), String.join("\n", out));
  }

  @Test
  void theLoopsOverEveryByteOfOutputAreLeftToC2() throws Exception {
    List<String> out = probe(List.of());
    assertTrue(out.contains("applied=true"), String.join("\n", out));
    assertTrue(out.stream().anyMatch(l -> isCompile(l, 4, "ProtocolJson::escapeUtf8")),
        "C2 compiled the escaping loop:\n" + String.join("\n", out));
    assertFalse(out.stream().anyMatch(l -> l.contains("ProtocolJson::escapeUtf8") && l.contains("excluded")),
        String.join("\n", out));
  }

  @Test
  void anOperatorsJitFlagWins() throws Exception {
    List<String> out = probe(List.of("-XX:TieredStopAtLevel=4"));
    assertTrue(out.contains("applied=false"), String.join("\n", out));
    assertTrue(out.stream().anyMatch(l -> isCompile(l, 4, "JitDefaultsTest$Probe::hot")),
        "C2 compiled the hot method:\n" + String.join("\n", out));
  }

  @Test
  void aJvmAlreadyWithoutC2IsLeftAlone() throws Exception {
    List<String> out = probe(List.of("-XX:TieredStopAtLevel=1"));
    assertTrue(out.contains("applied=false"), String.join("\n", out));
  }

  /** A PrintCompilation line of a compilation of {@code method} at {@code level} (not a deoptimisation note). */
  private static boolean isCompile(String line, int level, String method) {
    String[] f = line.trim().split("\\s+");
    return line.contains(method) && !line.contains("made not") && f.length > 3
        && (f[2].equals(String.valueOf(level)) || f[3].equals(String.valueOf(level)));
  }

  private static List<String> probe(List<String> jvmArgs) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-XX:+PrintCompilation", "-cp", System.getProperty("java.class.path"), Probe.class.getName()));
    Path stdout = Files.createTempFile("jit-probe", ".out");
    Path stderr = Files.createTempFile("jit-probe", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
      pb.environment().remove("JAVA_TOOL_OPTIONS");
      pb.environment().remove("JDK_JAVA_OPTIONS");
      Process p = pb.start();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      List<String> lines = new ArrayList<>(Files.readAllLines(stderr)); // the probe's own lines first
      lines.addAll(Files.readAllLines(stdout));
      assertEquals(0, p.exitValue(), String.join("\n", lines));
      return lines;
    } finally {
      Files.deleteIfExists(stdout);
      Files.deleteIfExists(stderr);
    }
  }
}
