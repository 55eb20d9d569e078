package dev.oz.worker.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

/** The words of a socket failure, whether Netty's epoll transport or Java NIO reported it. */
class SocketErrorsTest {

  @Test
  void epollsSystemCallAndErrnoAreLeftOutAsNioNeverSaysThem() {
    // as Netty's epoll transport words a refused connect and a reset read
    assertEquals("Connection refused: /127.0.0.1:8080",
        SocketErrors.reason(new ConnectException("finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:8080")));
    assertEquals("Connection reset by peer", SocketErrors.reason(
        new IOException("recvAddress(..) failed with error(-104): Connection reset by peer")));
    assertEquals("Connection refused: /127.0.0.1:8080", SocketErrors.reason(new ConnectException("Connection refused: /127.0.0.1:8080")));
  }

  @Test
  void aSocketPathThatIsNotThereIsSaidSo() {
    assertEquals("No such file or directory", SocketErrors.reason(new FileNotFoundException()));
    assertEquals("/var/run/docker.sock (No such file or directory)",
        SocketErrors.reason(new FileNotFoundException("/var/run/docker.sock (No such file or directory)")));
  }

  @Test
  void aFailureWithoutWordsIsNamedByItsClass() {
    assertEquals("IOException", SocketErrors.reason(new IOException()));
    assertEquals("IOException", SocketErrors.reason(new IOException(" ")));
  }
}
