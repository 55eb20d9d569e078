package dev.oz.worker.logs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The block queue against a plain byte array: appends across block ends, peeks and skips of any size. */
class ByteQueueTest {

  @Test
  void behavesLikeOneLongArray() {
    Random random = new Random(7);
    ByteQueue q = new ByteQueue();
    ByteArrayOutputStream model = new ByteArrayOutputStream();
    int head = 0;
    byte next = 0;
    for (int op = 0; op < 5_000; op++) {
      if (random.nextInt(3) > 0) {
        int n = random.nextInt(random.nextBoolean() ? 100 : 3 * ByteQueue.BLOCK_BYTES);
        byte[] src = new byte[n + 10];
        for (int i = 0; i < src.length; i++) {
          src[i] = next++;
        }
        q.write(src, 5, n);
        model.write(src, 5, n);
      } else {
        byte[] all = model.toByteArray();
        int size = all.length - head;
        assertEquals(size, q.size());
        int max = random.nextInt(2 * ByteQueue.BLOCK_BYTES + 1);
        byte[] dst = new byte[max];
        int copied = q.peek(dst, max);
        assertEquals(Math.min(max, size), copied);
        assertArrayEquals(Arrays.copyOfRange(all, head, head + copied), Arrays.copyOf(dst, copied));
        if (size > 0) {
          assertEquals(all[head], q.first());
        }
        int skip = random.nextInt(size + 1);
        q.skip(skip);
        head += skip;
        // keep only what is still queued in the model
        model.reset();
        model.write(all, head, all.length - head);
        head = 0;
      }
    }
  }
}
