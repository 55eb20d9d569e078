package dev.oz.worker.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.PullResponseItem;
import dev.oz.worker.docker.PullPolicy;
import dev.oz.worker.protocol.FailureReason;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes an image available under a pull policy, tried in order as fallbacks, and checks that its platform is
 * the engine's. Pulls stream on docker-java's own thread; no pooled thread waits for them. Tasks share pulls
 * ({@link SharedPulls}): one pull per image and credentials at a time, and none for a while towards a registry
 * that could not be reached.
 */
final class ImagePuller {
  private static final Logger log = LoggerFactory.getLogger(ImagePuller.class);

  private final DockerClient docker;
  private final Blocking blocking;
  private final RegistryAuth auth;
  private final String enginePlatform;
  private final SharedPulls shared = new SharedPulls();

  ImagePuller(DockerClient docker, Blocking blocking, RegistryAuth auth, String enginePlatform) {
    this.docker = docker;
    this.blocking = blocking;
    this.auth = auth;
    this.enginePlatform = enginePlatform;
  }

  /**
   * @param withAuth whether to use registry credentials (task images) or pull anonymously (sidecars)
   * @param reason the failure reason when the image cannot be had
   * @return the local image's inspection
   */
  Future<InspectImageResponse> ensure(String image, List<PullPolicy> policies, boolean withAuth, FailureReason reason,
      CancelScope scope) {
    return ensure(image, policies, withAuth, reason, scope, () -> { });
  }

  /** As above; {@code pullStarts} runs when a pull (of this call) begins: the task's image pull phase starts. */
  Future<InspectImageResponse> ensure(String image, List<PullPolicy> policies, boolean withAuth, FailureReason reason,
      CancelScope scope, Runnable pullStarts) {
    return attempt(image, policies, 0, withAuth, reason, new ArrayList<>(), scope, pullStarts);
  }

  private Future<InspectImageResponse> attempt(String image, List<PullPolicy> policies, int i, boolean withAuth,
      FailureReason reason, List<String> errors, CancelScope scope, Runnable pullStarts) {
    if (i >= policies.size()) {
      return Future.failedFuture(new TaskFailure(reason, "failed to pull image " + image + ": " + String.join("; ", errors)));
    }
    PullPolicy policy = policies.get(i);
    Future<InspectImageResponse> found;
    switch (policy) {
      case ALWAYS -> {
        pullStarts.run();
        found = pull(image, withAuth, scope).compose(v -> inspect(image));
      }
      case IF_NOT_PRESENT -> found = inspect(image).compose(local -> {
        if (local != null) {
          if (!errors.isEmpty()) {
            log.warn("Pulling {} failed ({}); using the local image (pull policy if-not-present)", image, errors.get(errors.size() - 1));
          } else {
            log.info("Reusing local image (pull policy if-not-present): {}", image);
          }
          return Future.succeededFuture(local);
        }
        if (!errors.isEmpty()) {
          return Future.failedFuture(new IllegalStateException("not present locally"));
        }
        log.info("Image {} not found locally (pull policy if-not-present); pulling", image);
        pullStarts.run();
        return pull(image, withAuth, scope).compose(v -> inspect(image));
      });
      default -> found = inspect(image).compose(local -> local != null ? Future.succeededFuture(local)
          : Future.failedFuture(new IllegalStateException("image " + image + " not found locally and pull policy is never")));
    }
    return found
        .compose(local -> local == null
            ? Future.failedFuture(new IllegalStateException("image " + image + " not found after pull")) : Future.succeededFuture(local))
        .compose(local -> checkPlatform(image, local, reason))
        .recover(err -> {
          if (err instanceof TaskFailure) {
            return Future.failedFuture(err);
          }
          if (scope.cancelled()) {
            return Future.failedFuture(err);
          }
          errors.add(policy.configName() + ": " + DockerEngine.rootMessage(err));
          return attempt(image, policies, i + 1, withAuth, reason, errors, scope, pullStarts);
        });
  }

  private Future<InspectImageResponse> checkPlatform(String image, InspectImageResponse local, FailureReason reason) {
    String platform = local.getOs() + "/" + local.getArch();
    if (!platform.equals(enginePlatform)) {
      return Future.failedFuture(new TaskFailure(reason,
          "image " + image + " is for platform " + platform + ", but this worker requires " + enginePlatform));
    }
    return Future.succeededFuture(local);
  }

  /** The local image, or null when it is not present. */
  Future<InspectImageResponse> inspect(String image) {
    return blocking.run(() -> {
      try {
        return docker.inspectImageCmd(image).exec();
      } catch (NotFoundException e) {
        return null;
      }
    });
  }

  private Future<Void> pull(String image, boolean withAuth, CancelScope scope) {
    ImageRef ref = ImageRef.parse(image);
    Future<Void> skipped = shared.recentlyUnreachable(ref.registry());
    if (skipped != null) {
      return skipped;
    }
    Future<AuthConfig> credentials = withAuth ? blocking.run(() -> auth.forImage(image)) : Future.succeededFuture(null);
    return credentials.compose(creds -> shared.pull(ref.pullName() + " as " + identity(creds), ref.registry(), scope, () -> {
      log.info("Pulling image: {}", image);
      Promise<Void> done = Promise.promise();
      PullCallback callback = new PullCallback(blocking, done);
      // always set: docker-java would otherwise fill in credentials from config.json itself, also for sidecars
      docker.pullImageCmd(ref.pullName()).withPlatform(enginePlatform).withAuthConfig(creds).exec(callback);
      return new SharedPulls.Started(done.future().onSuccess(v -> log.info("Successfully pulled image: {}", image)),
          callback);
    }));
  }

  /** Who pulls, without the secret: pulls with different credentials are not shared. */
  private static String identity(AuthConfig creds) {
    if (creds == null) {
      return "anonymous";
    }
    return creds.getRegistryAddress() + "/" + creds.getUsername() + "/"
        + Objects.hash(creds.getPassword(), creds.getAuth(), creds.getIdentitytoken(), creds.getRegistrytoken());
  }

  /** Completes on the backend context; an error line inside the progress stream fails the pull. */
  private static final class PullCallback extends AsyncCallback<PullResponseItem> {
    private final Blocking blocking;
    private final Promise<Void> done;
    private volatile String streamError;

    PullCallback(Blocking blocking, Promise<Void> done) {
      this.blocking = blocking;
      this.done = done;
    }

    @Override
    public void onNext(PullResponseItem item) {
      if (item.getErrorDetail() != null) {
        streamError = item.getErrorDetail().getMessage();
      } else if (item.getError() != null) {
        streamError = item.getError();
      }
    }

    @Override
    protected void finished(Throwable error) {
      blocking.onContext(() -> {
        if (error != null) {
          done.tryFail(error);
        } else if (streamError != null) {
          done.tryFail(new IllegalStateException(streamError));
        } else {
          done.tryComplete();
        }
      });
    }
  }
}
