package dev.oz.worker.direct;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/** Removing a task's workspace. Blocking. */
final class Workspaces {
  private Workspaces() {
  }

  /**
   * Deletes {@code root} and everything under it without following symbolic links; directories the agent made
   * read-only (a Go module cache, say) are made writable first, so that their contents can go too.
   */
  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        try {
          Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
          if (!perms.contains(PosixFilePermission.OWNER_WRITE) || !perms.contains(PosixFilePermission.OWNER_EXECUTE)
              || !perms.contains(PosixFilePermission.OWNER_READ)) {
            perms.add(PosixFilePermission.OWNER_WRITE);
            perms.add(PosixFilePermission.OWNER_EXECUTE);
            perms.add(PosixFilePermission.OWNER_READ);
            Files.setPosixFilePermissions(dir, perms);
          }
        } catch (IOException | UnsupportedOperationException e) {
          // not ours to change: the delete below says why it failed
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  private static void delete(Path p) throws IOException {
    try {
      Files.delete(p);
    } catch (NoSuchFileException e) {
      // gone already
    }
  }
}
