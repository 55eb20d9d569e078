package dev.oz.worker.cli;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Memory defaults for the worker process, set at start through the JVM's manageable flags, so that they hold for
 * {@code java -jar} without a launcher script. A worker idles most of the time between bursts of task output:
 * G1 keeps whatever heap a log flood made it grow unless told to give it back, so these make it collect when idle
 * and shrink the heap after a collection. A flag the operator set (e.g. through {@code JAVA_TOOL_OPTIONS}) is left
 * as it is. Not used when the worker is embedded: the host application owns its JVM.
 */
final class HeapDefaults {
  /** Flag name → value: a periodic collection after 30 s without one; keep at most 30 % of the heap free. */
  static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("G1PeriodicGCInterval", "30000");
    DEFAULTS.put("MinHeapFreeRatio", "10");
    DEFAULTS.put("MaxHeapFreeRatio", "30");
  }

  private HeapDefaults() {
  }

  /** Applies each default whose flag still has the JVM's own value; returns what was set. */
  static Map<String, String> apply() {
    Map<String, String> applied = new LinkedHashMap<>();
    HotSpotDiagnosticMXBean hotspot;
    try {
      hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    } catch (RuntimeException | LinkageError notHotSpot) {
      return applied;
    }
    if (hotspot == null) {
      return applied;
    }
    for (Map.Entry<String, String> e : DEFAULTS.entrySet()) {
      try {
        VMOption option = hotspot.getVMOption(e.getKey());
        if (option.getOrigin() == VMOption.Origin.DEFAULT && option.isWriteable()) {
          hotspot.setVMOption(e.getKey(), e.getValue());
          applied.put(e.getKey(), e.getValue());
        }
      } catch (IllegalArgumentException unknownOrRefused) {
        // another collector or JVM: its own defaults stand
      }
    }
    return applied;
  }
}
