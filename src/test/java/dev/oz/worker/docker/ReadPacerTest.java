package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * When a busy log socket is paused: the decision alone, on a simulated clock and stream (the pause itself is a Vert.x
 * timer). A pause must not let anywhere near what the engine's end of the socket holds pile up (about 20 KB of log
 * lines), or the engine's follow waits for the worker; without pauses, a fast reader takes the lines a few at a time.
 */
class ReadPacerTest {
  private static final double SOCKET_HOLDS = 20_000;

  /** Reads of a stream of {@code bytesPerMs}; a pause of {@link EngineStreams.ReadPacer#PAUSE_MS} lasts {@code lateMs} more. */
  private record Reads(double largest, double average) {
  }

  private static Reads simulate(double bytesPerMs, double lateMs) {
    EngineStreams.ReadPacer pacer = new EngineStreams.ReadPacer(null, null);
    double t = 0;
    double last = 0;
    double largest = 0;
    double total = 0;
    int reads = 2_000;
    for (int i = 0; i < reads; i++) {
      double bytes = Math.max(1, (t - last) * bytesPerMs); // what arrived since the previous read
      last = t;
      largest = Math.max(largest, bytes);
      total += bytes;
      boolean pause = pacer.pauseAfter((int) bytes, (long) (t * 1_000_000));
      // the next read: after the pause, or as soon as this one is handled
      t += pause ? EngineStreams.ReadPacer.PAUSE_MS + lateMs : 0.05 + bytes / 100_000;
    }
    return new Reads(largest, total / reads);
  }

  @Test
  void aQuietLogIsNeverHeldBack() {
    EngineStreams.ReadPacer pacer = new EngineStreams.ReadPacer(null, null);
    for (int i = 0; i < 10; i++) {
      assertFalse(pacer.pauseAfter(70, i * 50_000_000L), "a line every 50 ms");
    }
  }

  @Test
  void aFloodIsReadInBatchesWellUnderWhatTheSocketHolds() {
    for (double kbPerMs : new double[] {1, 5, 8}) {
      Reads r = simulate(kbPerMs * 1000, 0.2);
      assertTrue(r.average() >= 0.4 * kbPerMs * 1000, kbPerMs + " MB/s: reads of " + r.average() + " bytes on average");
      assertTrue(r.largest() < 0.6 * SOCKET_HOLDS, kbPerMs + " MB/s: a read of " + r.largest() + " bytes");
    }
  }

  @Test
  void aLargeReadIsNotFollowedByAPause() {
    EngineStreams.ReadPacer pacer = new EngineStreams.ReadPacer(null, null);
    pacer.pauseAfter(70, 0);
    assertTrue(pacer.pauseAfter(700, 100_000));
    assertFalse(pacer.pauseAfter(16 * 1024, 200_000), "the reader is behind already: the socket may be full");
  }
}
