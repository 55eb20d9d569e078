package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.github.dockerjava.api.model.AuthConfig;
import dev.oz.worker.protocol.FailureReason;
import dev.oz.worker.task.TaskSpec.SidecarMount;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image references, sidecar volume names (the Go worker's vectors), sidecar validation and registry auth. */
class ImageNamesTest {
  @TempDir
  Path dir;

  @Test
  void parsesReferences() {
    assertEquals(new ImageRef("docker.io", "library/ubuntu", "22.04", null), ImageRef.parse("ubuntu:22.04"));
    assertEquals("ubuntu:latest", ImageRef.parse("ubuntu").pullName());
    assertEquals("https://index.docker.io/v1/", ImageRef.parse("warpdotdev/agent").authKey());
    assertEquals("localhost:5000", ImageRef.parse("localhost:5000/a/b:1").authKey());
    assertEquals("ghcr.io/o/i@sha256:abc", ImageRef.parse("ghcr.io/o/i@sha256:abc").pullName());
    assertEquals("warpdotdev/agent", ImageRef.parse("index.docker.io/warpdotdev/agent:1").familiarName());
  }

  @Test
  void volumeNamesMatchTheGoWorker() {
    String digest = "sha256:cdd2970ebf33aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assertEquals("warpdotdev-warp-agent-cdd2970ebf33", SidecarVolumes.volumeName("warpdotdev/warp-agent:latest-dev", digest));
    assertEquals("localhost-5000-warp-agent-cdd2970ebf33", SidecarVolumes.volumeName("localhost:5000/warp-agent:pr120", digest));
    assertEquals("registry.example.com-8443-team-agent-abcdef012345",
        SidecarVolumes.volumeName("registry.example.com:8443/team/agent:v1", "sha256:abcdef0123456789"));
    assertEquals("warpdotdev-warp-agent-not-a-digest", SidecarVolumes.volumeName("warpdotdev/warp-agent", "not-a-digest"));
    assertEquals("ubuntu-0123456789ab", SidecarVolumes.volumeName("library/ubuntu:22.04", "sha256:0123456789abcdef"));
  }

  @Test
  void sidecarValidation() {
    assertEquals("sidecar for /x has empty image", invalid(new SidecarMount("", "/x", false)));
    assertEquals("sidecar img has empty mount path", invalid(new SidecarMount("img", " ", false)));
    assertEquals("sidecar img mount path tools is not absolute", invalid(new SidecarMount("img", "tools", false)));
    assertEquals("sidecar img mount path /a/../etc contains '..'", invalid(new SidecarMount("img", "/a/../etc", false)));
    assertEquals("duplicate mount path /agent/ for sidecar b",
        invalid(new SidecarMount("a", "/agent", false), new SidecarMount("b", "/agent/", false)));
    SidecarVolumes.validate(List.of(new SidecarMount("a", "/agent", false), new SidecarMount("b", "/tools", true)));
  }

  private static String invalid(SidecarMount... sidecars) {
    TaskFailure f = assertThrows(TaskFailure.class, () -> SidecarVolumes.validate(List.of(sidecars)));
    assertEquals(FailureReason.SIDECAR_PREP, f.reason);
    return f.getMessage();
  }

  @Test
  void authFromAuthsSection() throws Exception {
    Files.writeString(dir.resolve("config.json"), """
        {"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNzOndvcmQ="},
                   "registry.example.com:8443": {"username": "u2", "password": "p2"},
                   "tokenonly.example": {"identitytoken": "t"}}}""");
    RegistryAuth auth = new RegistryAuth(Map.of("DOCKER_CONFIG", dir.toString()));
    AuthConfig hub = auth.forImage("warpdotdev/agent:1");
    assertEquals("user", hub.getUsername());
    assertEquals("pass:word", hub.getPassword());
    assertEquals("https://index.docker.io/v1/", hub.getRegistryAddress());
    assertEquals("u2", auth.forImage("registry.example.com:8443/team/agent").getUsername());
    assertNull(auth.forImage("tokenonly.example/x"), "no username: pull anonymously, as the Go worker does");
    assertNull(auth.forImage("other.example/x"));
  }

  @Test
  void authFromCredentialHelpers() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    Path helper = bin.resolve("docker-credential-fake");
    Files.writeString(helper, """
        #!/bin/sh
        read server
        if [ "$server" = "ghcr.io" ]; then
          echo '{"ServerURL":"ghcr.io","Username":"helper-user","Secret":"helper-secret"}'
        elif [ "$server" = "https://index.docker.io/v1/" ]; then
          echo '{"ServerURL":"x","Username":"<token>","Secret":"id-token"}'
        else
          echo "credentials not found in native keychain"; exit 1
        fi
        """);
    Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(dir.resolve("config.json"), """
        {"credsStore": "fake", "credHelpers": {"quay.io": "missing-helper"},
         "auths": {"quay.io": {"auth": "cXVheTpx"}}}""");
    RegistryAuth auth = new RegistryAuth(Map.of("DOCKER_CONFIG", dir.toString(), "PATH", bin.toString()));
    AuthConfig gh = auth.forImage("ghcr.io/org/img:1");
    assertEquals("helper-user", gh.getUsername());
    assertEquals("helper-secret", gh.getPassword());
    assertEquals("id-token", auth.forImage("ubuntu").getIdentitytoken());
    assertEquals("quay", auth.forImage("quay.io/x/y").getUsername(), "a failing helper falls back to auths");
    assertNull(auth.forImage("nothing.example/x"));
  }
}
