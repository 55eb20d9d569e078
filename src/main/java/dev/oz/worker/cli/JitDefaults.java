package dev.oz.worker.cli;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.management.ObjectName;

/**
 * Nearly the image's JIT choice for {@code java -jar}: C1 for everything but the few loops that touch every byte of a
 * task's output ({@link #BYTE_LOOPS}), which C2 compiles (small methods, compiled once, several times faster than
 * C1's code for them). The image sets {@code -XX:TieredStopAtLevel=1} (src/main/docker/jvm.flags); a jar cannot name
 * JVM flags, so the worker adds compiler directives at start through the JVM's diagnostic command (what
 * {@code jcmd <pid> Compiler.directives_add} does): a method C2 would have taken is then compiled by C1 instead. A
 * worker mostly waits on containers; C2's compilations are most of the CPU a start-up and a fresh worker's first log
 * floods cost (bench/RESULTS.md). An operator who sets any JIT flag keeps their choice, e.g.
 * {@code JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=4} for the JVM's own tiered default. Not used when the worker is
 * embedded: the host application owns its JVM.
 */
final class JitDefaults {
  /** Every byte of a log flood passes these: decoding the engine's frames, redaction, JSON escaping, masking. */
  static final List<String> BYTE_LOOPS = List.of("dev/oz/worker/docker/EngineStreams$FrameDecoder.feed",
      "dev/oz/worker/logs/Redactor.scan", "dev/oz/worker/protocol/ProtocolJson.escapeUtf8",
      "dev/oz/worker/controlplane/MaskedFrameEncoder.mask");
  /** The first directive that matches a method decides; a pattern naming a method that does not exist matches none. */
  static final String DIRECTIVE = "[{ match: [" + String.join(", ", BYTE_LOOPS.stream().map(m -> '"' + m + '"')
      .toList()) + "], c2: { Exclude: false } }, { match: \"*.*\", c2: { Exclude: true } }]";
  /** Flags that say the JIT was chosen on the command line (or a flags file, or JAVA_TOOL_OPTIONS). */
  private static final List<String> CHOICES = List.of("TieredStopAtLevel", "TieredCompilation", "CompilationMode",
      "CompilerDirectivesFile", "CompileCommand", "CompileCommandFile");

  private JitDefaults() {
  }

  /** Adds the directive unless the operator chose; true when it was added. */
  static boolean apply() {
    try {
      HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      if (hotspot == null || chosen(hotspot)) {
        return false;
      }
      Path file = Files.createTempFile("oz-worker-jit", ".json");
      try {
        Files.writeString(file, DIRECTIVE);
        Object added = ManagementFactory.getPlatformMBeanServer().invoke(
            new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
            new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
        return String.valueOf(added).contains("2 compiler directives added");
      } finally {
        Files.deleteIfExists(file);
      }
    } catch (Exception | LinkageError notHotSpotOrRefused) {
      return false; // another JVM, or no diagnostic commands: its own JIT stands
    }
  }

  /** True when any JIT flag was set other than by the JVM itself, or C2 is not there to leave out. */
  static boolean chosen(HotSpotDiagnosticMXBean hotspot) {
    for (String flag : CHOICES) {
      try {
        VMOption option = hotspot.getVMOption(flag);
        if (option.getOrigin() != VMOption.Origin.DEFAULT && option.getOrigin() != VMOption.Origin.ERGONOMIC) {
          return true;
        }
      } catch (IllegalArgumentException unknown) {
        // not a flag of this JVM
      }
    }
    try {
      return !hotspot.getVMOption("TieredStopAtLevel").getValue().equals("4")
          || !hotspot.getVMOption("TieredCompilation").getValue().equals("true");
    } catch (IllegalArgumentException unknown) {
      return true;
    }
  }
}
