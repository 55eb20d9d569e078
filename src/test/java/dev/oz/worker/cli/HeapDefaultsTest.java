package dev.oz.worker.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The worker process's memory defaults, seen in a fresh JVM as an operator would start it. */
class HeapDefaultsTest {

  /** Prints the flags after applying the defaults: the child JVM's side of the test. */
  public static void main(String[] args) {
    HeapDefaults.apply();
    HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    for (String flag : HeapDefaults.DEFAULTS.keySet()) {
      System.out.println(flag + "=" + hotspot.getVMOption(flag).getValue());
    }
  }

  private static String flagsIn(String... jvmArgs) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(List.of(jvmArgs));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), HeapDefaultsTest.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(30, TimeUnit.SECONDS);
    return out.lines().filter(l -> l.contains("=")).reduce((a, b) -> a + "," + b).orElse(out);
  }

  @Test
  void idleCollectionAndHeapShrinkingAreOnByDefault() throws Exception {
    assertEquals("G1PeriodicGCInterval=30000,MinHeapFreeRatio=10,MaxHeapFreeRatio=30", flagsIn());
  }

  @Test
  void anOperatorsFlagIsKept() throws Exception {
    assertEquals("G1PeriodicGCInterval=5000,MinHeapFreeRatio=10,MaxHeapFreeRatio=50",
        flagsIn("-XX:G1PeriodicGCInterval=5000", "-XX:MaxHeapFreeRatio=50"));
  }
}
