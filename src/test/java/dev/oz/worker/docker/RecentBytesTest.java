package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The ring keeps exactly the last bytes, in order, whatever the sizes of the writes. */
class RecentBytesTest {

  @Test
  void keepsTheLastCapacityBytesInOrder() {
    Random random = new Random(3);
    for (int capacity : new int[] {1, 7, 4096, 10_000, 256 * 1024}) {
      RecentBytes recent = new RecentBytes(capacity);
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      for (int i = 0; i < 300; i++) {
        byte[] src = new byte[random.nextInt(random.nextBoolean() ? 50 : 3 * capacity + 1) + 3];
        random.nextBytes(src);
        int length = src.length - 3;
        recent.add(src, 2, length);
        all.write(src, 2, length);
        byte[] everything = all.toByteArray();
        assertArrayEquals(Arrays.copyOfRange(everything, Math.max(0, everything.length - capacity), everything.length),
            recent.toArray(), "capacity " + capacity + " after write " + i);
      }
    }
  }
}
