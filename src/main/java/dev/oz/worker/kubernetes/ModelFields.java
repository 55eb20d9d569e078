package dev.oz.worker.kubernetes;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds the fields of a parsed fabric8 model object that the model did not know: fabric8 keeps them in
 * {@code additionalProperties} instead of failing, so without this check a typo in an operator's {@code pod_template}
 * would be dropped without a word.
 */
final class ModelFields {
  private static final String MODEL_PACKAGE = "io.fabric8.kubernetes.api.model";

  private ModelFields() {
  }

  /** Paths of unknown fields, such as {@code containers[0].imagePulPolicy}, sorted. */
  static List<String> unknownFields(Object model) {
    List<String> out = new ArrayList<>();
    walk(model, "", out, 0);
    out.sort(null);
    return out;
  }

  private static void walk(Object value, String path, List<String> out, int depth) {
    if (value == null || depth > 32) {
      return;
    }
    if (value instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) {
        walk(list.get(i), path + "[" + i + "]", out, depth + 1);
      }
      return;
    }
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> walk(v, join(path, String.valueOf(k)), out, depth + 1));
      return;
    }
    if (!value.getClass().getName().startsWith(MODEL_PACKAGE)) {
      return;
    }
    for (Method m : value.getClass().getMethods()) {
      if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get")
          || m.getName().equals("getClass")) {
        continue;
      }
      Object child;
      try {
        child = m.invoke(value);
      } catch (IllegalAccessException | InvocationTargetException e) {
        continue;
      }
      if (m.getName().equals("getAdditionalProperties")) {
        if (child instanceof Map<?, ?> extra) {
          extra.keySet().forEach(k -> out.add(join(path, String.valueOf(k))));
        }
        continue;
      }
      String name = Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
      walk(child, join(path, name), out, depth + 1);
    }
  }

  private static String join(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }
}
