package dev.oz.worker.docker;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Ulimit;
import dev.oz.worker.config.ConfigException;
import dev.oz.worker.config.ConfigJson;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the operator imposes on every task container, beyond the Go worker (its strict YAML parser would refuse these
 * keys under {@code backend.docker}): resources when the assignment names none, process and network isolation,
 * runtime, capabilities, a read-only root filesystem with a writable {@code /workspace} and {@code /tmp}, ulimits.
 *
 * @param defaultVcpus CPUs when the assignment's shape has none (0: no limit)
 * @param defaultMemoryGb memory (GiB) when the assignment's shape has none (0: no limit)
 * @param pidsLimit at most this many processes in the container (0: the engine's default)
 * @param network network mode ({@code bridge}, {@code none}, {@code host}) or a named network; null: the engine's default
 * @param runtime OCI runtime (e.g. {@code runsc}); null: the engine's default
 * @param ulimits {@code name=soft[:hard]} entries, e.g. {@code nofile=1024:2048}
 */
public record ContainerPolicy(double defaultVcpus, double defaultMemoryGb, long pidsLimit, String network,
    String runtime, List<String> capDrop, boolean noNewPrivileges, boolean readOnlyRootfs, List<String> ulimits) {

  public static final ContainerPolicy NONE = new ContainerPolicy(0, 0, 0, null, null, List.of(), false, false, List.of());
  /** Writable places on a read-only root: the agent's working directory and the temporary directory. */
  static final List<String> WRITABLE_ON_READ_ONLY_ROOT = List.of("/workspace", "/tmp");
  private static final long GIB = 1L << 30;

  /** Bound from the {@code docker} block by {@link ConfigJson}: an absent key is the engine's default. */
  @JsonCreator
  public ContainerPolicy {
    network = blankToNull(network);
    runtime = blankToNull(runtime);
    capDrop = capDrop == null ? List.of() : List.copyOf(capDrop);
    ulimits = ulimits == null ? List.of() : List.copyOf(ulimits);
  }

  /** The policy keys of the {@code docker} block (they sit beside the other Docker settings). */
  static ContainerPolicy read(JsonObject keys) {
    ContainerPolicy p = ConfigJson.read(keys, ContainerPolicy.class, DockerBackendFactory.NAME);
    String k = DockerBackendFactory.NAME + ".";
    if (p.defaultVcpus < 0 || p.defaultMemoryGb < 0) {
      throw new ConfigException(k + (p.defaultVcpus < 0 ? "default_vcpus" : "default_memory_gb") + " must not be negative");
    }
    if (p.pidsLimit < 0) {
      throw new ConfigException(k + "pids_limit must not be negative (0: the engine's default)");
    }
    p.capDrop.forEach(c -> capability(k + "cap_drop", c));
    p.ulimits.forEach(u -> ulimit(k + "ulimits", u));
    return p;
  }

  void writeTo(JsonObject json) {
    if (defaultVcpus > 0) {
      json.put("default_vcpus", defaultVcpus);
    }
    if (defaultMemoryGb > 0) {
      json.put("default_memory_gb", defaultMemoryGb);
    }
    if (pidsLimit > 0) {
      json.put("pids_limit", pidsLimit);
    }
    if (network != null) {
      json.put("network", network);
    }
    if (runtime != null) {
      json.put("runtime", runtime);
    }
    if (!capDrop.isEmpty()) {
      json.put("cap_drop", new JsonArray(new ArrayList<>(capDrop)));
    }
    if (noNewPrivileges) {
      json.put("no_new_privileges", true);
    }
    if (readOnlyRootfs) {
      json.put("read_only_rootfs", true);
    }
    if (!ulimits.isEmpty()) {
      json.put("ulimits", new JsonArray(new ArrayList<>(ulimits)));
    }
  }

  /** Applies the policy to the task container; the assignment's own shape wins over the defaults. */
  void applyTo(HostConfig host, long nanoCpus, long memoryBytes) {
    long cpus = nanoCpus > 0 ? nanoCpus : Math.round(defaultVcpus * 1e9);
    long memory = memoryBytes > 0 ? memoryBytes : Math.round(defaultMemoryGb * GIB);
    if (cpus > 0) {
      host.withNanoCPUs(cpus);
    }
    if (memory > 0) {
      host.withMemory(memory).withMemorySwap(memory);
    }
    if (pidsLimit > 0) {
      host.withPidsLimit(pidsLimit);
    }
    if (network != null) {
      host.withNetworkMode(network);
    }
    if (runtime != null) {
      host.withRuntime(runtime);
    }
    if (!capDrop.isEmpty()) {
      host.withCapDrop(capDrop.stream().map(c -> capability("cap_drop", c)).toArray(Capability[]::new));
    }
    if (noNewPrivileges) {
      host.withSecurityOpts(List.of("no-new-privileges"));
    }
    if (readOnlyRootfs) {
      Map<String, String> tmpfs = new LinkedHashMap<>();
      WRITABLE_ON_READ_ONLY_ROOT.forEach(path -> tmpfs.put(path, ""));
      host.withReadonlyRootfs(true).withTmpFs(tmpfs);
    }
    if (!ulimits.isEmpty()) {
      host.withUlimits(ulimits.stream().map(u -> ulimit("ulimits", u)).toList());
    }
  }

  private static Capability capability(String setting, String name) {
    String norm = name.trim().toUpperCase(Locale.ROOT);
    norm = norm.startsWith("CAP_") ? norm.substring(4) : norm;
    try {
      return Capability.valueOf(norm);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(setting + ": unknown capability \"" + name + "\" (e.g. ALL, NET_RAW, SYS_ADMIN)");
    }
  }

  private static Ulimit ulimit(String setting, String text) {
    String usage = setting + ": invalid ulimit \"" + text + "\" (use NAME=SOFT[:HARD], e.g. nofile=1024:2048)";
    int eq = text.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException(usage);
    }
    String[] limits = text.substring(eq + 1).split(":", -1);
    try {
      long soft = Long.parseLong(limits[0].trim());
      long hard = limits.length > 1 ? Long.parseLong(limits[1].trim()) : soft;
      if (limits.length > 2 || soft > hard) {
        throw new ConfigException(usage);
      }
      return new Ulimit(text.substring(0, eq).trim(), soft, hard);
    } catch (NumberFormatException e) {
      throw new ConfigException(usage);
    }
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
