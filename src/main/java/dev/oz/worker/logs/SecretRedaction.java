package dev.oz.worker.logs;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Redacts secrets in text bound for the worker's own log (the streamed output is redacted by its sink). */
public final class SecretRedaction {
  private SecretRedaction() {
  }

  public static String redact(String text, List<String> secrets) {
    Redactor r = new Redactor(secrets);
    byte[] in = text.getBytes(StandardCharsets.UTF_8);
    byte[] head = r.process(in, 0, in.length);
    byte[] tail = r.flush();
    return new String(head, StandardCharsets.UTF_8) + new String(tail, StandardCharsets.UTF_8);
  }
}
