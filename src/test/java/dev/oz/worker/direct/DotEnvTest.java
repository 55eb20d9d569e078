package dev.oz.worker.direct;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The setup command's environment file, read as godotenv 1.5 reads it (the Go worker's parser). */
class DotEnvTest {

  @Test
  void theSyntaxGodotenvAccepts() throws Exception {
    Map<String, String> env = DotEnv.parse("""
        # a comment
        PLAIN=value
        export EXPORTED=yes
        SPACED = around   # an inline comment
        HASH=a#b
        SINGLE='literal $PLAIN \\n'
        DOUBLE="line1\\nline2 ${PLAIN} $PLAIN \\$PLAIN"
        YAML_STYLE: colon
        MULTI="first
        second"
        EMPTY=
        """);
    assertEquals(Map.of(
        "PLAIN", "value",
        "EXPORTED", "yes",
        "SPACED", "around",
        "HASH", "a#b",
        "SINGLE", "literal $PLAIN \\n",
        "DOUBLE", "line1\nline2 value value $PLAIN",
        "YAML_STYLE", "colon",
        "MULTI", "first\nsecond",
        "EMPTY", ""), env);
  }

  @Test
  void unknownVariablesExpandToNothingAndCrLfLinesWork() throws Exception {
    assertEquals(Map.of("A", "x-", "B", "2"), DotEnv.parse("A=x-${NOPE}\r\nB=2\r\n"));
  }

  @Test
  void aMalformedFileIsAnErrorAsAWhole() {
    assertThrows(DotEnv.ParseException.class, () -> DotEnv.parse("GOOD=1\nBAD-KEY=2\n"));
    assertThrows(DotEnv.ParseException.class, () -> DotEnv.parse("OPEN=\"never closed\n"));
  }
}
