package dev.oz.worker.logs;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A task's secrets as one Aho–Corasick automaton over their UTF-8 bytes: a trie of the secrets whose states
 * also know their longest proper suffix in the trie (where to continue on a mismatch), so a stream is matched
 * against all secrets in one pass, each byte looked at once. Immutable; a task's streams share one.
 *
 * <p>State 0 is the empty prefix. The trie keeps each state's few edges in small arrays; from them a table
 * with the next state for every state and byte class (bytes that occur in no secret form one class, which
 * always leads back to state 0) is computed, so matching costs one lookup per byte. A very large secret set
 * would make that table big; then the trie and its suffix links are walked instead.
 */
final class SecretSet {
  private static final SecretSet EMPTY = new SecretSet(List.of(), 0);
  /** Largest next-state table (entries) built; beyond it, matching walks suffix links. */
  private static final int MAX_TABLE_ENTRIES = 256 * 1024;

  /** The state after byte b from state 0. */
  private final int[] fromRoot = new int[256];
  private final byte[][] edgeBytes;
  private final int[][] edgeTargets;
  /** Longest proper suffix of a state's string that is also a state. */
  private final int[] fail;
  /** Length of a state's string. */
  private final int[] depth;
  /** Length of the longest secret that ends a state's string, 0 if none. */
  private final int[] matchLength;
  private int states;
  private final int maxLength;
  /** Which two-byte sequences start a secret (bit {@code b0 << 8 | b1}); null if a secret is one byte long. */
  private final long[] startPairs;
  /** Bytes that occur in some secret. */
  private final boolean[] occurs = new boolean[256];
  /** Byte to byte class; class 0 is "in no secret". */
  private final int[] byteClass = new int[256];
  private int classes;
  /** Next state for state s and class c at {@code s * classes + c}, or null when too large. */
  private int[] table;

  private SecretSet(List<byte[]> secrets, int maxTableEntries) {
    int capacity = 1;
    int max = 0;
    int min = Integer.MAX_VALUE;
    for (byte[] s : secrets) {
      capacity += s.length;
      max = Math.max(max, s.length);
      min = Math.min(min, s.length);
    }
    startPairs = min >= 2 ? new long[65536 / 64] : null;
    if (startPairs != null) {
      for (byte[] s : secrets) {
        int pair = (s[0] & 0xff) << 8 | (s[1] & 0xff);
        startPairs[pair >>> 6] |= 1L << pair;
      }
    }
    maxLength = max;
    edgeBytes = new byte[capacity][];
    edgeTargets = new int[capacity][];
    fail = new int[capacity];
    depth = new int[capacity];
    matchLength = new int[capacity];
    states = 1;
    for (byte[] s : secrets) {
      insert(s);
    }
    linkSuffixes();
    buildTable(maxTableEntries);
  }

  /** Empty and null values are ignored; duplicates count once. */
  static SecretSet of(List<String> values) {
    return of(values, MAX_TABLE_ENTRIES);
  }

  /** As {@link #of(List)}, with a next-state table of at most {@code maxTableEntries} entries. */
  static SecretSet of(List<String> values, int maxTableEntries) {
    Set<String> distinct = new LinkedHashSet<>();
    for (String v : values) {
      if (v != null && !v.isEmpty()) {
        distinct.add(v);
      }
    }
    if (distinct.isEmpty()) {
      return EMPTY;
    }
    return new SecretSet(distinct.stream().map(v -> v.getBytes(StandardCharsets.UTF_8)).toList(), maxTableEntries);
  }

  boolean isEmpty() {
    return states == 1;
  }

  int maxLength() {
    return maxLength;
  }

  /** The next-state table (see {@link #next}), or null: then call {@link #next}. */
  int[] table() {
    return table;
  }

  /**
   * Bits of the two-byte sequences a secret starts with, or null. From state 0, a byte that does not start
   * such a pair leads back to state 0 as far as the next byte is concerned, so it can be skipped.
   */
  long[] startPairs() {
    return startPairs;
  }

  /** Classes of the bytes, for indexing {@link #table()}. */
  int[] byteClasses() {
    return byteClass;
  }

  int classes() {
    return classes;
  }

  /** The state after reading byte {@code b} (0..255) in state {@code s}. */
  int next(int s, int b) {
    if (table != null) {
      return table[s * classes + byteClass[b]];
    }
    return walk(s, b);
  }

  private int walk(int s, int b) {
    while (s != 0) {
      byte[] keys = edgeBytes[s];
      if (keys != null) {
        for (int i = 0; i < keys.length; i++) {
          if ((keys[i] & 0xff) == b) {
            return edgeTargets[s][i];
          }
        }
      }
      s = fail[s];
    }
    return fromRoot[b];
  }

  /** Per state: the length of its string. */
  int[] depths() {
    return depth;
  }

  /** Per state: the length of the longest secret its string ends with, 0 if none. */
  int[] matchLengths() {
    return matchLength;
  }

  private void insert(byte[] secret) {
    int s = 0;
    for (byte b : secret) {
      occurs[b & 0xff] = true;
      int t = edge(s, b & 0xff);
      if (t == 0) {
        t = states++;
        depth[t] = depth[s] + 1;
        addEdge(s, b & 0xff, t);
      }
      s = t;
    }
    matchLength[s] = secret.length;
  }

  /** The trie edge (not following suffix links); 0 if none. */
  private int edge(int s, int b) {
    if (s == 0) {
      return fromRoot[b];
    }
    byte[] keys = edgeBytes[s];
    if (keys != null) {
      for (int i = 0; i < keys.length; i++) {
        if ((keys[i] & 0xff) == b) {
          return edgeTargets[s][i];
        }
      }
    }
    return 0;
  }

  private void addEdge(int s, int b, int t) {
    if (s == 0) {
      fromRoot[b] = t;
      return;
    }
    byte[] keys = edgeBytes[s];
    int n = keys == null ? 0 : keys.length;
    edgeBytes[s] = keys == null ? new byte[1] : Arrays.copyOf(keys, n + 1);
    edgeTargets[s] = keys == null ? new int[1] : Arrays.copyOf(edgeTargets[s], n + 1);
    edgeBytes[s][n] = (byte) b;
    edgeTargets[s][n] = t;
  }

  /** Breadth first, so a state's suffix link is settled before its children need it. */
  private void linkSuffixes() {
    ArrayDeque<Integer> queue = new ArrayDeque<>();
    for (int b = 0; b < 256; b++) {
      if (fromRoot[b] != 0) {
        fail[fromRoot[b]] = 0;
        queue.add(fromRoot[b]);
      }
    }
    while (!queue.isEmpty()) {
      int s = queue.poll();
      if (matchLength[s] == 0) {
        matchLength[s] = matchLength[fail[s]]; // a shorter secret may end here
      }
      byte[] keys = edgeBytes[s];
      if (keys == null) {
        continue;
      }
      for (int i = 0; i < keys.length; i++) {
        int b = keys[i] & 0xff;
        int t = edgeTargets[s][i];
        fail[t] = walk(fail[s], b);
        queue.add(t);
      }
    }
  }

  private void buildTable(int maxTableEntries) {
    classes = 1;
    int[] representative = new int[257];
    for (int b = 0; b < 256; b++) {
      if (occurs[b]) {
        byteClass[b] = classes;
        representative[classes++] = b;
      }
    }
    if ((long) states * classes > maxTableEntries) {
      return;
    }
    int[] t = new int[states * classes];
    for (int s = 0; s < states; s++) {
      for (int c = 1; c < classes; c++) {
        t[s * classes + c] = walk(s, representative[c]);
      }
    }
    table = t;
  }
}
