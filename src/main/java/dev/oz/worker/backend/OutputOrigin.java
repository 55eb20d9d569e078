package dev.oz.worker.backend;

/**
 * Which part of a task wrote some output, for consumers that label it (the OTLP task log's {@code log.source}); the
 * {@code task_log} stream only knows stdout and stderr.
 *
 * @param kind what wrote it
 * @param container the container's name, when a container wrote it; else null
 * @param pod the pod's name, for Kubernetes output; else null
 */
public record OutputOrigin(Kind kind, String container, String pod) {

  /** What wrote the output. */
  public enum Kind {
    /** The task itself, as its backend runs it: the container, the agent process, the dispatch command. */
    TASK,
    /** A setup or teardown command around the task (direct backend). */
    HOOK,
    /** A named Docker container. */
    CONTAINER,
    /** A container of a Kubernetes pod. */
    POD
  }

  public static final OutputOrigin TASK = new OutputOrigin(Kind.TASK, null, null);
  public static final OutputOrigin HOOK = new OutputOrigin(Kind.HOOK, null, null);

  public static OutputOrigin container(String name) {
    return new OutputOrigin(Kind.CONTAINER, name, null);
  }

  public static OutputOrigin pod(String pod, String container) {
    return new OutputOrigin(Kind.POD, container, pod);
  }
}
