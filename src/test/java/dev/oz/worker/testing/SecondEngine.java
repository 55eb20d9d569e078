package dev.oz.worker.testing;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A Docker engine of a test's own, beside the machine's: its own dockerd (and the containerd that starts), data
 * and exec roots, pid file, daemon config and bridge, all under one folder, listening on a unix socket and on
 * TCP (with {@code --tlsverify} when asked). For tests of remote, rootless and failing engines: it can be
 * stopped, killed and started again with the same address and state.
 *
 * <p>Needs root, {@code dockerd} and {@code ip}; anything missing fails the test (never a skip). The engine
 * never touches the machine's engine: its bridge is one of its own ({@code --bridge none} would make dockerd
 * delete docker0), no iptables rules, and its own containerd namespaces in case it shares a system containerd.
 * A run that crashed leaves a folder under {@link #BASE}; the next start stops what it left running and
 * removes it.
 */
public final class SecondEngine implements AutoCloseable {
  /** Every engine's folder is here, so a later run finds what a crashed one left. */
  public static final Path BASE = Path.of("/tmp/oz-second-engines");
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final int LOG_TAIL_LINES = 30;
  private static final Object BASE_LOCK = new Object();

  private final String id;
  private final Path dir;
  private final String bridge;
  private final int port;
  private final TestCertificates certificates;
  private final List<Path> extraSockets;
  private final List<String> daemonArgs;
  private final Thread exitHook;
  private volatile Process dockerd;
  private DockerClient client;
  private boolean closed;

  private SecondEngine(Builder b) {
    requireTools();
    id = UUID.randomUUID().toString().substring(0, 8);
    dir = BASE.resolve(id);
    bridge = "ozse" + id;
    port = freePort();
    extraSockets = List.copyOf(b.extraSockets);
    daemonArgs = List.copyOf(b.daemonArgs);
    // a test JVM that exits without close() (interrupted run) still stops its engine
    exitHook = new Thread(() -> {
      Process p = dockerd;
      if (p != null && p.isAlive()) {
        p.destroy();
        p.onExit().completeOnTimeout(null, STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS).join();
      }
      cleanUp(dir);
    }, "second-engine-cleanup-" + id);
    Runtime.getRuntime().addShutdownHook(exitHook);
    try {
      withBaseLock(() -> {
        removeLeftovers();
        try {
          Files.createDirectories(dir.resolve("run"));
          Files.writeString(dir.resolve("owner"), ProcessHandle.current().pid() + " " + startOf(ProcessHandle.current()));
          Files.writeString(dir.resolve("bridge"), bridge);
          Files.writeString(dir.resolve("daemon.json"), "{}"); // not the machine's /etc/docker/daemon.json
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        String subnet = freeSubnet();
        run("ip", "link", "add", bridge, "type", "bridge");
        run("ip", "addr", "add", subnet + ".1/24", "dev", bridge);
        run("ip", "link", "set", bridge, "up");
      });
      certificates = b.tls ? TestCertificates.create(dir.resolve("certs"), "oz-second-engine-" + id) : null;
      start();
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  public static final class Builder {
    private boolean tls;
    private final List<Path> extraSockets = new ArrayList<>();
    private final List<String> daemonArgs = new ArrayList<>();

    private Builder() {
    }

    /** TCP with {@code --tlsverify}: certificates of a CA of its own ({@link #certificates()}). */
    public Builder tls() {
      tls = true;
      return this;
    }

    /** Listens on this unix socket too (its folder is created). */
    public Builder alsoListenOn(Path socket) {
      extraSockets.add(socket);
      return this;
    }

    /** More dockerd flags, e.g. {@code --live-restore}. */
    public Builder daemonArgs(String... args) {
      daemonArgs.addAll(List.of(args));
      return this;
    }

    public SecondEngine start() {
      return new SecondEngine(this);
    }
  }

  /** The TCP address: {@code tcp://127.0.0.1:PORT}, TLS when built with {@link Builder#tls()}. */
  public String tcpAddress() {
    return "tcp://127.0.0.1:" + port;
  }

  /** The engine's own unix socket (never TLS). */
  public Path socket() {
    return dir.resolve("run/docker.sock");
  }

  /** Null without TLS. */
  public TestCertificates certificates() {
    return certificates;
  }

  /** What a docker client needs to use this engine over TCP: DOCKER_HOST, and with TLS DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
  public Map<String, String> clientEnv() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("DOCKER_HOST", tcpAddress());
    if (certificates != null) {
      env.put("DOCKER_TLS_VERIFY", "1");
      env.put("DOCKER_CERT_PATH", certificates.clientDir().toString());
    }
    return env;
  }

  /** A client of this engine (over its unix socket), for setting up and checking what ran there. */
  public synchronized DockerClient docker() {
    if (client == null) {
      DockerClientConfig config = new DefaultDockerClientConfig.Builder()
          .withDockerHost("unix://" + socket()).withDockerTlsVerify(false).build();
      client = DockerClientImpl.getInstance(config,
          new ApacheDockerHttpClient.Builder().dockerHost(config.getDockerHost()).build());
    }
    return client;
  }

  /** Containers of a worker id on this engine, running or not. */
  public List<Container> containersOf(String workerId) {
    return docker().listContainersCmd().withShowAll(true).withLabelFilter(Map.of("oz.worker.id", workerId)).exec();
  }

  /** Copies images from the machine's engine ({@code docker save | docker load}). */
  public void loadImages(String... images) {
    var save = Engine.docker().saveImagesCmd();
    for (String image : images) {
      int colon = image.lastIndexOf(':');
      save.withImage(image.substring(0, colon), image.substring(colon + 1));
    }
    try (InputStream tar = save.exec()) {
      docker().loadImageCmd(tar).exec();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts dockerd (again, after {@link #stop()} or {@link #kill()}: same address, same state) and waits until it answers. */
  public synchronized void start() {
    if (dockerd != null && dockerd.isAlive()) {
      throw new IllegalStateException("already running");
    }
    List<String> cmd = new ArrayList<>(List.of("dockerd",
        "--config-file", dir.resolve("daemon.json").toString(),
        "--data-root", dir.resolve("data").toString(),
        "--exec-root", dir.resolve("exec").toString(),
        "--pidfile", dir.resolve("docker.pid").toString(),
        // dockerd starts a containerd of its own under the exec root unless a system containerd runs; then
        // these namespaces keep the two engines' containers apart
        "--containerd-namespace", "oz-" + id, "--containerd-plugins-namespace", "oz-" + id + "-plugins",
        "--bridge", bridge, "--iptables=false", "--ip6tables=false",
        "-H", "unix://" + socket(), "-H", tcpAddress()));
    for (Path socket : extraSockets) {
      mkdirs(socket.getParent());
      cmd.addAll(List.of("-H", "unix://" + socket));
    }
    if (certificates != null) {
      cmd.addAll(List.of("--tlsverify", "--tlscacert", certificates.ca().toString(),
          "--tlscert", certificates.serverCert().toString(), "--tlskey", certificates.serverKey().toString()));
    } else {
      cmd.add("--tls=false"); // newer engines refuse (or delay) plain TCP unless told explicitly
    }
    cmd.addAll(daemonArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
    pb.environment().keySet().removeIf(k -> k.startsWith("DOCKER_"));
    try {
      dockerd = pb.start();
      Files.writeString(dir.resolve("dockerd.pid"), Long.toString(dockerd.pid()));
    } catch (IOException e) {
      throw new AssertionError("cannot run dockerd: " + e.getMessage(), e);
    }
    awaitReady();
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      if (!dockerd.isAlive()) {
        throw new AssertionError("the second dockerd exited with status " + dockerd.exitValue() + "; last lines of "
            + log() + ":\n" + logTail(LOG_TAIL_LINES));
      }
      if (Files.exists(socket())) { // before that, every ping is a connection error the HTTP client logs
        try {
          docker().infoCmd().exec();
          return;
        } catch (RuntimeException e) {
          last = e;
        }
      }
      Waits.sleep(100);
    }
    throw new AssertionError("the second dockerd did not answer on " + socket() + " within " + READY_TIMEOUT.toSeconds()
        + " s (" + (last == null ? "" : last.getMessage()) + "); last lines of " + log() + ":\n" + logTail(LOG_TAIL_LINES));
  }

  /** Stops dockerd as an init system would (SIGTERM, then SIGKILL after 30 s); containers stop with it unless live-restore. */
  public synchronized void stop() {
    if (dockerd == null || !dockerd.isAlive()) {
      return;
    }
    dockerd.destroy();
    try {
      if (!dockerd.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        dockerd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Kills dockerd at once (SIGKILL), as a crash would: its containerd and containers live on. */
  public synchronized void kill() {
    if (dockerd != null && dockerd.isAlive()) {
      try {
        dockerd.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  public boolean isRunning() {
    return dockerd != null && dockerd.isAlive();
  }

  public Path log() {
    return dir.resolve("dockerd.log");
  }

  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log(), StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Stops the engine and removes everything it made: processes, mounts, bridge, folder. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (client != null) {
      try {
        client.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    stop();
    withBaseLock(() -> cleanUp(dir));
    try {
      Runtime.getRuntime().removeShutdownHook(exitHook);
    } catch (IllegalStateException ignored) {
      // the JVM is shutting down: the hook runs anyway
    }
  }

  // ---- leftovers and clean-up

  /** Folders of engines whose test JVM is gone: stop what still runs there and remove them. */
  private static void removeLeftovers() {
    if (!Files.isDirectory(BASE)) {
      return;
    }
    try (Stream<Path> dirs = Files.list(BASE)) {
      for (Path d : dirs.filter(Files::isDirectory).toList()) {
        if (!ownerAlive(d)) {
          System.err.println("Removing a second engine left by a previous test run: " + d);
          stopLeftoverDaemon(d);
          cleanUp(d);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean ownerAlive(Path d) {
    try {
      String[] owner = Files.readString(d.resolve("owner")).trim().split(" ", 2);
      Optional<ProcessHandle> p = ProcessHandle.of(Long.parseLong(owner[0]));
      return p.isPresent() && p.get().isAlive() && startOf(p.get()).equals(owner[1]);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** A dockerd that outlived its test JVM: its containers first, so none keeps running without an engine. */
  private static void stopLeftoverDaemon(Path d) {
    Optional<ProcessHandle> daemon = readPid(d.resolve("dockerd.pid")).flatMap(ProcessHandle::of)
        .filter(p -> p.info().commandLine().orElse("").contains(d.toString()));
    if (daemon.isEmpty()) {
      return;
    }
    DockerClientConfig config = new DefaultDockerClientConfig.Builder()
        .withDockerHost("unix://" + d.resolve("run/docker.sock")).withDockerTlsVerify(false).build();
    try (DockerClient c = DockerClientImpl.getInstance(config,
        new ApacheDockerHttpClient.Builder().dockerHost(config.getDockerHost()).responseTimeout(Duration.ofSeconds(20)).build())) {
      for (Container container : c.listContainersCmd().withShowAll(true).exec()) {
        c.removeContainerCmd(container.getId()).withForce(true).exec();
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("Removing the leftover engine's containers: " + e.getMessage());
    }
    daemon.get().destroy();
    daemon.get().onExit().completeOnTimeout(null, STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS).join();
  }

  /** Ends every process that names the folder (dockerd, containerd, shims), unmounts under it, drops the bridge and the folder. */
  private static void cleanUp(Path d) {
    String marker = d.toString() + "/";
    List<ProcessHandle> procs = ProcessHandle.allProcesses()
        .filter(p -> p.pid() != ProcessHandle.current().pid())
        .filter(p -> p.info().commandLine().map(c -> c.contains(marker)).orElse(false)).toList();
    procs.forEach(ProcessHandle::destroyForcibly);
    procs.forEach(p -> p.onExit().completeOnTimeout(null, 10, TimeUnit.SECONDS).join());
    for (String mount : mountsUnder(d)) {
      runQuietly("umount", "-l", mount);
    }
    try {
      String bridge = Files.readString(d.resolve("bridge")).trim();
      if (Files.exists(Path.of("/sys/class/net", bridge))) {
        runQuietly("ip", "link", "del", bridge);
      }
    } catch (IOException ignored) {
      // no bridge was made
    }
    deleteTree(d);
  }

  /** Mount points at or under {@code d}, deepest first. */
  private static List<String> mountsUnder(Path d) {
    try {
      return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
          .map(l -> l.split(" ")[4].replace("\\040", " "))
          .filter(m -> m.equals(d.toString()) || m.startsWith(d + "/"))
          .sorted(Comparator.comparingInt(String::length).reversed()).toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  private static void deleteTree(Path d) {
    if (!Files.exists(d)) {
      return;
    }
    try (Stream<Path> all = Files.walk(d)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.err.println("Could not remove all of " + d + ": " + e.getMessage());
    }
  }

  // ---- small helpers

  private static void requireTools() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      if (!Integer.valueOf(0).equals(uid)) {
        throw new AssertionError("a second Docker engine needs root (uid " + uid + ")");
      }
    } catch (IOException e) {
      throw new AssertionError("cannot tell the user id: " + e.getMessage(), e);
    }
    for (String tool : List.of("dockerd", "ip")) {
      boolean found = Stream.of(System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
          .anyMatch(p -> Files.isExecutable(Path.of(p, tool)));
      if (!found) {
        throw new AssertionError(tool + " not found on PATH: a second Docker engine needs it (bash .ci/test installs"
            + " docker.io; ip comes with iproute2)");
      }
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A 10.213.N.0/24 no interface of this machine uses. */
  private static String freeSubnet() {
    Set<Integer> used = new HashSet<>();
    Matcher m = Pattern.compile("inet 10\\.213\\.(\\d+)\\.").matcher(run("ip", "-o", "-4", "addr", "show"));
    while (m.find()) {
      used.add(Integer.parseInt(m.group(1)));
    }
    for (int n = 1; n < 255; n++) {
      if (!used.contains(n)) {
        return "10.213." + n;
      }
    }
    throw new AssertionError("no free 10.213.N.0/24 subnet for a second engine's bridge");
  }

  private static String startOf(ProcessHandle p) {
    return p.info().startInstant().map(Instant::toString).orElse("?");
  }

  private static Optional<Long> readPid(Path file) {
    try {
      return Optional.of(Long.parseLong(Files.readString(file).trim()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static void mkdirs(Path d) {
    try {
      Files.createDirectories(d);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Serialises set-up and clean-up across test JVMs (subnet choice, leftover removal). */
  private static void withBaseLock(Runnable action) {
    mkdirs(BASE);
    synchronized (BASE_LOCK) { // a file lock is held per JVM, not per thread
      try (FileChannel ch = FileChannel.open(BASE.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
           FileLock ignored = ch.lock()) {
        action.run();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError(String.join(" ", cmd) + " failed: " + out.trim());
      }
      return out;
    } catch (IOException e) {
      throw new AssertionError(String.join(" ", cmd) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static void runQuietly(String... cmd) {
    try {
      run(cmd);
    } catch (AssertionError e) {
      System.err.println(e.getMessage());
    }
  }
}
