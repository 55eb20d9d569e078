package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * When a busy log socket is paused: the decision alone, on a simulated clock and stream (the pause itself is a Vert.x
 * timer). A pause must never let more pile up than the engine's end of the socket holds (about 20 KB of log lines), or
 * the engine's follow waits for the worker; without pauses, a fast reader would take the lines a few at a time.
 */
class ReadPacerTest {
  private static final double SOCKET_HOLDS = 20_000;

  /** Reads of a stream of {@code bytesPerMs}; a pause of 1 ms really lasts 1 ms + {@code lateMs}. */
  private record Reads(double largest, double average, int pauses, double overfilled) {
  }

  private static Reads simulate(double bytesPerMs, double lateMs) {
    EngineStreams.ReadPacer pacer = new EngineStreams.ReadPacer(null, null);
    double t = 0;
    double last = 0;
    double largest = 0;
    double total = 0;
    int pauses = 0;
    int overfilled = 0;
    int reads = 2_000;
    for (int i = 0; i < reads; i++) {
      double bytes = Math.max(1, (t - last) * bytesPerMs); // what arrived since the previous read
      last = t;
      largest = Math.max(largest, bytes);
      overfilled += bytes >= SOCKET_HOLDS ? 1 : 0;
      total += bytes;
      boolean pause = pacer.pauseAfter((int) bytes, (long) (t * 1_000_000));
      pauses += pause ? 1 : 0;
      t += pause ? 1 + lateMs : 0.05 + bytes / 100_000; // the next read: after the pause, or after handling this one
    }
    return new Reads(largest, total / reads, pauses, (double) overfilled / reads);
  }

  @Test
  void aQuietLogIsNeverHeldBack() {
    EngineStreams.ReadPacer pacer = new EngineStreams.ReadPacer(null, null);
    for (int i = 0; i < 10; i++) {
      assertFalse(pacer.pauseAfter(70, i * 50_000_000L), "a line every 50 ms");
    }
  }

  @Test
  void aFloodIsReadInBatchesOnAnIdleLoop() {
    for (double kbPerMs : new double[] {1, 5, 8}) {
      Reads r = simulate(kbPerMs * 1000, 0.1);
      // about one read per millisecond (the shortest pause), never close to what the socket holds
      assertTrue(r.average() >= 0.8 * kbPerMs * 1000, kbPerMs + " MB/s: reads of " + r.average() + " bytes on average");
      assertTrue(r.largest() < 0.65 * SOCKET_HOLDS, kbPerMs + " MB/s: a read of " + r.largest() + " bytes");
    }
  }

  @Test
  void pausesThatRunLateRarelyLetTheSocketFill() {
    for (double lateMs : new double[] {1, 3, 5, 10}) {
      for (double kbPerMs : new double[] {1, 2, 5, 10}) {
        Reads r = simulate(kbPerMs * 1000, lateMs);
        // the first late pause is measured, then the pacer pauses only when it can afford one that late
        assertTrue(r.overfilled() < 0.005, kbPerMs + " MB/s, pauses " + lateMs + " ms late: " + 100 * r.overfilled()
            + " % of the reads found the socket full");
      }
    }
  }

  @Test
  void aSlowStreamIsStillBatchedWhenPausesRunLate() {
    Reads r = simulate(500, 5);
    assertTrue(r.pauses() > 0 && r.average() >= 1_000, "reads of " + r.average() + " bytes at 0.5 MB/s");
  }
}
