package dev.oz.worker.controlplane;

import java.time.Instant;

/** Published whenever the control-plane connection comes up or goes down. */
public record ConnectionState(boolean connected, Instant since) {
}
