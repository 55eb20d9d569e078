package dev.oz.worker.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.FileNotFoundException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** What an operator reads of an engine call's failure: the root cause's words, not an exception's class name. */
class RootMessageTest {

  @Test
  void theRootCauseSpeaksWithTheOuterMessageBeforeIt() {
    IOException root = new IOException("Connection refused");
    assertEquals("wait failed: Connection refused", DockerEngine.rootMessage(new IllegalStateException("wait failed", root)));
    assertEquals("Connection refused", DockerEngine.rootMessage(new IllegalStateException(root)));
  }

  @Test
  void aSocketPathThatIsNotThereIsSaidSo() {
    // how Netty's epoll transport fails a connect to a unix socket that is gone: no message
    assertEquals("No such file or directory", DockerEngine.rootMessage(new FileNotFoundException()));
  }

  @Test
  void aCauseWithoutWordsIsNamedByItsClass() {
    assertEquals("IllegalStateException", DockerEngine.rootMessage(new IllegalStateException()));
  }
}
